"""Serve the prebuilt web workbench from ``dist/`` with an SPA fallback.

Hashed build outputs under ``/assets/`` are cached for a year (their names change with their
content); ``index.html`` and other root files are revalidated on every load so a new build
is picked up at once. The fallback never answers for the API's own paths: anything under
``/api``, ``/ws``, ``/docs``, ``/redoc`` or ``/openapi.json`` that no route matched is the
API's 404 envelope, never the app shell.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

DIST_DIR = Path(__file__).resolve().parent / "dist"
RESERVED_PREFIXES = ("/api", "/ws", "/docs", "/redoc", "/openapi.json")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}


def is_reserved(path: str) -> bool:
    """Whether ``path`` belongs to the API (the SPA fallback must not answer it)."""
    return any(path == p or path.startswith(p + "/") for p in RESERVED_PREFIXES)


class WebUI:
    """ASGI app: static files of the build, ``index.html`` for every other GET."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist.resolve()

    def _file(self, path: str) -> Path | None:
        candidate = (self.dist / path.lstrip("/")).resolve()
        if candidate.is_relative_to(self.dist) and candidate.is_file():
            return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocket(scope, receive, send).close(code=1008)
            return
        path: str = scope["path"]
        if is_reserved(path):
            raise HTTPException(status_code=404)
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405)
        response = self._respond(path)
        await response(scope, receive, send)

    def _respond(self, path: str) -> Response:
        found = self._file(path) if path not in ("", "/") else None
        if found is not None and found.name != "index.html":
            hashed = path.startswith("/assets/")
            headers = {"Cache-Control": IMMUTABLE if hashed else REVALIDATE, **SECURITY_HEADERS}
            return FileResponse(found, headers=headers)
        if path.startswith("/assets/"):
            # a missing hashed file is a stale page asking for an old build: never the shell
            raise HTTPException(status_code=404)
        index = self.dist / "index.html"
        if not index.is_file():
            raise HTTPException(status_code=404, detail="web UI not built (run `make web`)")
        return FileResponse(
            index, media_type="text/html", headers={"Cache-Control": REVALIDATE, **SECURITY_HEADERS}
        )


def mount_webui(app: FastAPI, dist: Path = DIST_DIR) -> None:
    """Serve the workbench for every request that no route matched.

    It is the router's ``default`` (not a mount), so a path a route knows under another
    method still answers 405, and routes added later still take precedence.
    """
    app.router.default = WebUI(dist)
