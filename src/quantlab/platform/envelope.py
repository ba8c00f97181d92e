"""The one response envelope: ``{"status": "success", "data": ..., "meta": ...}``."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, BeforeValidator, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class PageMeta(BaseModel):
    """Pagination facts returned with every list."""

    total: int
    page: int
    size: int


class Envelope(BaseModel, Generic[T]):
    """A successful response: ``response_model=Envelope[ThingOut]``."""

    status: Literal["success"] = "success"
    data: T
    meta: PageMeta | None = Field(None, description="lists only; prefer Page[T] for lists")


class Page(BaseModel, Generic[T]):
    """A successful page of a list: ``response_model=Page[ThingOut]``."""

    status: Literal["success"] = "success"
    data: list[T]
    meta: PageMeta


class Deleted(BaseModel):
    """What a ``DELETE`` that answers with a body says."""

    id: str
    deleted: bool = True


class JobAccepted(BaseModel):
    """A request that queued a job producing a new version of a dataset."""

    job_id: str
    dataset_id: str
    from_version: int


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


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: Any) -> Any:
    # pydantic reads numbers as Unix times; the document promises ISO 8601 text only
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected ISO 8601 text, e.g. 2026-01-31 or 2026-01-31T08:00:00Z")
    return value


def json_number(value: Any) -> Any:
    """Refuse text and booleans where JSON Schema says number/integer (``BeforeValidator``)."""
    # lax int would read "5" and true; strict int would refuse 5.0, which JSON Schema allows
    if isinstance(value, str | bool):
        raise ValueError("expected a JSON number")
    return value


JsonInt = Annotated[int, BeforeValidator(json_number)]
"""An integer in a JSON body: ``5`` and ``5.0`` are read, ``"5"`` and ``true`` are a 422."""
# (constraints go before the validator, or pydantic writes "ge" instead of "minimum" when
# the type sits in a union such as ``VersionNumber | None``)
VersionNumber = Annotated[int, Field(ge=1), BeforeValidator(json_number)]
"""A dataset version number (1, 2, ...) in a JSON body."""
Priority = Annotated[int, Field(ge=0, le=3), BeforeValidator(json_number)]
"""A job priority: 0 lowest … 3 highest."""

IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
"""A date given as ISO 8601 text (query parameters and bodies); numbers are a 422."""
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]
"""A date-time given as ISO 8601 text; numbers (read as Unix times otherwise) are a 422."""


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


def file_responses(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose 200 is a download in one of ``media_types``.

    Use with ``response_class=Response`` so the document does not also claim JSON.
    """
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {"description": description, "content": {m: binary for m in media_types}},
    }
