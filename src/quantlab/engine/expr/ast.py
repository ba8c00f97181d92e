"""Expression trees: three frozen node types, hashable so equal sub-trees share work.

Nodes are canonical by construction (see :mod:`quantlab.engine.expr.parser`): operators
are resolved to their registry names, numbers are floats, and the inputs of commutative
operators are sorted, so ``$a+$b`` and ``Add($b, $a)`` build the same node and are
evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass


def format_number(value: float) -> str:
    """Shortest text for a number: integral values without a trailing ``.0``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class Field:
    """A panel field reference, ``$close``."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


@dataclass(frozen=True, slots=True)
class Const:
    """A numeric constant (float64 in the tree; combined with float32 data as float32)."""

    value: float

    def __str__(self) -> str:
        return format_number(self.value)


@dataclass(frozen=True, slots=True)
class Call:
    """An operator applied to series inputs and literal parameters (windows, quantiles)."""

    op: str
    args: tuple[Node, ...]
    params: tuple[float, ...] = ()

    def __str__(self) -> str:
        parts = [str(a) for a in self.args] + [format_number(p) for p in self.params]
        return f"{self.op}({','.join(parts)})"


Node = Field | Const | Call


def walk(node: Node) -> list[Node]:
    """All distinct nodes below and including ``node``, children before parents."""
    seen: dict[Node, None] = {}

    def visit(n: Node) -> None:
        if n in seen:
            return
        if isinstance(n, Call):
            for a in n.args:
                visit(a)
        seen[n] = None

    visit(node)
    return list(seen)


def fields_of(node: Node) -> set[str]:
    """Names of the panel fields an expression reads."""
    return {n.name for n in walk(node) if isinstance(n, Field)}
