"""Platform metadata served to clients: the error-code catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from quantlab.platform.envelope import ok
from quantlab.platform.errors import ERROR_CATALOG

router = APIRouter(prefix="/api/meta", tags=["meta"])


@router.get("/error-codes", summary="Every error code a client may receive")
async def error_codes() -> dict[str, Any]:
    """The catalog: code, HTTP status and meaning, sorted by code."""
    items = [
        {"code": e.code, "status": e.status, "description": e.description}
        for e in sorted(ERROR_CATALOG.values(), key=lambda e: e.code)
    ]
    return ok(items)
