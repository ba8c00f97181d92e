"""HTTP routes of preprocessing: preview, execute (a job), templates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.datasets import preprocessing as pp
from quantlab.datasets import service
from quantlab.datasets.preprocessing import PipelineRequest, TemplateIn
from quantlab.datasets.schemas import PipelinePreview, TemplateOut
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Deleted,
    Envelope,
    JobAccepted,
    Page,
    Pagination,
    ok,
    page,
)
from quantlab.platform.jobs import service as job_service

router = APIRouter(prefix="/api/preprocessing", tags=["preprocessing"], responses=ERROR_RESPONSES)


@router.post(
    "/preview",
    summary="Before/after samples, counts and distributions",
    response_model=Envelope[PipelinePreview],
)
async def preview(
    body: PipelineRequest, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    data_dir = request.app.state.settings.data_dir
    result = await pp.preview(session, user, body, data_dir)
    return ok(result)


@router.post(
    "/execute",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run a pipeline into a new version",
    response_model=Envelope[JobAccepted],
)
async def execute(
    body: PipelineRequest, user: WriteUser, session: DbSession, request: Request
) -> Any:
    pp.check_pipeline(body.pipeline)
    dataset = await service.get_dataset(session, user, body.dataset_id, write=True)
    version = await service.get_version(session, dataset, body.version)
    job = await job_service.enqueue(
        session,
        job_type="datasets.transform",
        params={
            "dataset_id": dataset.id,
            "version": version.version,
            "pipeline": body.pipeline,
            "note": body.note,
        },
        owner_id=user.id,
    )
    await session.commit()
    request.app.state.jobs.wake()
    return ok({"job_id": job.id, "dataset_id": dataset.id, "from_version": version.version})


@router.post(
    "/templates",
    status_code=status.HTTP_201_CREATED,
    summary="Save a template",
    response_model=Envelope[TemplateOut],
)
async def create_template(body: TemplateIn, user: WriteUser, session: DbSession) -> Any:
    return ok(pp.template_out(await pp.create_template(session, user, body)))


@router.get("/templates", summary="Your templates (at most 20)", response_model=Page[TemplateOut])
async def list_templates(user: CurrentUser, session: DbSession, params: Pagination) -> Any:
    rows, total = await pp.list_templates(session, user, params)
    return page([pp.template_out(r) for r in rows], total, params)


@router.get("/templates/{template_id}", summary="A template", response_model=Envelope[TemplateOut])
async def get_template(template_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(pp.template_out(await pp.get_template(session, user, template_id)))


@router.put(
    "/templates/{template_id}", summary="Replace a template", response_model=Envelope[TemplateOut]
)
async def update_template(
    template_id: str, body: TemplateIn, user: WriteUser, session: DbSession
) -> Any:
    return ok(pp.template_out(await pp.update_template(session, user, template_id, body)))


@router.delete(
    "/templates/{template_id}", summary="Delete a template", response_model=Envelope[Deleted]
)
async def delete_template(template_id: str, user: WriteUser, session: DbSession) -> Any:
    row = await pp.get_template(session, user, template_id, write=True)
    await session.delete(row)
    await session.commit()
    return ok({"id": template_id, "deleted": True})
