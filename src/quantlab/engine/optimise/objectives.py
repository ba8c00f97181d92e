"""Objectives and constraints of a study, read from a run's metrics.

Metric names come from the metrics registry (:data:`quantlab.engine.backtest.metrics.METRICS`),
which also says whether higher is better; short aliases (``sharpe``, ``sortino``,
``calmar``) map onto registered names. An :class:`Objective` is one metric, or a weighted sum
of metrics (each weighted term oriented so that larger is better); a :class:`Bound` is a
constraint such as ``max_drawdown >= -0.20`` or ``trade_count >= 10``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quantlab.engine.backtest.metrics import METRICS

ALIASES = {
    "sharpe": "sharpe_ratio",
    "sortino": "sortino_ratio",
    "calmar": "calmar_ratio",
    "annual_return": "annual_return",
    "max_drawdown": "max_drawdown",
    "turnover": "turnover",
    "trades": "trade_count",
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class ObjectiveError(ValueError):
    """An objective or constraint that names no scalar metric or has a bad direction."""


def metric_name(name: str) -> str:
    """The registered metric of ``name`` (an alias or a registered scalar metric)."""
    full = ALIASES.get(name, name)
    spec = METRICS.get(full)
    if spec is None or spec.unit in ("table", "record"):
        scalar = sorted(n for n, s in METRICS.items() if s.unit not in ("table", "record"))
        raise ObjectiveError(f"unknown metric {name!r}: use one of {scalar} or {sorted(ALIASES)}")
    return full


def _higher(name: str) -> bool:
    h = METRICS[name].higher_is_better
    return True if h is None else h


@dataclass(frozen=True)
class Objective:
    """One metric, or a weighted sum of metrics.

    ``terms`` maps metric names to weights. ``direction`` is ``maximize`` or ``minimize``;
    by default the registry's preference for a single metric, and ``maximize`` for a sum,
    whose terms are first oriented so that larger is better (a metric where lower is better
    enters with its sign flipped).
    """

    terms: Mapping[str, float]
    direction: str = ""
    label: str = ""

    @classmethod
    def parse(cls, value: str | Mapping[str, Any]) -> Objective:
        """From ``"sharpe"``, ``{"metric": "sharpe", "direction": "maximize"}`` or
        ``{"weights": {"sharpe": 1, "max_drawdown": 0.5}}``."""
        if isinstance(value, str):
            value = {"metric": value}
        direction = str(value.get("direction") or "")
        if direction not in ("", "maximize", "minimize"):
            raise ObjectiveError(f"direction must be maximize or minimize, not {direction!r}")
        if "weights" in value:
            weights = {metric_name(k): float(w) for k, w in dict(value["weights"]).items()}
            if not weights:
                raise ObjectiveError("a weighted objective needs at least one metric")
            label = " + ".join(f"{w:g}*{k}" for k, w in weights.items())
            return cls(weights, direction or "maximize", label)
        if "metric" not in value:
            raise ObjectiveError("an objective needs 'metric' or 'weights'")
        name = metric_name(str(value["metric"]))
        default = "maximize" if _higher(name) else "minimize"
        return cls({name: 1.0}, direction or default, name)

    @property
    def maximize(self) -> bool:
        """True when larger values are better."""
        return self.direction == "maximize"

    def value(self, metrics: Mapping[str, Any]) -> float:
        """The objective's value (NaN when a metric is missing)."""
        if len(self.terms) == 1:
            ((name, w),) = self.terms.items()
            return _num(metrics.get(name)) * w
        total = 0.0
        for name, w in self.terms.items():
            v = _num(metrics.get(name))
            total += w * (v if _higher(name) else -v)
        return total

    def score(self, metrics: Mapping[str, Any]) -> float:
        """The value oriented so that larger is better; NaN becomes −inf (worst)."""
        v = self.value(metrics)
        if math.isnan(v):
            return -math.inf
        return v if self.maximize else -v


@dataclass(frozen=True)
class Bound:
    """A constraint on a metric: ``metric op value`` (``max_drawdown >= -0.2``)."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, value: Mapping[str, Any]) -> Bound:
        """From ``{"metric": "max_drawdown", "op": ">=", "value": -0.2}``."""
        op = str(value.get("op", ">="))
        if op not in _OPS:
            raise ObjectiveError(f"constraint operator must be one of {sorted(_OPS)}")
        v = value.get("value")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ObjectiveError("a constraint needs a finite number 'value'")
        return cls(metric_name(str(value.get("metric", ""))), op, float(v))

    def holds(self, metrics: Mapping[str, Any]) -> bool:
        """False when broken or when the metric is missing."""
        v = _num(metrics.get(self.metric))
        return not math.isnan(v) and _OPS[self.op](v, self.value)

    def violation(self, metrics: Mapping[str, Any]) -> float:
        """How far the bound is broken (0 when it holds, 1 when the metric is missing)."""
        v = _num(metrics.get(self.metric))
        if math.isnan(v):
            return 1.0
        if self.holds(metrics):
            return 0.0
        return max(abs(v - self.value), 1e-12)

    def text(self) -> str:
        """``max_drawdown >= -0.2``."""
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Goal:
    """A study's objectives (one or more) and constraints."""

    objectives: tuple[Objective, ...]
    bounds: tuple[Bound, ...] = field(default=())

    @classmethod
    def parse(
        cls,
        objectives: Sequence[str | Mapping[str, Any]],
        constraints: Sequence[Mapping[str, Any]] = (),
    ) -> Goal:
        """Parse objectives (at least one) and constraints."""
        if not objectives:
            raise ObjectiveError("a study needs at least one objective")
        return cls(
            tuple(Objective.parse(o) for o in objectives),
            tuple(Bound.parse(c) for c in constraints),
        )

    def evaluate(self, metrics: Mapping[str, Any]) -> tuple[list[float], bool]:
        """Objective values and whether every constraint holds."""
        return [o.value(metrics) for o in self.objectives], all(
            b.holds(metrics) for b in self.bounds
        )

    def metric_names(self) -> list[str]:
        """Every metric an objective or constraint reads."""
        names = [n for o in self.objectives for n in o.terms] + [b.metric for b in self.bounds]
        return list(dict.fromkeys(names))


def _num(v: Any) -> float:
    if v is None or isinstance(v, bool):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan
