"""Per-user chart configurations and annotations (CRUD, owner-scoped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service
from quantlab.datasets.exceptions import ChartItemNotFound
from quantlab.datasets.models import ChartAnnotation, ChartConfig
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal, get_owned, visible


class ChartConfigIn(BaseModel):
    """A saved chart layout; ``config`` is free-form JSON of at most ~64 KB."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    config: dict[str, Any] = Field(default_factory=dict)


class AnnotationIn(BaseModel):
    """A note on a symbol's chart at a date (and optionally a price)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=32)
    symbol: str = Field(min_length=1, max_length=40)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")
    price: float | None = Field(None, allow_inf_nan=False, strict=True)
    text: str = Field(min_length=1, max_length=500)


def config_out(row: ChartConfig) -> dict[str, Any]:
    """JSON of a chart configuration."""
    return {
        "id": row.id,
        "name": row.name,
        "config": row.config,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def annotation_out(row: ChartAnnotation) -> dict[str, Any]:
    """JSON of an annotation."""
    return {
        "id": row.id,
        "dataset_id": row.dataset_id,
        "symbol": row.symbol,
        "date": row.date,
        "price": row.price,
        "text": row.text,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def create_config(session: AsyncSession, user: Principal, body: ChartConfigIn) -> ChartConfig:
    """Save a new chart configuration."""
    if len(str(body.config)) > 65_536:
        from quantlab.platform.errors import ValidationFailed

        raise ValidationFailed("config is larger than 64 KB")
    row = ChartConfig(owner_id=user.id, name=body.name, config=body.config)
    session.add(row)
    await session.commit()
    return row


async def list_configs(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[Sequence[ChartConfig], int]:
    """The caller's chart configurations."""
    stmt = visible(select(ChartConfig), ChartConfig, user, mine_only=True)
    return await paginate(session, stmt, params, ChartConfig.created_at)


async def get_config(
    session: AsyncSession, user: Principal, item_id: str, write: bool = False
) -> ChartConfig:
    """One of the caller's chart configurations (404 otherwise)."""
    return await get_owned(
        session, ChartConfig, item_id, user, write=write, not_found=ChartItemNotFound
    )


async def update_config(
    session: AsyncSession, user: Principal, item_id: str, body: ChartConfigIn
) -> ChartConfig:
    """Replace a configuration's name and content."""
    row = await get_config(session, user, item_id, write=True)
    row.name, row.config = body.name, body.config
    await session.commit()
    return row


async def delete_item(session: AsyncSession, row: Any) -> None:
    """Delete a loaded chart item."""
    await session.delete(row)
    await session.commit()


async def create_annotation(
    session: AsyncSession, user: Principal, body: AnnotationIn
) -> ChartAnnotation:
    """Pin a note on a dataset the caller can read."""
    await service.get_dataset(session, user, body.dataset_id)
    row = ChartAnnotation(owner_id=user.id, **body.model_dump())
    session.add(row)
    await session.commit()
    return row


async def list_annotations(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    dataset_id: str | None,
    symbol: str | None,
) -> tuple[Sequence[ChartAnnotation], int]:
    """The caller's annotations, optionally for one dataset and symbol."""
    stmt = visible(select(ChartAnnotation), ChartAnnotation, user, mine_only=True)
    if dataset_id:
        stmt = stmt.where(ChartAnnotation.dataset_id == dataset_id)
    if symbol:
        stmt = stmt.where(ChartAnnotation.symbol == symbol)
    return await paginate(session, stmt, params, ChartAnnotation.date)


async def get_annotation(
    session: AsyncSession, user: Principal, item_id: str, write: bool = False
) -> ChartAnnotation:
    """One of the caller's annotations (404 otherwise)."""
    return await get_owned(
        session, ChartAnnotation, item_id, user, write=write, not_found=ChartItemNotFound
    )


async def update_annotation(
    session: AsyncSession, user: Principal, item_id: str, body: AnnotationIn
) -> ChartAnnotation:
    """Replace an annotation's content."""
    row = await get_annotation(session, user, item_id, write=True)
    await service.get_dataset(session, user, body.dataset_id)
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    await session.commit()
    return row
