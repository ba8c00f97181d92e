"""From a :class:`~quantlab.engine.spec.RunSpec` to what the simulator runs: a strategy
compiled to arrays. Validation (no data needed) and compilation (on a panel) share one
reading of the spec, so what an API accepts is what a run computes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.engine import expr
from quantlab.engine.background import Background
from quantlab.engine.backtest.config import BacktestConfig, from_spec
from quantlab.engine.backtest.enums import StopMode
from quantlab.engine.backtest.strategies import Signals, Strategy, TargetWeights, TopkDropout
from quantlab.engine.data import Panel
from quantlab.engine.data.universe import (
    StaticUniverseBias,
    first_last_dates,
    membership_mask,
    static_universe_bias,
)
from quantlab.engine.expr.ast import Const, walk
from quantlab.engine.spec import (
    CodeStrategy,
    RunSpec,
    ScoresStrategy,
    SignalsStrategy,
    WeightsStrategy,
    expressions,
    indicator_defs,
)

CodeRunner = Callable[[str, dict[str, np.ndarray]], dict[str, np.ndarray]]
#: Threads a run evaluates its expressions on (parts of the instruments; see expr.evaluate)
EXPR_THREADS = 2


class SpecError(ValueError):
    """A spec the engine cannot run; ``details`` says where (a caller maps it to a 422)."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class SpecExpressionError(SpecError):
    """An invalid expression in field ``path`` of the spec."""

    def __init__(self, err: expr.ExprError, path: str, text: str) -> None:
        details = {"field": path, "kind": err.kind, "message": err.message,
                   "position": err.position, "expression": text}  # fmt: skip
        super().__init__(f"{path}: invalid expression ({err.kind}): {err.message}", details)
        self.error = err


class SpecCodeError(SpecError):
    """Strategy code that does not compile."""


class SpecConfigError(SpecError):
    """An inconsistent run configuration."""


class StrategyOutputError(ValueError):
    """What a code strategy returned cannot drive the simulator (names, shapes, dtypes)."""


def engine_config(spec: RunSpec) -> BacktestConfig:
    """The simulator configuration of ``spec`` (:class:`SpecConfigError` when inconsistent)."""
    if spec.execution.take_profit == StopMode.TRAILING:
        raise SpecConfigError("a trailing level is a stop-loss only, not a take-profit")
    if isinstance(spec.strategy, ScoresStrategy) and spec.execution.portfolio != "shared":
        raise SpecConfigError("top-k selection needs a shared-cash portfolio")
    try:
        return from_spec(spec)
    except ValueError as exc:
        raise SpecConfigError(str(exc)) from None


def validate_spec(spec: RunSpec, fields: list[str]) -> dict[str, expr.Node]:
    """Parse every expression against ``fields`` (look-ahead refused) and compile code.

    ``fields`` are the stored fields; the ones the engine derives from them (``$vwap`` from
    amount / volume) and the spec's ``indicators`` are accepted too, as the run computes
    them."""
    if spec.indicators:
        from quantlab.engine.indicators.fields import IndicatorFieldError, check_indicator_fields

        try:
            check_indicator_fields(indicator_defs(spec), expr.available_fields(fields))
        except IndicatorFieldError as err:
            raise SpecError(str(err), {"indicator": err.name}) from None
        fields = [*fields, *spec.indicators]
    fields = expr.available_fields(fields)
    nodes: dict[str, expr.Node] = {}
    for path, text in expressions(spec, resolved=True).items():
        try:
            nodes[path] = expr.validate(text, fields)
        except expr.ExprError as err:
            raise SpecExpressionError(err, path, text) from None
    if isinstance(spec.strategy, CodeStrategy):
        try:
            compile(spec.strategy.code, "<strategy>", "exec")
        except SyntaxError as err:
            raise SpecCodeError(
                f"strategy code: {err.msg}",
                {"line": err.lineno, "column": err.offset, "message": err.msg},
            ) from None
    engine_config(spec)
    return nodes


def lookback(spec: RunSpec) -> int | None:
    """Trading days of history the strategy and the market rules need before ``start``
    (None: all of it). The rules need at least the previous close (price limits) and the
    ATR / volatility windows of stops and volatility sizing."""
    if isinstance(spec.strategy, CodeStrategy):
        return None
    days = [expr.lookback(text) for text in expressions(spec, resolved=True).values()]
    most = max(days, default=0)
    if most >= expr.UNBOUNDED:
        return None
    rules = 1
    ex = spec.execution
    if StopMode.ATR in (ex.stop_loss, ex.take_profit):
        rules = max(rules, ex.atr_window + 1)
    strategy = spec.strategy
    if isinstance(strategy, SignalsStrategy) and strategy.sizing.mode == "vol_target":
        rules = max(rules, strategy.sizing.vol_window + 1)
    return max(most, rules)


def n_parameters(spec: RunSpec) -> int | None:
    """Numeric constants in the expressions plus the strategy's own knobs (for diagnostics)."""
    s = spec.strategy
    if isinstance(s, CodeStrategy):
        return None
    count = 0
    for text in expressions(spec, resolved=True).values():
        node = expr.parse(text)
        count += sum(1 for n in walk(node) if isinstance(n, Const))
        count += sum(len(getattr(n, "params", ())) for n in walk(node))
    if isinstance(s, ScoresStrategy):
        count += 2
    return count


@dataclass(frozen=True)
class Compiled:
    """The strategy as arrays over the simulated rows ``[lo:]`` and instrument columns."""

    strategy: Strategy
    outputs: dict[str, np.ndarray]


def _rows(values: np.ndarray, lo: int, cols: np.ndarray, exact: bool = False) -> np.ndarray:
    """Rows ``[lo:]`` of columns ``cols``: float64 C-ordered, or with ``exact`` the evaluated
    values as they are (float32, a view when every column is kept; for signals, whose
    truth does not depend on the width)."""
    rows = np.asarray(values)[lo:] if exact else np.asarray(values, dtype=np.float64)[lo:]
    every = len(cols) == rows.shape[1] and bool((cols == np.arange(len(cols))).all())
    if exact:
        return rows if every else rows[:, cols]
    return np.ascontiguousarray(rows if every else rows[:, cols])


def _truthy(values: np.ndarray) -> np.ndarray:
    """Non-zero and not NaN (``nan_to_num(values) != 0`` in two passes, without copies)."""
    return (values != 0.0) & (values == values)


def _signal_rows(values: np.ndarray) -> np.ndarray:
    """:func:`_truthy` of ``values`` in C order (the simulator reads a day at a time)."""
    return np.ascontiguousarray(_truthy(values))


def _normalise(weights: np.ndarray, how: str) -> np.ndarray:
    w = np.nan_to_num(weights, nan=0.0)
    if how == "none":
        return w
    w = np.clip(w, 0.0, None)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w / total, 0.0)


#: ``panel.meta`` key of the dated universes loaded with a panel: name -> membership spans
UNIVERSES_META = "universes"


def point_in_time(
    spec: RunSpec, panel: Panel, lo: int, traded: list[str]
) -> tuple[list[str], np.ndarray | None, StaticUniverseBias | None]:
    """The traded symbols, their membership mask over rows ``[lo:]`` and, for a static
    list, the evidence of survivorship bias.

    With ``spec.dated_universe`` the spans come from ``panel.meta["universes"]`` (the
    caller loads them with the data); symbols never members between start and end are
    left out. Without it, a static symbol list is checked by
    :func:`~quantlab.engine.data.universe.static_universe_bias` (names with no data at
    the start were picked with hindsight)."""
    name = spec.dated_universe
    if name is None:
        if not isinstance(spec.universe, list) or "close" not in panel.fields:
            return traded, None, None
        first = {s: (v[0] if v else None) for s, v in first_last_dates(panel).items()}
        cal = panel.calendar
        return traded, None, static_universe_bias(traded, first, cal[lo], cal[-1])
    loaded = panel.meta.get(UNIVERSES_META)
    spans = loaded.get(name) if isinstance(loaded, Mapping) else None
    if spans is None:
        raise SpecError(f"the dated universe {name!r} is not loaded with the data",
                        {"dated_universe": name})  # fmt: skip
    mask = membership_mask(spans, panel.calendar[lo:], traded)
    keep = np.asarray(mask.any(axis=0), dtype=bool)
    if not keep.any():
        raise SpecError(f"no symbol of the universe is a member of {name!r} in the window",
                        {"dated_universe": name})  # fmt: skip
    kept = [s for s, k in zip(traded, keep.tolist(), strict=True) if k]
    return kept, np.ascontiguousarray(mask[:, keep]), None


def restrict_to_members(
    strategy: Strategy, member: np.ndarray | None, renormalise: bool = False
) -> Strategy:
    """The strategy with buys limited to the days each name is a member (``member``: bool
    ``(T, N)`` over the simulated rows, None = no restriction).

    Signals: no entry outside membership. Scores: NaN outside it, so a name is never
    picked and a holding that leaves the universe ranks last and is dropped (as Qlib masks
    a market's members). Weights: zero outside it (sold), the rest rescaled to the row's
    former total when ``renormalise`` (weights normalised to sum to one)."""
    if member is None:
        return strategy
    if isinstance(strategy, Signals):
        return Signals(np.asarray(strategy.entries, dtype=bool) & member, strategy.exits)
    if isinstance(strategy, TopkDropout):
        scores = np.where(member, strategy.scores, np.nan)
        return TopkDropout(scores, strategy.topk, strategy.n_drop, strategy.rebalance,
                           strategy.hold_thresh, strategy.risk_degree)  # fmt: skip
    assert isinstance(strategy, TargetWeights)
    w = np.where(member, strategy.weights, 0.0)
    if renormalise:
        w = _normalise(w, "sum")
    return TargetWeights(w, strategy.rebalance)


def compile_strategy(
    spec: RunSpec,
    panel: Panel,
    lo: int,
    cols: np.ndarray,
    code_runner: CodeRunner | None = None,
    cache: expr.ExprCache | None = None,
    member: np.ndarray | None = None,
) -> Compiled:
    """Evaluate the spec on ``panel`` (look-back rows included) and keep rows ``[lo:]`` of the
    traded columns ``cols``. ``code_runner(code, inputs)`` runs code strategies. ``member``
    (bool, rows ``[lo:]`` x ``cols``) is a dated universe: see :func:`restrict_to_members`."""
    compiled = _compile(spec, panel, lo, cols, code_runner, cache)
    if member is None:
        return compiled
    s = spec.strategy
    renormalise = isinstance(s, WeightsStrategy) and s.normalize != "none"
    return Compiled(restrict_to_members(compiled.strategy, member, renormalise), compiled.outputs)


def _compile(
    spec: RunSpec,
    panel: Panel,
    lo: int,
    cols: np.ndarray,
    code_runner: CodeRunner | None,
    cache: expr.ExprCache | None,
) -> Compiled:
    s = spec.strategy
    texts = expressions(spec, resolved=True)
    values: dict[str, np.ndarray] = {}
    if texts:
        try:
            values = expr.evaluate(list(texts.values()), panel, cache=cache, threads=EXPR_THREADS)
        except expr.ExprError as err:
            path = next(iter(texts))
            raise SpecExpressionError(err, path, texts[path]) from None
    signals = isinstance(s, SignalsStrategy)
    out = {path: _rows(values[text], lo, cols, signals) for path, text in texts.items()}
    if signals:
        # the simulator walks rows: C order for the (small) boolean arrays; the exits are
        # built on a second thread meanwhile (NumPy releases the GIL in both steps)
        exits = Background(_signal_rows, out["strategy.exit"])
        entries = _signal_rows(out["strategy.entry"])
        return Compiled(Signals(entries, exits.result()), out)
    if isinstance(s, ScoresStrategy):
        scores = out["strategy.score"]
        strat = TopkDropout(scores, s.top_k, s.n_drop, s.rebalance, s.hold_thresh, s.risk_degree)
        return Compiled(strat, out)
    if isinstance(s, WeightsStrategy):
        if s.static is not None:
            names = list(panel.instruments[cols])
            row = np.array([s.static.get(name, 0.0) for name in names])
            raw = np.broadcast_to(row, (len(panel.calendar) - lo, len(names))).copy()
        else:
            raw = out["strategy.weight"]
        return Compiled(TargetWeights(_normalise(raw, s.normalize), s.rebalance), out)
    assert isinstance(s, CodeStrategy)
    if code_runner is None:
        raise SpecError("a code strategy needs a code runner (the sandbox)")
    return _compile_code(s, panel, lo, cols, code_runner)


SIGNAL_OUTPUTS = ("entries", "exits")
NUMERIC_OUTPUTS = ("weights", "scores")


def _checked(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, int]) -> np.ndarray:
    arr = arrays[name]
    kinds, wanted = ("b", "boolean") if name in SIGNAL_OUTPUTS else ("biuf", "numeric")
    if arr.shape != shape or arr.dtype.kind not in kinds:
        raise StrategyOutputError(
            f"strategy code output {name!r} must be a {wanted} array of shape {shape} "
            f"(days, symbols); got {arr.dtype} of shape {arr.shape}"
        )
    return arr


def _compile_code(
    s: CodeStrategy, panel: Panel, lo: int, cols: np.ndarray, run_code: CodeRunner
) -> Compiled:
    """Run the code on the whole loaded history of the traded columns (so indicators warm
    up before ``start``) and keep its outputs' rows ``[lo:]``."""
    inputs: dict[str, np.ndarray] = {
        name: np.ascontiguousarray(arr[:, cols]) for name, arr in panel.fields.items()
    }
    inputs["dates"] = panel.calendar.astype("datetime64[D]").astype(np.int64)
    arrays: dict[str, np.ndarray] = run_code(s.code, inputs)
    shape = (len(panel.calendar), len(cols))
    if "weights" in arrays:
        weights = np.asarray(_checked(arrays, "weights", shape)[lo:], dtype=np.float64)
        return Compiled(TargetWeights(_normalise(weights, "none"), s.rebalance), {})
    if "scores" in arrays:
        scores = np.asarray(_checked(arrays, "scores", shape)[lo:], dtype=np.float64)
        return Compiled(TopkDropout(scores, s.top_k, min(s.n_drop, s.top_k), s.rebalance), {})
    if "entries" in arrays and "exits" in arrays:
        entries = np.ascontiguousarray(_checked(arrays, "entries", shape)[lo:])
        exits = np.ascontiguousarray(_checked(arrays, "exits", shape)[lo:])
        return Compiled(Signals(entries, exits), {})
    got = sorted(k for k in arrays if k not in inputs)
    raise StrategyOutputError(
        "strategy code must set 'entries' and 'exits' (boolean arrays), 'weights' or 'scores' "
        f"(numeric arrays) of shape {shape} (days, symbols); it set {got or 'no new arrays'}"
    )
