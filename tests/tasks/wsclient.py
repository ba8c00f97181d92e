"""A WebSocket client that speaks ASGI to the in-process app (as httpx's ASGITransport does
for HTTP), so WebSocket tests run on the session app of each database backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class WsClosed(Exception):
    """The server closed the socket."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class AsgiWebSocket:
    """``async with AsgiWebSocket(app, "/ws/...", query="ticket=...") as ws: ...``"""

    def __init__(
        self, app: Any, path: str, query: str = "", subprotocols: tuple[str, ...] = ()
    ) -> None:
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "subprotocols": list(subprotocols),
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""

    async def __aenter__(self) -> AsgiWebSocket:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self.app(self.scope, self._to_app.get, self._from_app.put))
        first = await asyncio.wait_for(self._from_app.get(), 20)
        if first["type"] == "websocket.close":
            raise WsClosed(first.get("code", 1000), first.get("reason", ""))
        assert first["type"] == "websocket.accept", first
        self.subprotocol = first.get("subprotocol")
        return self

    async def receive_json(self, timeout: float = 20.0) -> dict[str, Any]:
        """The next JSON message; raises :class:`WsClosed` when the server closed."""
        message = await asyncio.wait_for(self._from_app.get(), timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason", "")
            raise WsClosed(self.close_code, self.close_reason)
        return json.loads(message.get("text") or message["bytes"])  # type: ignore[no-any-return]

    async def send_json(self, data: Any) -> None:
        """Send one JSON message to the server."""
        self._to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(data)})

    async def __aexit__(self, *exc: Any) -> None:
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)

    async def drain(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Every message until the server closes."""
        out = []
        with contextlib.suppress(WsClosed):
            while True:
                out.append(await self.receive_json(timeout))
        return out
