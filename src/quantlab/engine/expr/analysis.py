"""Static facts about an expression: how much history and future it reads."""

from __future__ import annotations

import math

from quantlab.engine.expr.ast import Call, Node
from quantlab.engine.expr.operators import OPERATORS

#: ``lookback`` of an expression whose value depends on the whole history (an expanding
#: window, ``Ref(x, 0)``, ``Delta(x, 0)``): load everything there is.
UNBOUNDED = 2**31 - 1


def _add(a: int, b: int) -> int:
    return UNBOUNDED if a >= UNBOUNDED or b >= UNBOUNDED else min(a + b, UNBOUNDED)


def lookback_of(node: Node) -> int:
    """Trading days of history before the first wanted day that make results exact.

    Rules: a window ``w`` adds ``w - 1``, ``Ref``/``Delta`` by ``n`` add ``n``,
    ``Cross``/``CrossDown`` add 1, nesting adds up, siblings take the maximum. Window 0,
    ``Ref(x, 0)`` and ``Delta(x, 0)`` give :data:`UNBOUNDED`. EMA is an exception: its
    memory never ends, so the figure is Qlib's convention (``span - 1`` days, or the days
    until weights fall below 1e-6 when given an alpha), after which the remaining
    dependence on the start is small but not zero.
    """
    if not isinstance(node, Call):
        return 0
    inner = max((lookback_of(a) for a in node.args), default=0)
    spec = OPERATORS[node.op]
    if spec.kind in ("elementwise", "cross_sectional"):
        return inner
    if spec.kind == "signal":
        return _add(inner, 1)
    n = node.params[0]
    if node.op == "Ref":
        return inner if n < 0 else (UNBOUNDED if n == 0 else _add(inner, int(n)))
    if node.op == "Delta":
        return UNBOUNDED if n == 0 else _add(inner, int(n))
    if node.op == "EMA":
        if n == 0:
            return UNBOUNDED
        if n < 1:
            return _add(inner, int(math.log(1e-6) / math.log(1 - n)))
        return _add(inner, math.ceil(n) - 1)
    return UNBOUNDED if n == 0 else _add(inner, int(n) - 1)


def lookahead_of(node: Node) -> int:
    """Trading days after a day that its value reads (non-zero only through ``Ref(x, -n)``)."""
    if not isinstance(node, Call):
        return 0
    inner = max((lookahead_of(a) for a in node.args), default=0)
    if node.op == "Ref" and node.params[0] < 0:
        return inner + int(-node.params[0])
    return inner
