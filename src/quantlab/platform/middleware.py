"""ASGI middleware: correlation id, access log, body limits and content types.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so that request bodies stream
through untouched and an oversized body is refused before it is read whole.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from quantlab.platform.errors import PayloadTooLarge, QuantlabError, UnsupportedMediaType
from quantlab.platform.logging import correlation_id_var, log_access

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CORRELATION_HEADER = "x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_ACCEPTED_TYPES = (
    "application/json",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def error_response_body(exc: QuantlabError, correlation_id: str | None) -> bytes:
    """The error envelope for ``exc`` as JSON bytes."""
    return json.dumps(
        {
            "status": "error",
            "error": {
                "code": exc.code,
                "message": exc.message,
                "details": exc.details,
                "correlation_id": correlation_id,
            },
        }
    ).encode()


async def _send_error(send: Send, exc: QuantlabError, correlation_id: str) -> None:
    body = error_response_body(exc, correlation_id)
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (CORRELATION_HEADER.encode(), correlation_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(StarletteHTTPException):
    """Raised mid-stream; an HTTPException so FastAPI's body parsing re-raises it as is."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body exceeds the configured limit")


class RequestContextMiddleware:
    """Correlation id in and out, access log, and request-body guards."""

    def __init__(
        self,
        app: ASGIApp,
        max_json_bytes: int,
        max_upload_bytes: int,
        upload_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, CORRELATION_HEADER.encode())
        # 32 random hex digits like uuid4().hex, without building a UUID object
        cid = incoming if incoming and _SAFE_ID.match(incoming) else os.urandom(16).hex()
        token = correlation_id_var.set(cid)
        scope.setdefault("state", {})["correlation_id"] = cid
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, cid)
        finally:
            correlation_id_var.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, cid: str) -> None:
        start = time.perf_counter()
        status_holder = {"status": 500}
        method = scope["method"]
        path = scope["path"]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.encode(), cid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            guarded = await self._guard(scope, receive, cid, send)
            if guarded is None:
                status_holder["status"] = 0
                return
            await self.app(scope, guarded, send_wrapper)
        except _BodyTooLarge:
            status_holder["status"] = 413
            await _send_error(send, PayloadTooLarge(self._too_large_message(path)), cid)
        finally:
            if status_holder["status"]:
                log_access(
                    method,
                    path,
                    status_holder["status"],
                    round((time.perf_counter() - start) * 1000, 2),
                    (scope.get("client") or ("-",))[0],
                )

    def _limit_for(self, path: str) -> int:
        if any(path.startswith(p) for p in self.upload_prefixes):
            return self.max_upload_bytes
        return self.max_json_bytes

    def _too_large_message(self, path: str) -> str:
        return f"request body exceeds the limit of {self._limit_for(path)} bytes for {path}"

    async def _guard(self, scope: Scope, receive: Receive, cid: str, send: Send) -> Receive | None:
        """Check content type and length up front; count streamed bytes as they arrive."""
        if scope["method"] not in _BODY_METHODS:
            return receive
        path = scope["path"]
        limit = self._limit_for(path)
        length = _header(scope, b"content-length")
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _send_error(
                    send, QuantlabError("invalid Content-Length", code="BAD_REQUEST"), cid
                )
                return None
            if declared > limit:
                await _send_error(send, PayloadTooLarge(self._too_large_message(path)), cid)
                return None
            if declared > 0 and ctype not in _ACCEPTED_TYPES:
                await _send_error(send, _unsupported(ctype), cid)
                return None
        elif ctype and ctype not in _ACCEPTED_TYPES:
            await _send_error(send, _unsupported(ctype), cid)
            return None
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        return counting_receive


def _unsupported(ctype: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Content-Type {ctype or '(none)'!r} is not accepted; send one of: "
        + ", ".join(_ACCEPTED_TYPES)
    )
