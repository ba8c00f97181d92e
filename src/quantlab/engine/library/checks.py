"""Structural checks of a strategy before it is saved or run: each problem has the field
path, a message a person can act on and a suggested fix. The engine's own compile step
checks syntax and fields again when the run starts; these catch strategies that would run
but cannot mean what their author wants."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from quantlab.engine import expr
from quantlab.engine.expr.ast import Const
from quantlab.engine.spec import RunSpec, SignalsStrategy, WeightsStrategy, expressions


def _problem(path: str, message: str, suggestion: str) -> dict[str, Any]:
    return {"path": path, "message": message, "suggestion": suggestion}


def check(spec: RunSpec, fields: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Problems of ``spec`` (empty when it is sound); with ``fields``, also the dataset
    fields its expressions read that the data lacks."""
    problems: list[dict[str, Any]] = []
    for path, text in expressions(spec, resolved=True).items():
        try:
            node = expr.parse(text)
        except expr.ExprError as err:
            problems.append(_problem(path, f"expression does not parse: {err}", "fix the syntax"))
            continue
        ahead = expr.lookahead(node)
        if ahead > 0:
            problems.append(
                _problem(
                    path,
                    f"the expression reads {ahead} day(s) into the future",
                    "use Ref(x, n) with n >= 0: a decision may only use data up to its day",
                )
            )
        if fields is not None:
            missing = sorted(expr.ast.fields_of(node) - set(fields) - set(spec.indicators))
            if missing:
                problems.append(
                    _problem(
                        path,
                        f"the dataset has no field(s) {', '.join('$' + m for m in missing)}",
                        f"choose a dataset with {', '.join(missing)} or change the expression",
                    )
                )
    s = spec.strategy
    ex = spec.execution
    if isinstance(s, SignalsStrategy):
        try:
            exit_node = expr.parse(expressions(spec, resolved=True)["strategy.exit"])
        except expr.ExprError:
            exit_node = None
        never = isinstance(exit_node, Const) and exit_node.value == 0
        if never and ex.stop_loss.value == "none" and ex.take_profit.value == "none":
            problems.append(
                _problem(
                    "strategy.exit",
                    "an entry with no exit path: the exit is never true and no stop is set",
                    "give an exit condition, or a stop-loss or take-profit",
                )
            )
    if isinstance(s, WeightsStrategy):
        if s.static is not None and sum(s.static.values()) > 1 + 1e-9:
            total = sum(s.static.values())
            problems.append(
                _problem(
                    "strategy.static",
                    f"target weights add up to {total:.1%}, above 100 % of equity",
                    "scale the weights so they sum to at most 1 (leverage is not modelled)",
                )
            )
        if s.weight is not None and s.normalize == "none":
            try:
                w = expr.parse(expressions(spec, resolved=True)["strategy.weight"])
            except expr.ExprError:
                w = None
            if isinstance(w, Const) and w.value > 1:
                problems.append(
                    _problem(
                        "strategy.weight",
                        f"a constant weight of {w.value:g} puts more than 100 % in every name",
                        "use normalize='sum', or a weight of at most 1 / number of names",
                    )
                )
    for name, mode, value in (
        ("stop_loss", ex.stop_loss.value, ex.stop_loss_value),
        ("take_profit", ex.take_profit.value, ex.take_profit_value),
    ):
        if mode in ("percent", "trailing") and not 0 < value < 1:
            problems.append(
                _problem(
                    f"execution.{name}_value",
                    f"a {mode} {name.replace('_', '-')} of {value:g} sits on the wrong side "
                    "of the entry price (it must be a fraction between 0 and 1)",
                    "e.g. 0.08 for 8 % below the entry"
                    if name == "stop_loss"
                    else "e.g. 0.2 for 20 % above the entry",
                )
            )
        if mode == "atr" and value <= 0:
            problems.append(
                _problem(
                    f"execution.{name}_value",
                    f"an ATR {name.replace('_', '-')} of {value:g} ATRs sits on the entry price",
                    "use a positive multiple, e.g. 2",
                )
            )
    return problems
