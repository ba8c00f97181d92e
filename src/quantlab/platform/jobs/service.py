"""Enqueueing jobs (for every domain) and the one JSON view of a job row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.jobs.access import check_owned_params
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.registry import get_job_type, submittable_type, validate_params
from quantlab.platform.jobs.status import TERMINAL, JobStatus
from quantlab.platform.ownership import Principal


async def validate_submission(
    session: AsyncSession, user: Principal, job_type: str, params: dict[str, Any] | None
) -> dict[str, Any]:
    """Params of a job a user asks for directly (``/api/tasks``, schedules): the type must
    be user-submittable (422 ``JOB_TYPE_INTERNAL``), the params valid (422) and every object
    they name usable by ``user`` (the domain's 404, or 403). Returns the validated params."""
    entry = submittable_type(job_type)
    validated = validate_params(entry, params)
    await check_owned_params(session, entry, validated, user)
    return validated.model_dump(mode="json")


async def enqueue(
    session: AsyncSession,
    *,
    job_type: str,
    params: dict[str, Any] | None,
    owner_id: str,
    priority: int = 1,
    schedule_id: str | None = None,
) -> Job:
    """Validate ``params`` for ``job_type`` (404/422) and add a pending job to ``session``.

    The caller commits, then wakes the dispatcher (``request.app.state.jobs.wake()``);
    the dispatcher also polls, so a job added by another process starts within a second.
    """
    entry = get_job_type(job_type)
    validated = validate_params(entry, params)
    job = Job(
        type=entry.name,
        owner_id=owner_id,
        params=validated.model_dump(mode="json"),
        priority=priority,
        status=JobStatus.PENDING.value,
        progress=0.0,
        attempts=0,
        log_count=0,
        schedule_id=schedule_id,
    )
    session.add(job)
    await session.flush()
    return job


async def row_statuses(
    session: AsyncSession, rows: Sequence[Any], recorded: Callable[[Any], bool]
) -> list[str]:
    """The status of each domain row with a ``job_id`` (``pending`` without a job), and
    rows whose job has ended but whose outcome (``recorded``) is not seen yet read again:
    a job ends only after its run committed the outcome to the row, and each statement may
    see a newer snapshot than the one the row was read in."""
    found = await statuses(session, (r.job_id for r in rows))
    out = [found.get(r.job_id or "", JobStatus.PENDING.value) for r in rows]
    for row, status in zip(rows, out, strict=True):
        if status in TERMINAL and not recorded(row):
            await session.refresh(row)
    return out


async def statuses(session: AsyncSession, job_ids: Iterable[str | None]) -> dict[str, str]:
    """The status of each job (by id, one query): the one record of a run's status, which
    domain rows (backtests, evaluations, imports) read instead of keeping a copy. Ids of
    missing jobs are left out."""
    ids = sorted({i for i in job_ids if i})
    if not ids:
        return {}
    rows = await session.execute(select(Job.id, Job.status).where(Job.id.in_(ids)))
    return {str(i): str(s) for i, s in rows.all()}


def job_view(job: Job) -> dict[str, Any]:
    """A job as clients see it (also the WebSocket ``connected`` snapshot)."""
    entry_terminal = job.status in TERMINAL
    return {
        "id": job.id,
        "type": job.type,
        "owner_id": job.owner_id,
        "params": job.params,
        "priority": job.priority,
        "status": job.status,
        "progress": job.progress,
        "percentage": round(job.progress * 100.0, 3),
        "stage": job.stage,
        "message": job.message,
        "current": job.current,
        "eta_seconds": None if entry_terminal else job.eta_seconds,
        "metrics": job.metrics,
        "attempts": job.attempts,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "result": job.result,
        "result_ref": job.result_ref,
        "has_checkpoint": job.checkpoint_ref is not None,
        "requested": job.control,
        "schedule_id": job.schedule_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "updated_at": job.updated_at,
    }
