"""Parameter spaces for the optimiser, built from the strategy library's ParamSpecs.

A :class:`Space` is a list of :class:`Dimension` (a numeric range with a step, an explicit
list of choices, or a log-scaled range) plus the library's linked constraints
(``fast < slow``). It enumerates a grid (refusing absurd sizes before any work) and draws
seeded random samples; both skip points that break a constraint.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.engine.library.params import Constraint, ParamSpec

MAX_GRID = 1_000_000  # combinations a grid may hold (before constraints)
MAX_LEVELS = 100_000  # values one dimension may hold
LOG_LEVELS = 20  # values of a log-scaled range without a step

Point = dict[str, int | float]


class SpaceError(ValueError):
    """A parameter space that cannot be searched (empty, inverted, or too large)."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter.

    ``choices`` lists the values explicitly; otherwise the range ``[low, high]`` is
    stepped by ``step`` (linear) or, with ``log``, spaced geometrically (``levels`` values,
    or the range's values on the step grid for an int parameter).
    """

    name: str
    type: str = "int"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.choices is not None:
            if not self.choices:
                raise SpaceError(f"parameter {self.name}: no choices")
            return
        if self.low is None or self.high is None:
            raise SpaceError(f"parameter {self.name}: needs min and max, or choices")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise SpaceError(f"parameter {self.name}: bounds must be finite")
        if self.low > self.high:
            raise SpaceError(f"parameter {self.name}: min {self.low:g} exceeds max {self.high:g}")
        if self.step is not None and self.step <= 0:
            raise SpaceError(f"parameter {self.name}: step must be positive")
        if self.log and self.low <= 0:
            raise SpaceError(f"parameter {self.name}: a log scale needs min > 0")

    def size(self) -> int:
        """Number of grid values (computed without building them)."""
        if self.choices is not None:
            return len(set(self.choices))
        assert self.low is not None and self.high is not None
        step = self.step if self.step is not None else (1.0 if self.type == "int" else None)
        if self.log and self.step is None:
            return (
                min(LOG_LEVELS, int(self.high - self.low) + 1)
                if self.type == "int"
                else (1 if self.low == self.high else LOG_LEVELS)
            )
        if step is None:
            raise SpaceError(f"parameter {self.name}: a float range needs a step for a grid")
        return math.floor((self.high - self.low) / step + 1e-9) + 1

    def values(self) -> list[int | float]:
        """The grid values, ascending."""
        n = self.size()
        if n > MAX_LEVELS:
            raise SpaceError(f"parameter {self.name}: {n:,} values (limit {MAX_LEVELS:,})")
        if self.choices is not None:
            return [self._cast(v) for v in sorted(set(self.choices))]
        assert self.low is not None and self.high is not None
        if self.log and self.step is None:
            raw = np.geomspace(self.low, self.high, n) if n > 1 else np.array([self.low])
            vals = [self._cast(float(v)) for v in raw]
            return sorted(set(vals))
        step = self.step if self.step is not None else 1.0
        return [self._cast(self.low + k * step) for k in range(n)]

    def sample(self, rng: np.random.Generator) -> int | float:
        """One random value: uniform over the grid values (log-uniform for log ranges)."""
        if self.choices is not None or self.step is not None or self.type == "int":
            if self.log and self.choices is None and self.step is None:
                assert self.low is not None and self.high is not None
                v = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return self._cast(min(math.floor(v), self.high))
            vals = self.values()
            return vals[int(rng.integers(len(vals)))]
        assert self.low is not None and self.high is not None
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def _cast(self, v: float) -> int | float:
        return round(v) if self.type == "int" else round(float(v), 12)


@dataclass(frozen=True)
class Space:
    """Dimensions plus linked constraints; see the module docstring."""

    dimensions: tuple[Dimension, ...]
    constraints: tuple[Constraint, ...] = ()

    def __post_init__(self) -> None:
        names = [d.name for d in self.dimensions]
        if not names:
            raise SpaceError("the parameter space is empty: choose at least one parameter")
        if len(set(names)) != len(names):
            raise SpaceError(f"duplicate parameters in the space: {names}")

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [d.name for d in self.dimensions]

    def grid_size(self) -> int:
        """Combinations before the constraints are applied."""
        return math.prod(d.size() for d in self.dimensions)

    def feasible(self, point: Point, fixed: Point | None = None) -> bool:
        """True when every constraint whose names are known holds."""
        values = {**(fixed or {}), **point}
        for c in self.constraints:
            names = [c.left] + ([c.right] if isinstance(c.right, str) else [])
            if all(n in values for n in names) and not c.holds(values):
                return False
        return True

    def grid(self, fixed: Point | None = None, limit: int = MAX_GRID) -> Iterator[Point]:
        """Every feasible combination, lazily, in row-major order of the dimensions.

        Raises
        ------
        SpaceError
            More than ``limit`` combinations (checked before anything is built).
        """
        n = self.grid_size()
        if n > limit:
            raise SpaceError(
                f"the grid has {n:,} combinations (limit {limit:,}): "
                "narrow the ranges, enlarge the steps, or use random or TPE search"
            )
        levels = [d.values() for d in self.dimensions]
        for combo in itertools.product(*levels):
            point = dict(zip(self.names, combo, strict=True))
            if self.feasible(point, fixed):
                yield point

    def count(self, fixed: Point | None = None) -> int:
        """Feasible grid combinations."""
        return sum(1 for _ in self.grid(fixed))

    def sample(
        self, n: int, seed: int, fixed: Point | None = None, max_tries: int = 1000
    ) -> Iterator[Point]:
        """``n`` seeded random feasible points (the same seed gives the same points)."""
        rng = np.random.default_rng(seed)
        for _ in range(n):
            for _try in range(max_tries):
                point = {d.name: d.sample(rng) for d in self.dimensions}
                if self.feasible(point, fixed):
                    yield point
                    break
            else:
                raise SpaceError(f"no feasible point found in {max_tries} draws: check constraints")


def space_from_params(
    params: Sequence[ParamSpec],
    constraints: Sequence[Constraint] = (),
    ranges: dict[str, dict[str, Any]] | None = None,
) -> Space:
    """A space over the named parameters.

    Parameters
    ----------
    params : sequence of ParamSpec
        The strategy's parameter schema (bounds, step, log flag).
    constraints : sequence of Constraint
        Linked constraints (``fast < slow``).
    ranges : dict, optional
        Name → ``{"min", "max", "step", "log", "choices"}`` overriding the schema for the
        search; when given, only these parameters are searched (the others stay at their
        default). Ranges must stay inside the schema's bounds.

    Raises
    ------
    SpaceError
        Unknown names, ranges outside the schema, empty or inverted ranges.
    """
    by_name = {p.name: p for p in params}
    chosen = list(ranges) if ranges else list(by_name)
    unknown = [n for n in chosen if n not in by_name]
    if unknown:
        raise SpaceError(f"unknown parameters {unknown}: use some of {sorted(by_name)}")
    dims = []
    for name in chosen:
        p = by_name[name]
        r = (ranges or {}).get(name) or {}
        choices = r.get("choices")
        low = float(r.get("min", p.min))
        high = float(r.get("max", p.max))
        if choices is not None:
            bad = [c for c in choices if not p.min <= c <= p.max]
        else:
            bad = [v for v in (low, high) if not p.min <= v <= p.max]
        if bad:
            raise SpaceError(
                f"parameter {name}: values {bad} outside its bounds [{p.min:g}, {p.max:g}]"
            )
        dims.append(
            Dimension(
                name=name,
                type=p.type,
                low=None if choices is not None else low,
                high=None if choices is not None else high,
                step=r.get("step", p.step),
                log=bool(r.get("log", p.log)),
                choices=tuple(float(c) for c in choices) if choices is not None else None,
            )
        )
    return Space(tuple(dims), tuple(constraints))
