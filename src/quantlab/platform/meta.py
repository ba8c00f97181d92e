"""Platform metadata served to clients: the error-code catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from quantlab.platform.envelope import Envelope, ok
from quantlab.platform.errors import ERROR_CATALOG

router = APIRouter(prefix="/api/meta", tags=["meta"])


class ErrorCodeOut(BaseModel):
    """A catalogued error code."""

    code: str
    status: int
    description: str


@router.get(
    "/error-codes",
    summary="Every error code a client may receive",
    response_model=Envelope[list[ErrorCodeOut]],
)
async def error_codes() -> Any:
    """The catalog: code, HTTP status and meaning, sorted by code."""
    items = [
        {"code": e.code, "status": e.status, "description": e.description}
        for e in sorted(ERROR_CATALOG.values(), key=lambda e: e.code)
    ]
    return ok(items)
