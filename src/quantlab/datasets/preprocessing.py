"""Preprocessing: pipeline previews on stored data, execution as a job, saved templates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service
from quantlab.datasets.exceptions import TemplateLimitReached, TemplateNotFound
from quantlab.datasets.models import PreprocessTemplate
from quantlab.datasets.pipeline_schema import step_schema
from quantlab.datasets.schemas import RowFilter
from quantlab.engine.data import preprocess
from quantlab.engine.data.preprocess_spec import PreprocessError, parse_pipeline
from quantlab.platform.db import paginate
from quantlab.platform.envelope import IsoDate, JsonInt, PageParams, VersionNumber
from quantlab.platform.errors import Conflict, ValidationFailed
from quantlab.platform.ownership import Principal, get_owned, visible

MAX_TEMPLATES = 20
PREVIEW_MAX_ROWS = 500_000
PREVIEW_DEFAULT_SYMBOLS = 50

Pipeline = list[Annotated[dict[str, Any], WithJsonSchema(step_schema())]]
"""Steps stay plain dicts: the engine's parser is the one validator (422 naming the step)."""


class PipelineRequest(BaseModel):
    """A pipeline to preview or execute on a dataset version."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=32)
    version: VersionNumber | None = None
    pipeline: Pipeline = Field(min_length=1, max_length=100)
    symbols: list[str] | None = Field(None, max_length=1000, description="preview only")
    start: IsoDate | None = None
    end: IsoDate | None = None
    sample_rows: JsonInt = Field(20, ge=0, le=200)
    bins: JsonInt = Field(30, ge=1, le=200)
    note: str = Field("", max_length=500)


class TemplateIn(BaseModel):
    """A named, reusable pipeline."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    pipeline: Pipeline = Field(min_length=1, max_length=100)


def check_pipeline(pipeline: Pipeline) -> None:
    """Validate the steps (422 naming the step, key and allowed values)."""
    try:
        parse_pipeline(pipeline)
    except PreprocessError as exc:
        raise ValidationFailed(f"invalid pipeline: {exc}", details={"pipeline": str(exc)}) from None


def apply_pipeline(
    frame: pd.DataFrame, pipeline: Pipeline
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Run a validated pipeline (used by the ``datasets.transform`` job)."""
    try:
        return preprocess.apply_pipeline(frame, pipeline)
    except PreprocessError as exc:
        raise ValidationFailed(f"invalid pipeline: {exc}") from None


async def preview(
    session: AsyncSession, user: Principal, body: PipelineRequest, data_dir: Path
) -> dict[str, Any]:
    """Before/after samples, per-step counts and distributions on the stored rows."""
    check_pipeline(body.pipeline)
    dataset = await service.get_dataset(session, user, body.dataset_id)
    version = await service.get_version(session, dataset, body.version)
    path = data_dir / version.path
    known = service.load_panel_symbols(path)
    symbols = body.symbols
    note = None
    if symbols is None and version.rows > PREVIEW_MAX_ROWS:
        symbols = sorted(known)[:PREVIEW_DEFAULT_SYMBOLS]
        note = (
            f"previewed on the first {len(symbols)} symbols of {len(known)}; pass symbols to choose"
        )
    frame = service.read_rows(
        path, RowFilter(symbols=symbols, start=body.start, end=body.end), known
    )
    try:
        result = preprocess.preview_pipeline(frame, body.pipeline, body.sample_rows, body.bins)
    except PreprocessError as exc:
        raise ValidationFailed(f"invalid pipeline: {exc}") from None
    result["version"] = version.version
    result["note"] = note
    return result


async def _count(session: AsyncSession, owner_id: str) -> int:
    stmt = select(func.count()).where(PreprocessTemplate.owner_id == owner_id)
    return int((await session.execute(stmt)).scalar_one())


async def create_template(
    session: AsyncSession, user: Principal, body: TemplateIn
) -> PreprocessTemplate:
    """Save a template (at most 20 per user; names unique per user)."""
    check_pipeline(body.pipeline)
    if await _count(session, user.id) >= MAX_TEMPLATES:
        raise TemplateLimitReached(f"you already have {MAX_TEMPLATES} templates; delete one first")
    row = PreprocessTemplate(owner_id=user.id, **body.model_dump())
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"you already have a template named {body.name!r}") from None
    return row


async def list_templates(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[Sequence[PreprocessTemplate], int]:
    """The caller's templates."""
    stmt = visible(select(PreprocessTemplate), PreprocessTemplate, user, mine_only=True)
    return await paginate(session, stmt, params, PreprocessTemplate.name)


async def get_template(
    session: AsyncSession, user: Principal, template_id: str, write: bool = False
) -> PreprocessTemplate:
    """One of the caller's templates (404 otherwise)."""
    return await get_owned(
        session, PreprocessTemplate, template_id, user, write=write, not_found=TemplateNotFound
    )


async def update_template(
    session: AsyncSession, user: Principal, template_id: str, body: TemplateIn
) -> PreprocessTemplate:
    """Replace a template's name, description and steps."""
    check_pipeline(body.pipeline)
    row = await get_template(session, user, template_id, write=True)
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"you already have a template named {body.name!r}") from None
    return row


def template_out(row: PreprocessTemplate) -> dict[str, Any]:
    """JSON of a template."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "pipeline": row.pipeline,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
