"""The one response envelope: ``{"status": "success", "data": ..., "meta": ...}``."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class PageMeta(BaseModel):
    """Pagination facts returned with every list."""

    total: int
    page: int
    size: int


class Envelope(BaseModel, Generic[T]):
    """A successful response."""

    status: Literal["success"] = "success"
    data: T
    meta: PageMeta | None = None


class ErrorBody(BaseModel):
    """The ``error`` member of a failed response."""

    code: str
    message: str
    details: Any = None
    correlation_id: str | None = None


class ErrorEnvelope(BaseModel):
    """A failed response."""

    status: Literal["error"] = "error"
    error: ErrorBody


class PageParams(BaseModel):
    """Validated pagination query parameters (absurd values are a 422)."""

    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.size


async def _page_params(  # async: a plain def would cost a worker-thread hand-off
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 20,
) -> PageParams:
    return PageParams(page=page, size=size)


Pagination = Annotated[PageParams, Depends(_page_params)]


def ok(data: Any) -> dict[str, Any]:
    """Wrap a payload in the success envelope."""
    return {"status": "success", "data": data}


def page(items: Any, total: int, params: PageParams) -> dict[str, Any]:
    """Wrap a page of items with its pagination meta."""
    return {
        "status": "success",
        "data": items,
        "meta": {"total": total, "page": params.page, "size": params.size},
    }


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in {
        400: "Malformed request",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Unsupported media type",
        422: "Validation error",
        429: "Rate limited",
    }.items()
}
