"""``/api/tasks``: jobs of the signed-in user, their logs, results, schedules and ws tickets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import PlainTextResponse, StreamingResponse

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Envelope,
    IsoDateTime,
    Page,
    Pagination,
    file_responses,
    ok,
    page,
)
from quantlab.platform.jobs.registry import load_job_types
from quantlab.platform.jobs.service import job_view
from quantlab.platform.jobs.status import JobStatus
from quantlab.tasks import schedules, service, tickets
from quantlab.tasks.exceptions import JobResultMissing
from quantlab.tasks.schemas import (
    JobCreate,
    JobLogOut,
    JobOut,
    JobResult,
    JobStats,
    JobTypeOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    WsTicketOut,
)

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _job(job: Any) -> dict[str, Any]:
    return ok(job_view(job))


@router.post("", status_code=201, summary="Enqueue a job", response_model=Envelope[JobOut])
async def create_job(body: JobCreate, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Validate ``params`` against the type's schema (422) and queue the job."""
    job = await service.create_job(
        session, user, body.type, body.params, body.priority, _client(request)
    )
    request.app.state.jobs.wake()
    return _job(job)


@router.get("", summary="List jobs", response_model=Page[JobOut])
async def list_jobs(
    user: CurrentUser,
    session: DbSession,
    pagination: Pagination,
    type: Annotated[str | None, Query(max_length=100)] = None,
    status: JobStatus | None = None,
    created_from: IsoDateTime | None = None,
    created_to: IsoDateTime | None = None,
) -> Any:
    """The caller's jobs, newest first, filtered by type, status and creation time."""
    rows, total = await service.list_jobs(
        session,
        user,
        pagination,
        job_type=type,
        status=status,
        created_from=created_from,
        created_to=created_to,
    )
    return page([job_view(j) for j in rows], total, pagination)


@router.get("/types", summary="Registered job types", response_model=Envelope[list[JobTypeOut]])
async def job_types(user: CurrentUser) -> Any:
    """Every job type with its parameter schema; ``submittable`` ones may be created through
    ``POST /api/tasks`` and schedules (the others are started by their own domain's routes)."""
    return ok(
        [
            {
                "name": t.name,
                "description": t.description,
                "checkpointable": t.checkpointable,
                "submittable": t.submittable,
                "params_schema": t.params.model_json_schema(),
            }
            for t in sorted(load_job_types().values(), key=lambda t: t.name)
        ]
    )


@router.get("/stats", summary="Job counts per status and type", response_model=Envelope[JobStats])
async def job_stats(user: CurrentUser, session: DbSession) -> Any:
    """Counts of the caller's jobs."""
    return ok(await service.stats(session, user))


# --- schedules (declared before /{job_id} so the path is not taken for an id) ----------


@router.post(
    "/schedules", status_code=201, summary="Create a schedule", response_model=Envelope[ScheduleOut]
)
async def create_schedule(
    body: ScheduleCreate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    """A recurring job: ``cron`` in ``timezone`` enqueues ``job_type`` with ``params``."""
    return ok(await schedules.create(session, user, body, _client(request)))


@router.get("/schedules", summary="List schedules", response_model=Page[ScheduleOut])
async def list_schedules(user: CurrentUser, session: DbSession, pagination: Pagination) -> Any:
    """The caller's schedules."""
    rows, total = await schedules.list_(session, user, pagination)
    return page(jsonable_encoder(rows), total, pagination)


@router.get(
    "/schedules/{schedule_id}", summary="Get a schedule", response_model=Envelope[ScheduleOut]
)
async def get_schedule(schedule_id: str, user: CurrentUser, session: DbSession) -> Any:
    """One schedule."""
    return ok(await schedules.get(session, user, schedule_id))


@router.patch(
    "/schedules/{schedule_id}", summary="Change a schedule", response_model=Envelope[ScheduleOut]
)
async def update_schedule(
    schedule_id: str, body: ScheduleUpdate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    """Change name, params, priority, cron, time zone or enabled."""
    return ok(await schedules.update_(session, user, schedule_id, body, _client(request)))


@router.delete("/schedules/{schedule_id}", status_code=204, summary="Delete a schedule")
async def delete_schedule(
    schedule_id: str, user: WriteUser, session: DbSession, request: Request
) -> Response:
    """Remove a schedule; jobs it enqueued stay."""
    await schedules.delete(session, user, schedule_id, _client(request))
    return Response(status_code=204)


# --- one job -----------------------------------------------------------------------------


@router.get("/{job_id}", summary="Get a job", response_model=Envelope[JobOut])
async def get_job(job_id: str, user: CurrentUser, session: DbSession) -> Any:
    """One job's state."""
    return _job(await service.get_job(session, user, job_id))


async def _act(job_id: str, action: str, user: Any, session: Any, request: Request) -> Any:
    data_dir = request.app.state.settings.data_dir
    job = await service.act(session, user, job_id, action, _client(request), data_dir)
    request.app.state.jobs.wake()
    return _job(job)


@router.post("/{job_id}/cancel", summary="Cancel a job", response_model=Envelope[JobOut])
async def cancel_job(job_id: str, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Pending or paused: cancelled at once. Running: stops at its next check (``requested``)."""
    return await _act(job_id, "cancel", user, session, request)


@router.post("/{job_id}/pause", summary="Pause a job", response_model=Envelope[JobOut])
async def pause_job(job_id: str, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Checkpointable types only (409 otherwise); a running job pauses at its next check."""
    return await _act(job_id, "pause", user, session, request)


@router.post("/{job_id}/resume", summary="Resume a paused job", response_model=Envelope[JobOut])
async def resume_job(job_id: str, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Queue a paused job again; it continues from its checkpoint on any worker."""
    return await _act(job_id, "resume", user, session, request)


@router.post(
    "/{job_id}/retry", summary="Retry a failed or cancelled job", response_model=Envelope[JobOut]
)
async def retry_job(job_id: str, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Run a failed or cancelled job again from the start."""
    return await _act(job_id, "retry", user, session, request)


@router.delete("/{job_id}", status_code=204, summary="Delete a finished job")
async def delete_job(
    job_id: str, user: WriteUser, session: DbSession, request: Request
) -> Response:
    """Completed, failed or cancelled jobs only (409 otherwise)."""
    await service.delete_job(
        session, user, job_id, _client(request), request.app.state.settings.data_dir
    )
    return Response(status_code=204)


async def _enveloped_file(path: Path) -> AsyncIterator[bytes]:
    """``{"status": "success", "data": <file>}`` streamed without holding the file."""
    yield b'{"status":"success","data":'
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, 1 << 20):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)
    yield b"}"


@router.get("/{job_id}/result", summary="A job's result", response_model=Envelope[JobResult])
async def job_result(job_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    """The result, also when it was too large to keep on the job row (then streamed)."""
    job = await service.get_job(session, user, job_id)
    if job.result_ref:
        path = request.app.state.settings.data_dir / job.result_ref
        if not await asyncio.to_thread(path.is_file):
            raise JobResultMissing(f"the result file of job {job_id} is missing")
        return StreamingResponse(_enveloped_file(path), media_type="application/json")
    if job.status != JobStatus.COMPLETED:
        raise JobResultMissing(f"job {job_id} is {job.status}")
    return ok(job.result)


@router.get("/{job_id}/logs", summary="A job's logs", response_model=Page[JobLogOut])
async def job_logs(
    job_id: str,
    user: CurrentUser,
    session: DbSession,
    pagination: Pagination,
    level: Annotated[str | None, Query(pattern="^(?i)(debug|info|warning|error)$")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text contained")] = None,
) -> Any:
    """Kept log lines in order, filtered by level and text."""
    rows, total = await service.logs(session, user, job_id, pagination, level, q)
    return page(jsonable_encoder(rows), total, pagination)


@router.get(
    "/{job_id}/logs/download",
    summary="Download a job's logs as text",
    response_class=Response,  # the 200 is text; errors stay the JSON error envelope
    responses=file_responses("every kept line as <time> <LEVEL> <message>", "text/plain"),
)
async def download_logs(job_id: str, user: CurrentUser, session: DbSession) -> PlainTextResponse:
    """Every kept line as ``<time> <LEVEL> <message>``."""
    rows, _ = await service.logs(session, user, job_id, None)
    text = "".join(f"{r.ts.isoformat()} {r.level} {r.message}\n" for r in rows)
    headers = {"Content-Disposition": f'attachment; filename="job-{job_id}.log"'}
    return PlainTextResponse(text, headers=headers)


@router.post(
    "/{job_id}/ws-ticket",
    status_code=201,
    summary="A ticket to open the job's WebSocket",
    response_model=Envelope[WsTicketOut],
)
async def ws_ticket(job_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    """Single use, valid for ``QUANTLAB_WS_TICKET_TTL_SECONDS``: ``/ws/tasks/{id}?ticket=…``."""
    await service.get_job(session, user, job_id)
    ttl = request.app.state.settings.ws_ticket_ttl_seconds
    ticket, expires = await tickets.issue(session, job_id, user.id, ttl)
    return ok(
        {"ticket": ticket, "expires_at": expires, "url": f"/ws/tasks/{job_id}?ticket={ticket}"}
    )
