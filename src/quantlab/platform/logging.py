"""Structured JSON logs with the request's correlation id and masking of secrets."""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import structlog

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

ACCESS_LOGGER = "quantlab.access"
_access = logging.getLogger(ACCESS_LOGGER)


class AccessLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The access log's own handler: whole lines, written once per event-loop iteration.

    ``log_access`` hands it the rendered line directly (no log record: building one and
    passing it through the logger cost more than the rest of a cached read); the lines
    of all requests answered in one iteration of the loop go out in one ``write``, right
    after it. Records that do come through the logger are written at once, as usual.
    """

    terminator = "\n"

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))
        self._lines: list[str] = []

    def add_line(self, line: str) -> None:
        """Queue ``line``; it is written when the current loop iteration ends."""
        self._lines.append(line)
        if len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop in this thread: write now
                self.flush()

    def flush(self) -> None:
        """Write the queued lines, then flush the stream."""
        if self._lines:
            lines, self._lines = self._lines, []
            with self.lock:  # type: ignore[union-attr]
                try:
                    self.stream.write("\n".join(lines) + "\n")
                except Exception:  # a log stream failing must not fail the request
                    self.handleError(logging.makeLogRecord({"msg": lines[0]}))
        super().flush()


_access_lines: AccessLineHandler | None = None  # set by configure_logging in JSON mode

_SENSITIVE = re.compile(
    r"pass(word)?|secret|token|authorization|api[_-]?key|cookie|credential|private", re.I
)
MASK = "***"


def mask_sensitive(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with every sensitive-looking key's value masked (recursively)."""
    if depth > 6:
        return value
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _SENSITIVE.search(k) else mask_sensitive(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_sensitive(v, depth + 1) for v in value]
    return value


def _add_correlation_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    cid = correlation_id_var.get()
    if cid is not None:
        event.setdefault("correlation_id", cid)
    return event


def _mask_processor(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return mask_sensitive(event)  # type: ignore[no-any-return]


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog records through one JSON (or console) renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_correlation_id,
        _mask_processor,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The access log is ours (method, path, status, latency, correlation id).
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    global _access_lines
    if json:
        # One line per request: rendered by log_access itself, so the line skips the
        # processor chain and the second formatting pass.
        _access_lines = AccessLineHandler(sys.stderr)
        _access.handlers[:] = [_access_lines]
        _access.propagate = False
    else:
        _access_lines = None
        _access.handlers[:] = []
        _access.propagate = True


def get_logger(name: str) -> Any:
    """A structlog logger bound to ``name``."""
    return structlog.get_logger(name)


def log_access(method: str, path: str, status: int, latency_ms: float, client: str) -> None:
    """Write the access-log line of one request (``event: "request"``).

    In JSON mode the line has the same fields as any structlog event (level, logger, ISO
    UTC timestamp, correlation id) but is rendered here in one ``json.dumps``; its fields
    are fixed and never secret, so masking has nothing to do.
    """
    if not _access.isEnabledFor(logging.INFO):
        return
    if _access_lines is None:
        get_logger(ACCESS_LOGGER).info(
            "request", method=method, path=path, status=status, latency_ms=latency_ms, client=client
        )
        return
    event: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "latency_ms": latency_ms,
        "client": client,
        "event": "request",
        "level": "info",
        "logger": ACCESS_LOGGER,
        "timestamp": _utc_iso(),
    }
    cid = correlation_id_var.get()
    if cid is not None:
        event["correlation_id"] = cid
    line = jsonlib.dumps(event)
    handlers = _access.handlers
    if len(handlers) == 1 and handlers[0] is _access_lines:
        _access_lines.add_line(line)
    else:  # someone else listens too (a test, an extra handler): go through the logger
        _access.info(line)


def _utc_iso() -> str:
    # structlog's TimeStamper(fmt="iso", utc=True) form: 2026-01-02T03:04:05.123456Z
    return datetime.fromtimestamp(time.time(), UTC).isoformat().replace("+00:00", "Z")
