"""Parse, validate and size expressions (the thin typed layer above the kernels)."""

from __future__ import annotations

from collections.abc import Collection

from quantlab.engine.expr.analysis import lookahead_of, lookback_of
from quantlab.engine.expr.ast import Node
from quantlab.engine.expr.parser import parse_text


def parse(text: str) -> Node:
    """Parse Qlib-syntax ``text`` into a canonical tree (syntax, operators and arity only).

    Future references are allowed here; use :func:`validate` to enforce the look-ahead
    rule and known fields.
    """
    return parse_text(text, None, allow_future=True)


def validate(text: str, fields: Collection[str] | None = None, allow_future: bool = False) -> Node:
    """Parse and check ``text``: fields known (when ``fields`` is given), no future reads.

    Raises
    ------
    ExprError
        ``kind`` says what is wrong and ``position`` where (0-based character offset).
    """
    return parse_text(text, fields, allow_future=allow_future)


def lookback(text: str | Node) -> int:
    """Trading days of history to load before the first wanted day for exact results.

    See :func:`quantlab.engine.expr.analysis.lookback_of` for the rules and the EMA
    exception; expanding windows return :data:`~quantlab.engine.expr.analysis.UNBOUNDED`.
    """
    return lookback_of(parse(text) if isinstance(text, str) else text)


def lookahead(text: str | Node) -> int:
    """Trading days after a day that its value reads (labels only)."""
    return lookahead_of(parse(text) if isinstance(text, str) else text)
