"""Router composition. Auth is on by default: only the public list below is open."""

from __future__ import annotations

from fastapi import FastAPI

from quantlab.platform import health, meta


def include_routers(app: FastAPI) -> None:
    """Mount every domain router on ``app``."""
    # Public: health, error catalog (docs are served by FastAPI itself).
    app.include_router(health.router)
    app.include_router(meta.router)
