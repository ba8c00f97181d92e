"""What a client operation asks for (a :class:`Call`) and gets back (an :class:`Answer`).

Operations are written once, as generators that yield calls and receive answers
(:mod:`quantlab.client.ops`); the sync and async clients only differ in how they send them.
This module also holds what both senders share: the retry policy and reading an envelope.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from quantlab.client.endpoints import Endpoint
from quantlab.client.errors import QuantlabAPIError

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 503})


@dataclass
class Call:
    """One HTTP request of an operation."""

    endpoint: Endpoint
    path_params: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    # (form field, file name, bytes or a local path, content type); paths open at send time
    files: list[tuple[str, str, bytes | Path, str]] | None = None
    save_to: Path | None = None  # stream the body into this file instead of parsing it

    @property
    def path(self) -> str:
        """The request path."""
        return self.endpoint.url(**self.path_params)

    def query(self) -> dict[str, Any] | None:
        """Query parameters without the unset ones."""
        if not self.params:
            return None
        return {k: v for k, v in self.params.items() if v is not None}


@dataclass
class Answer:
    """A successful response: the envelope's ``data`` and ``meta`` (or the saved file)."""

    data: Any
    meta: dict[str, Any] = field(default_factory=dict)


Flow = Generator[Call, Answer, T]


def retry_delay(status: int, headers: Any, attempt: int, cap: float) -> float:
    """Seconds to wait before retrying a 429/503: ``Retry-After`` when given, else backoff.

    ``Retry-After`` may be seconds or an HTTP date; the wait is capped at ``cap``. Without it
    the wait is exponential (0.5 s, 1 s, 2 s, ...) with up to 25 % jitter.
    """
    value = headers.get("retry-after") if headers is not None else None
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = -1.0
        if seconds >= 0:
            return min(cap, seconds)
    backoff = 0.5 * 2**attempt
    return min(cap, backoff * (1 + random.random() / 4))


def answer(status: int, body: bytes, headers: Any) -> Answer:
    """Read a response body: its envelope's data, or the error it carries as an exception."""
    import json

    if status >= 400:
        raise QuantlabAPIError.from_response(status, body, headers)
    if not body:
        return Answer(None)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise QuantlabAPIError(
            f"the server answered {status} with a body that is not JSON",
            code="BAD_RESPONSE",
            status=status,
            correlation_id=headers.get("x-correlation-id"),
        ) from exc
    if isinstance(payload, dict) and payload.get("status") == "success" and "data" in payload:
        return Answer(payload["data"], payload.get("meta") or {})
    return Answer(payload)


def unreachable(base_url: str, exc: Exception) -> QuantlabAPIError:
    """The error for a server that could not be reached or stopped answering."""
    reason = str(exc) or type(exc).__name__
    return QuantlabAPIError(f"cannot reach {base_url}: {reason}", code="UNREACHABLE")


def open_files(call: Call) -> list[tuple[str, tuple[str, Any, str]]] | None:
    """The multipart files of ``call`` (paths opened now; the caller closes them)."""
    if not call.files:
        return None
    out: list[tuple[str, tuple[str, Any, str]]] = []
    for form_field, name, source, content_type in call.files:
        content = source.open("rb") if isinstance(source, Path) else source
        out.append((form_field, (name, content, content_type)))
    return out


def close_files(files: list[tuple[str, tuple[str, Any, str]]] | None) -> None:
    """Close what :func:`open_files` opened."""
    for _, (_, content, _) in files or []:
        if hasattr(content, "close"):
            content.close()


def partial_path(target: Path) -> Path:
    """Where a download is written before it is moved to ``target``."""
    return target.with_name(target.name + ".part")
