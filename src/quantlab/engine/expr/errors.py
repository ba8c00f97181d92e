"""The one exception the expression engine raises for a bad expression."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "syntax",
    "unknown_field",
    "unknown_operator",
    "arity",
    "bad_window",
    "lookahead",
]

ERROR_KINDS: tuple[ErrorKind, ...] = (
    "syntax",
    "unknown_field",
    "unknown_operator",
    "arity",
    "bad_window",
    "lookahead",
)


class ExprError(ValueError):
    """A factor expression that cannot be parsed, validated or evaluated.

    Parameters
    ----------
    kind : str
        One of :data:`ERROR_KINDS`, stable for clients to switch on.
    message : str
        Human-readable reason.
    position : int
        0-based character offset into the expression text where the problem starts
        (``-1`` when it has no single place, e.g. an empty expression).
    """

    def __init__(self, kind: ErrorKind, message: str, position: int = -1) -> None:
        self.kind: ErrorKind = kind
        self.message = message
        self.position = position
        where = f" at position {position}" if position >= 0 else ""
        super().__init__(f"{kind}: {message}{where}")

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, what an API error ``details`` field carries."""
        return {"kind": self.kind, "message": self.message, "position": self.position}
