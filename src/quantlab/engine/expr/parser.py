"""A recursive-descent parser for Qlib's expression syntax (no ``eval``).

Grammar, lowest precedence first (Python's order, which Qlib inherits by using ``eval``)::

    expr    := or ( CMP or )?          CMP: > >= < <= == !=   (not chainable)
    or      := and ( "|" and )*
    and     := add ( "&" add )*
    add     := mul ( ("+" | "-") mul )*
    mul     := unary ( ("*" | "/") unary )*
    unary   := ("-" | "+") unary | primary
    primary := NUMBER | "$" NAME | NAME "(" [ expr ("," expr)* ] ")" | "(" expr ")"

Deliberate differences from Qlib: a chained comparison (``a < b < c``) is an error rather
than Python's ``(a < b) and (b < c)``, which silently drops the first test on series;
unary minus on a series is accepted (Qlib's ``Expression`` has no ``__neg__``); field names
are lower-cased (panel fields are lower case). ``$$`` point-in-time fields are not supported.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection

from quantlab.engine.expr.ast import Call, Const, Field, Node
from quantlab.engine.expr.elementwise import apply_elementwise
from quantlab.engine.expr.errors import ExprError
from quantlab.engine.expr.operators import BINARY_LEVELS, OPERATORS, OpSpec

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<pit>\$\$)
  | (?P<field>\$\w+)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op>>=|<=|==|!=|[-+*/<>&|(),])
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError("syntax", f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind == "pit":
            raise ExprError("syntax", "point-in-time fields ($$) are not supported", pos)
        if (
            kind == "num"
            and m.end() < len(text)
            and (text[m.end()].isalpha() or text[m.end()] == "_")
        ):
            raise ExprError("syntax", f"malformed number {text[pos : m.end() + 1]!r}", pos)
        if kind != "ws":
            tokens.append((kind, m.group(), pos))
        pos = m.end()
    tokens.append(("eof", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Collection[str] | None, allow_future: bool) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields = None if fields is None else {f.lower() for f in fields}
        self.allow_future = allow_future

    # -- token helpers -------------------------------------------------------------
    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, value: str) -> int:
        kind, text, pos = self.take()
        if text != value or kind != "op":
            found = "end of expression" if kind == "eof" else repr(text)
            raise ExprError("syntax", f"expected {value!r}, found {found}", pos)
        return pos

    # -- grammar -------------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek()[0] == "eof":
            raise ExprError("syntax", "empty expression", 0)
        node = self.expr()
        kind, text, pos = self.peek()
        if kind != "eof":
            raise ExprError("syntax", f"unexpected {text!r}", pos)
        return node

    def expr(self) -> Node:
        left = self.binary(1)
        kind, text, pos = self.peek()
        if kind == "op" and text in BINARY_LEVELS[0]:
            self.take()
            right = self.binary(1)
            k2, t2, p2 = self.peek()
            if k2 == "op" and t2 in BINARY_LEVELS[0]:
                raise ExprError("syntax", "chained comparison: add parentheses and use &", p2)
            left = self.build(BINARY_LEVELS[0][text], [left, right], [pos, pos], pos)
        return left

    def binary(self, level: int) -> Node:
        if level == len(BINARY_LEVELS):
            return self.unary()
        ops = BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while True:
            kind, text, pos = self.peek()
            if kind != "op" or text not in ops:
                return left
            self.take()
            right = self.binary(level + 1)
            left = self.build(ops[text], [left, right], [pos, pos], pos)

    def unary(self) -> Node:
        kind, text, pos = self.peek()
        if kind == "op" and text in "+-" and text:
            self.take()
            operand = self.unary()
            if text == "+":
                return operand
            if isinstance(operand, Const):
                return Const(-operand.value)
            return self.build("Mul", [operand, Const(-1.0)], [pos, pos], pos)
        return self.primary()

    def primary(self) -> Node:
        kind, text, pos = self.take()
        if kind == "num":
            return Const(float(text))
        if kind == "field":
            name = text[1:].lower()
            if self.fields is not None and name not in self.fields:
                hint = difflib.get_close_matches(name, sorted(self.fields), n=1)
                extra = f"; did you mean ${hint[0]}?" if hint else ""
                raise ExprError("unknown_field", f"unknown field {text}{extra}", pos)
            return Field(name)
        if kind == "name":
            return self.call(text, pos)
        if kind == "op" and text == "(":
            node = self.expr()
            self.expect(")")
            return node
        found = "end of expression" if kind == "eof" else repr(text)
        raise ExprError("syntax", f"unexpected {found}", pos)

    def call(self, name: str, pos: int) -> Node:
        spec = OPERATORS.get(name)
        if spec is None:
            hint = difflib.get_close_matches(name, list(OPERATORS), n=1)
            extra = f"; did you mean {hint[0]}?" if hint else ""
            raise ExprError("unknown_operator", f"unknown operator {name!r}{extra}", pos)
        kind, text, p = self.peek()
        if text != "(" or kind != "op":
            raise ExprError("syntax", f"expected '(' after {name}", p)
        self.take()
        args: list[Node] = []
        starts: list[int] = []
        if self.peek()[1] != ")":
            while True:
                starts.append(self.peek()[2])
                args.append(self.expr())
                if self.peek()[1] != ",":
                    break
                self.take()
        self.expect(")")
        if len(args) != spec.arity:
            raise ExprError(
                "arity",
                f"{name} takes {spec.arity} argument(s), got {len(args)}: {spec.signature()}",
                pos,
            )
        params = [
            self.param(spec, kind, a, s, pos)
            for kind, a, s in zip(
                spec.params, args[spec.inputs :], starts[spec.inputs :], strict=True
            )
        ]
        return self.build(name, args[: spec.inputs], starts[: spec.inputs], pos, params)

    def param(self, spec: OpSpec, kind: str, node: Node, at: int, call_pos: int) -> float:
        if not isinstance(node, Const):
            raise ExprError("bad_window", f"{spec.name}: {kind} must be a number", at)
        v = node.value
        integral = v == int(v)
        if kind == "quantile":
            if not 0.0 <= v <= 1.0:
                raise ExprError("bad_window", f"{spec.name}: quantile must be in [0, 1]", at)
            return v
        if kind == "span":
            if v < 0:
                raise ExprError("bad_window", f"{spec.name}: span must be >= 0", at)
            return v
        if not integral:
            raise ExprError("bad_window", f"{spec.name}: {kind} must be an integer", at)
        if kind == "offset":
            if v < 0 and not self.allow_future:
                raise ExprError(
                    "lookahead",
                    f"{spec.name} with a negative offset reads the future; allowed only in labels",
                    call_pos,
                )
            return v
        if v < 0:
            raise ExprError("bad_window", f"{spec.name}: {kind} must be >= 0", at)
        if 0 < v < spec.min_window:
            raise ExprError(
                "bad_window", f"{spec.name}: window must be 0 or >= {spec.min_window}", at
            )
        return v

    def build(
        self,
        op: str,
        args: list[Node],
        starts: list[int],
        pos: int,
        params: list[float] | None = None,
    ) -> Node:
        spec = OPERATORS[op]
        if spec.kind == "elementwise" and all(isinstance(a, Const) for a in args):
            # Qlib evaluates number-only sub-expressions in Python (float64) before any
            # data is touched; folding here gives the same value.
            value = apply_elementwise(op, [a.value for a in args])  # type: ignore[union-attr]
            return Const(float(value))
        if spec.kind != "elementwise" and spec.kind != "signal":
            # Neutralize's group and size may be a constant: 0 leaves that part out
            checked = 1 if op == "Neutralize" else len(args)
            for a, s in zip(args[:checked], starts[:checked], strict=True):
                if isinstance(a, Const):
                    # A rolling/cross-sectional op over a constant is almost surely a
                    # misplaced argument (e.g. a window written first).
                    raise ExprError("syntax", f"{op}: input must be a series, not a number", s)
        ordered = tuple(sorted(args, key=str)) if spec.commutative else tuple(args)
        return Call(op, ordered, tuple(params or ()))


def parse_text(
    text: str, fields: Collection[str] | None = None, allow_future: bool = False
) -> Node:
    """Parse ``text`` into a canonical tree; see :func:`quantlab.engine.expr.parse`."""
    if not isinstance(text, str):
        raise ExprError("syntax", f"expression must be a string, got {type(text).__name__}")
    return _parse(text, None if fields is None else frozenset(fields), allow_future)


@functools.lru_cache(maxsize=4096)
def _parse(text: str, fields: frozenset[str] | None, allow_future: bool) -> Node:
    # Trees are immutable: a run parses its expressions several times (look-back,
    # parameters, evaluation), a batch once per variant, and they come out the same.
    return _Parser(text, fields, allow_future).parse()
