"""Factor references: ``$$name`` inside an expression stands for another factor of the same
owner, expanded textually (in parentheses) before parsing, so the expression engine sees
plain Qlib syntax and shares the common sub-trees. Positions in engine errors are mapped
back to the text the user wrote."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from quantlab.factors.exceptions import FactorDependencyError

REFERENCE = re.compile(r"\$\$([^\W\d]\w*)")
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Span:
    """One reference: where it was in the original text and where its expansion lies."""

    name: str
    start: int
    end: int
    expanded_start: int
    expanded_end: int


@dataclass(frozen=True, slots=True)
class Expanded:
    """An expression with every ``$$name`` replaced by ``(<that factor's expression>)``."""

    original: str
    text: str
    spans: tuple[Span, ...] = ()
    dependencies: tuple[str, ...] = field(default=())

    def original_position(self, position: int) -> int:
        """Map a 0-based offset in :attr:`text` back to :attr:`original` (an offset inside
        an expansion maps to the start of its ``$$name``)."""
        if position < 0:
            return position
        shift = 0
        for span in self.spans:
            if position < span.expanded_start:
                break
            if position < span.expanded_end:
                return span.start
            shift += (span.expanded_end - span.expanded_start) - (span.end - span.start)
        return position - shift


def references(text: str) -> list[str]:
    """Names referenced directly as ``$$name``, in order of first appearance."""
    return list(dict.fromkeys(m.group(1) for m in REFERENCE.finditer(text)))


# look-up of an owner's factor by name: (kind, expression) or None when absent
Lookup = Callable[[str], tuple[str, str | None] | None]


def expand(text: str, lookup: Lookup, *, self_name: str | None = None) -> Expanded:
    """Expand every reference recursively.

    ``self_name`` is the name the text is being saved under: a chain leading back to it
    is a cycle. Raises :class:`FactorDependencyError` for an unknown name, a Python
    factor (it has no expression), a cycle or nesting deeper than 32.
    """
    stack = [self_name] if self_name else []
    body, spans = _expand(text, lookup, stack, top=True)
    return Expanded(text, body, tuple(spans), tuple(references(text)))


def _expand(text: str, lookup: Lookup, stack: list[str], *, top: bool) -> tuple[str, list[Span]]:
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for match in REFERENCE.finditer(text):
        name = match.group(1)
        if name in stack:
            chain = " -> ".join([*stack[stack.index(name) :], name])
            raise FactorDependencyError(
                f"factor references form a cycle: {chain}",
                details={"cycle": [*stack[stack.index(name) :], name], "position": match.start()},
            )
        if len(stack) >= MAX_DEPTH:
            raise FactorDependencyError(f"factor references nest deeper than {MAX_DEPTH}")
        found = lookup(name)
        if found is None:
            raise FactorDependencyError(
                f"$${name} names no factor of yours",
                details={"name": name, "position": match.start() if top else None},
            )
        kind, expression = found
        if kind != "expression" or expression is None:
            raise FactorDependencyError(
                f"$${name} is a {kind} factor; only expression factors can be referenced",
                details={"name": name, "position": match.start() if top else None},
            )
        inner, _ = _expand(expression, lookup, [*stack, name], top=False)
        piece = text[pos : match.start()]
        out.append(piece)
        length += len(piece)
        replacement = f"({inner})"
        spans.append(Span(name, match.start(), match.end(), length, length + len(replacement)))
        out.append(replacement)
        length += len(replacement)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out), spans
