"""From a :class:`BacktestRequest` to what the engine runs: a ``BacktestConfig`` and a
strategy compiled to arrays. Validation (no data needed) and compilation (on a panel)
share one reading of the spec, so what the API accepts is what the job runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.backtests.exceptions import (
    InvalidBacktestConfig,
    InvalidStrategyCode,
    InvalidStrategyExpression,
)
from quantlab.backtests.schemas import (
    BacktestRequest,
    CodeStrategy,
    ScoresStrategy,
    SignalsStrategy,
    WeightsStrategy,
)
from quantlab.engine import expr
from quantlab.engine.backtest.config import PRESETS, BacktestConfig
from quantlab.engine.backtest.enums import StopMode
from quantlab.engine.backtest.strategies import Signals, Strategy, TargetWeights, TopkDropout
from quantlab.engine.data import Panel
from quantlab.engine.expr.ast import Const, walk


def engine_config(req: BacktestRequest) -> BacktestConfig:
    """The preset with the request's overrides, capital and sizing (422 when inconsistent)."""
    data = PRESETS[req.preset]().to_dict()
    data["costs"].update(req.costs.model_dump(exclude_none=True, mode="json"))
    data["rules"].update(req.rules.model_dump(exclude_none=True, mode="json"))
    data["execution"].update(req.execution.model_dump(exclude_none=True, mode="json"))
    data["execution"]["init_cash"] = float(req.initial_capital)
    data["execution"]["portfolio"] = "shared"
    strategy = req.strategy
    if isinstance(strategy, SignalsStrategy | CodeStrategy):
        data["sizing"].update(strategy.sizing.model_dump(mode="json"))
        data["sizing"]["max_holdings"] = strategy.max_holdings
    if data["execution"].get("take_profit") == StopMode.TRAILING.value:
        raise InvalidBacktestConfig("a trailing level is a stop-loss only, not a take-profit")
    try:
        return BacktestConfig.from_dict(data)
    except ValueError as exc:
        raise InvalidBacktestConfig(str(exc)) from None


def expressions(req: BacktestRequest) -> dict[str, str]:
    """The spec's expressions by their field path (``strategy.entry`` …)."""
    s = req.strategy
    if isinstance(s, SignalsStrategy):
        return {"strategy.entry": s.entry, "strategy.exit": s.exit}
    if isinstance(s, ScoresStrategy):
        return {"strategy.score": s.score}
    if isinstance(s, WeightsStrategy) and s.weight is not None:
        return {"strategy.weight": s.weight}
    return {}


def validate_spec(req: BacktestRequest, fields: list[str]) -> dict[str, expr.Node]:
    """Parse every expression against ``fields`` (look-ahead refused) and compile code."""
    nodes: dict[str, expr.Node] = {}
    for path, text in expressions(req).items():
        try:
            nodes[path] = expr.validate(text, fields)
        except expr.ExprError as err:
            raise InvalidStrategyExpression.from_expr(err, path, text) from None
    if isinstance(req.strategy, CodeStrategy):
        try:
            compile(req.strategy.code, "<strategy>", "exec")
        except SyntaxError as err:
            raise InvalidStrategyCode(
                f"strategy code: {err.msg}",
                details={"line": err.lineno, "column": err.offset, "message": err.msg},
            ) from None
    engine_config(req)
    return nodes


def lookback(req: BacktestRequest) -> int | None:
    """Trading days of history the strategy needs before ``start`` (None: all of it)."""
    if isinstance(req.strategy, CodeStrategy):
        return None
    days = [expr.lookback(text) for text in expressions(req).values()]
    most = max(days, default=0)
    return None if most >= expr.UNBOUNDED else most


def n_parameters(req: BacktestRequest) -> int | None:
    """Numeric constants in the expressions plus the strategy's own knobs (for diagnostics)."""
    s = req.strategy
    if isinstance(s, CodeStrategy):
        return None
    count = 0
    for text in expressions(req).values():
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


def _rows(values: np.ndarray, lo: int, cols: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)[lo:][:, cols])


def _truthy(values: np.ndarray) -> np.ndarray:
    return np.nan_to_num(values, nan=0.0) != 0.0


def _normalise(weights: np.ndarray, how: str) -> np.ndarray:
    w = np.nan_to_num(weights, nan=0.0)
    if how == "none":
        return w
    w = np.clip(w, 0.0, None)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w / total, 0.0)


def compile_strategy(
    req: BacktestRequest, panel: Panel, lo: int, cols: np.ndarray, run_code: Any = None
) -> Compiled:
    """Evaluate the spec on ``panel`` (look-back rows included) and keep rows ``[lo:]`` of the
    traded columns ``cols``. ``run_code(code, inputs)`` runs code strategies (the sandbox)."""
    s = req.strategy
    texts = expressions(req)
    values = expr.evaluate(list(texts.values()), panel, cache=None) if texts else {}
    out = {path: _rows(values[text], lo, cols) for path, text in texts.items()}
    if isinstance(s, SignalsStrategy):
        entries, exits = _truthy(out["strategy.entry"]), _truthy(out["strategy.exit"])
        return Compiled(Signals(entries, exits), out)
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
    return _compile_code(s, panel, lo, cols, run_code)


class StrategyOutputError(ValueError):
    """What a code strategy returned cannot drive the simulator (names, shapes, dtypes)."""


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
    s: CodeStrategy, panel: Panel, lo: int, cols: np.ndarray, run_code: Any
) -> Compiled:
    """Run the code in the sandbox on the whole loaded history of the traded columns (so
    indicators warm up before ``start``) and keep its outputs' rows ``[lo:]``."""
    if run_code is None:
        from quantlab.sandbox.executor import run_array_code as run_code
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
