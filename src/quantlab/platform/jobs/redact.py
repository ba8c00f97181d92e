"""Error texts that reach clients (job errors, import errors) never show server paths."""

from __future__ import annotations

import re

# An absolute POSIX path of two or more segments (quoted or not), or a Windows drive path.
_PATH = re.compile(r"(?<![\w.~:/-])(?:/[^\s/'\"():,;]+){2,}/?|[A-Za-z]:\\[^\s'\"]+")


def _last_segment(match: re.Match[str]) -> str:
    text = match.group(0).rstrip("/\\")
    name = re.split(r"[/\\]", text)[-1]
    return f"…/{name}" if name else "…"


def redact_paths(message: str) -> str:
    """``message`` with every absolute file-system path cut to ``…/<last segment>``."""
    return _PATH.sub(_last_segment, message)
