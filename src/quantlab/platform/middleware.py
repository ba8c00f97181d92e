"""ASGI middleware: correlation id, access log, body limits, content types, input guards,
a body read timeout, and the 500 envelope for unhandled errors.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so that uploads stream through untouched
and an oversized body is refused before it is read whole. JSON and url-encoded bodies
(bounded by ``max_json_bytes``) are read here first, checked by
:mod:`quantlab.platform.input_guard` (NUL characters, nesting depth) and replayed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from quantlab.platform.errors import PayloadTooLarge, QuantlabError, UnsupportedMediaType
from quantlab.platform.input_guard import (
    NUL_MESSAGE,
    MultipartNulScanner,
    NulCharacter,
    RequestTimeout,
    check_body,
    check_path,
    check_query,
)
from quantlab.platform.logging import correlation_id_var, get_logger, log_access

log = get_logger("quantlab.errors")

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
# bodies read whole and checked here ("" : FastAPI parses a body without a type as JSON)
_BUFFERED_TYPES = ("application/json", "application/x-www-form-urlencoded", "")


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


async def _send_error(
    send: Send, exc: QuantlabError, correlation_id: str, close: bool = True
) -> None:
    """Send the envelope; ``close`` when the rest of the request body was not read."""
    body = error_response_body(exc, correlation_id)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (CORRELATION_HEADER.encode(), correlation_id.encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(StarletteHTTPException):
    """Raised mid-stream; an HTTPException so FastAPI's body parsing re-raises it as is."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body exceeds the configured limit")


class _NulInForm(StarletteHTTPException):
    """A NUL in a multipart text field, found mid-stream (422 ``VALIDATION_ERROR``)."""

    def __init__(self) -> None:
        super().__init__(status_code=422, detail=f"{NUL_MESSAGE} in the body")


class _BodyTimeout(StarletteHTTPException):
    """Raised mid-stream when the next part of the body does not come in time."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status_code=408,
            detail=f"the request body stalled: nothing arrived for {seconds:g} s",
            headers={"Connection": "close"},
        )


class RequestContextMiddleware:
    """Correlation id in and out, access log, and request-body guards."""

    def __init__(
        self,
        app: ASGIApp,
        max_json_bytes: int,
        max_upload_bytes: int,
        upload_prefixes: tuple[str, ...] = (),
        max_json_depth: int = 64,
        body_timeout_s: float = 30.0,
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_prefixes = upload_prefixes
        self.max_json_depth = max_json_depth
        self.body_timeout_s = body_timeout_s

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
                try:
                    check_path(scope["path"])
                    check_query(scope.get("query_string", b""))
                except QuantlabError:
                    await send({"type": "websocket.close", "code": 1008})
                    return
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

        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
        except Exception as exc:
            if started:
                raise  # mid-response: nothing to do but let the server drop the connection
            # Answer the 500 here, so the server does not see an exception and keeps the
            # kept-alive connection usable. Never echo the exception; the log has it.
            log.error("unhandled_exception", path=path, method=method, exc_info=exc)
            status_holder["status"] = 500
            await _send_error(send, QuantlabError(), cid, close=False)
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
        """Check path, query, content type and length up front; read and check JSON and
        url-encoded bodies; count streamed bytes of uploads as they arrive."""
        path = scope["path"]
        try:
            check_path(path)
            check_query(scope.get("query_string", b""))
        except QuantlabError as exc:
            await _send_error(send, exc, cid, close=scope["method"] in _BODY_METHODS)
            return None
        if scope["method"] not in _BODY_METHODS:
            return receive
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
        timeout = self.body_timeout_s
        if ctype in _BUFFERED_TYPES:
            return await self._buffered(receive, send, cid, ctype, limit, path)
        received = 0
        scanner = (
            MultipartNulScanner(_header(scope, b"content-type") or "")
            if ctype.startswith("multipart/")
            else None
        )

        async def counting_receive() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise _BodyTimeout(timeout) from None
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise _BodyTooLarge
                if scanner is not None:
                    try:
                        scanner.feed(chunk)
                    except NulCharacter:
                        raise _NulInForm from None
            return message

        return counting_receive

    async def _buffered(
        self, receive: Receive, send: Send, cid: str, ctype: str, limit: int, path: str
    ) -> Receive | None:
        """Read a JSON/url-encoded body whole (bounded), check it, and replay it."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                timeout = _BodyTimeout(self.body_timeout_s)
                await _send_error(send, RequestTimeout(str(timeout.detail)), cid)
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_error(send, PayloadTooLarge(self._too_large_message(path)), cid)
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            check_body(ctype, body, self.max_json_depth)
        except QuantlabError as exc:
            await _send_error(send, exc, cid, close=False)
            return None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        return replay


def _unsupported(ctype: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Content-Type {ctype or '(none)'!r} is not accepted; send one of: "
        + ", ".join(_ACCEPTED_TYPES)
    )
