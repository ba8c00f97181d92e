"""Job actions for owners: enqueue, list, stats, cancel, pause, resume, retry, delete, logs."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.context import job_dir
from quantlab.platform.jobs.final import run_final_hook
from quantlab.platform.jobs.models import Job, JobLog
from quantlab.platform.jobs.registry import get_job_type, load_job_types
from quantlab.platform.jobs.status import (
    TERMINAL,
    IllegalTransition,
    JobStatus,
    require_transition,
)
from quantlab.platform.ownership import Principal, get_owned, visible
from quantlab.tasks.exceptions import JobNotFinished, JobNotFound, JobNotPausable


async def create_job(
    session: AsyncSession,
    user: Principal,
    job_type: str,
    params: dict[str, Any],
    priority: int,
    client: str | None,
) -> Job:
    """Validate (type submittable, params, ownership of the objects named) and enqueue."""
    params = await job_service.validate_submission(session, user, job_type, params)
    job = await job_service.enqueue(
        session, job_type=job_type, params=params, owner_id=user.id, priority=priority
    )
    _audit(session, "job.create", user, job, client, {"type": job.type})
    await session.commit()
    return job


async def list_jobs(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    job_type: str | None = None,
    status: JobStatus | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[list[Job], int]:
    """The caller's jobs, newest first, filtered."""
    query = visible(select(Job), Job, user)
    if job_type:
        query = query.where(Job.type == job_type)
    if status:
        query = query.where(Job.status == status.value)
    if created_from:
        query = query.where(Job.created_at >= created_from)
    if created_to:
        query = query.where(Job.created_at < created_to)
    return await paginate(session, query, params, Job.created_at.desc(), Job.id)


async def stats(session: AsyncSession, user: Principal) -> dict[str, Any]:
    """Counts of the caller's jobs per status and per type."""
    base = visible(select(Job), Job, user).subquery()
    by_status: dict[str, int] = dict(
        (await session.execute(select(base.c.status, func.count()).group_by(base.c.status))).all()
    )
    by_type: dict[str, int] = dict(
        (await session.execute(select(base.c.type, func.count()).group_by(base.c.type))).all()
    )
    return {"total": sum(by_status.values()), "by_status": by_status, "by_type": by_type}


async def get_job(session: AsyncSession, user: Principal, job_id: str, write: bool = False) -> Job:
    """One of the caller's jobs (404 otherwise)."""
    return await get_owned(session, Job, job_id, user, write=write, not_found=JobNotFound)


async def _move(session: AsyncSession, job: Job, action: str, **values: Any) -> None:
    """Guarded update: applies only if the job is still in the status we checked."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == job.status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise IllegalTransition(f"the job changed state while trying to {action} it; retry")


async def act(
    session: AsyncSession,
    user: Principal,
    job_id: str,
    action: str,
    client: str | None,
    data_dir: Path | None = None,
) -> Job:
    """Apply ``action`` (cancel, pause, resume, retry) to a job, or 409. A cancel that ends
    the job at once runs its type's ``on_final`` hook (given the ``data_dir``)."""
    job = await get_job(session, user, job_id, write=True)
    source = job.status
    if action == "cancel":
        if source == JobStatus.RUNNING:
            await _move(session, job, action, control="cancel")
        elif source == JobStatus.PAUSED and job.checkpoint_ref and _finishes_on_cancel(job):
            # one last attempt from the checkpoint: it sees the cancel and keeps what it did
            await _move(session, job, action, status="pending", dispatched_at=None,
                        control="cancel")  # fmt: skip
        else:
            require_transition(source, JobStatus.CANCELLED, action)
            await _move(session, job, action, status="cancelled", finished_at=_now(), control=None)
    elif action == "pause":
        load_job_types()
        if not get_job_type(job.type).checkpointable:
            raise JobNotPausable(f"jobs of type {job.type} cannot be paused")
        if source == JobStatus.RUNNING:
            await _move(session, job, action, control="pause")
        else:
            require_transition(source, JobStatus.PAUSED, action)
            await _move(session, job, action, status="paused", dispatched_at=None)
    elif action == "resume":
        if source != JobStatus.PAUSED:
            raise IllegalTransition(f"cannot resume a job that is {source}")
        await _move(session, job, action, status="pending", dispatched_at=None, control=None)
    elif action == "retry":
        if source not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise IllegalTransition(f"cannot retry a job that is {source}")
        await _move(
            session,
            job,
            action,
            status="pending",
            dispatched_at=None,
            control=None,
            attempts=0,
            progress=0.0,
            stage=None,
            message=None,
            current=None,
            eta_seconds=None,
            error_code=None,
            error_message=None,
            result=None,
            result_ref=None,
            checkpoint_ref=None,
            started_at=None,
            finished_at=None,
            worker=None,
        )
    else:  # pragma: no cover - the router only passes the four actions
        raise ValueError(action)
    _audit(session, f"job.{action}", user, job, client, {"from": source})
    await session.commit()
    if data_dir is not None:
        await run_final_hook(session, job.id, data_dir)
    await session.refresh(job)
    return job


def _finishes_on_cancel(job: Job) -> bool:
    load_job_types()
    return get_job_type(job.type).finish_on_cancel


async def delete_job(
    session: AsyncSession, user: Principal, job_id: str, client: str | None, data_dir: Any
) -> None:
    """Delete a finished job, its logs and its files."""
    job = await get_job(session, user, job_id, write=True)
    if job.status not in TERMINAL:
        raise JobNotFinished(f"job {job_id} is {job.status}; cancel it first")
    await session.execute(delete(JobLog).where(JobLog.job_id == job.id))
    result = await session.execute(delete(Job).where(Job.id == job.id, Job.status == job.status))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise IllegalTransition("the job changed state while deleting it; retry")
    _audit(session, "job.delete", user, job, client, {"type": job.type})
    await session.commit()
    shutil.rmtree(job_dir(data_dir, job.id), ignore_errors=True)


async def logs(
    session: AsyncSession,
    user: Principal,
    job_id: str,
    params: PageParams | None,
    level: str | None = None,
    text: str | None = None,
) -> tuple[list[JobLog], int]:
    """A job's kept log lines in order, filtered by level and text (all lines if no page)."""
    await get_job(session, user, job_id)
    query = select(JobLog).where(JobLog.job_id == job_id)
    if level:
        query = query.where(JobLog.level == level.upper())
    if text:
        query = query.where(JobLog.message.contains(text, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(JobLog.id)
    if params is not None:
        query = query.offset(params.offset).limit(params.size)
    return list(await session.scalars(query)), int(total or 0)


def _now() -> datetime:
    from quantlab.platform.db import utcnow

    return utcnow()


def _audit(
    session: AsyncSession,
    action: str,
    user: Principal,
    job: Job,
    client: str | None,
    details: dict[str, Any],
) -> None:
    audit.record(
        session,
        action,
        actor_id=user.id,
        resource_type="job",
        resource_id=job.id,
        details=details,
        client_address=client,
    )
