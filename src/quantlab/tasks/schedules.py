"""Recurring jobs: CRUD of cron schedules and the loop that enqueues their jobs when due.

Each due schedule is claimed with a guarded ``UPDATE … WHERE next_run_at = <seen>`` in the
same transaction that adds its job, so several API processes never enqueue a run twice."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform import audit
from quantlab.platform.db import Database, paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.registry import submittable_type
from quantlab.platform.logging import get_logger
from quantlab.platform.ownership import Principal, get_owned, visible
from quantlab.tasks.exceptions import InvalidCron, ScheduleNotFound
from quantlab.tasks.models import JobSchedule

log = get_logger("quantlab.tasks.schedules")

TICK_S = 1.0


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` at which ``cron`` fires in ``timezone`` (UTC)."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCron(f"unknown time zone {timezone!r}") from None
    if not croniter.is_valid(cron):
        raise InvalidCron(f"invalid cron expression {cron!r}")
    fire: datetime = croniter(cron, after.astimezone(zone)).get_next(datetime)
    return fire.astimezone(ZoneInfo("UTC"))


async def create(
    session: AsyncSession, user: Principal, body: Any, client: str | None
) -> JobSchedule:
    """Add a schedule after validating its type, params and cron expression."""
    params = await job_service.validate_submission(session, user, body.job_type, body.params)
    row = JobSchedule(
        owner_id=user.id,
        name=body.name,
        job_type=body.job_type,
        params=params,
        priority=body.priority,
        cron=body.cron,
        timezone=body.timezone,
        enabled=body.enabled,
        next_run_at=next_fire(body.cron, body.timezone, utcnow()),
    )
    session.add(row)
    await session.flush()
    _audit(session, "schedule.create", user, row, client)
    await session.commit()
    return row


async def list_(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[list[JobSchedule], int]:
    """The caller's schedules by name."""
    query = visible(select(JobSchedule), JobSchedule, user)
    return await paginate(session, query, params, JobSchedule.name, JobSchedule.id)


async def get(
    session: AsyncSession, user: Principal, schedule_id: str, write: bool = False
) -> JobSchedule:
    """One of the caller's schedules (404 otherwise)."""
    return await get_owned(
        session, JobSchedule, schedule_id, user, write=write, not_found=ScheduleNotFound
    )


async def update_(
    session: AsyncSession, user: Principal, schedule_id: str, body: Any, client: str | None
) -> JobSchedule:
    """Change a schedule; the next run is recomputed from the (new) cron expression."""
    row = await get(session, user, schedule_id, write=True)
    changes = body.model_dump(exclude_unset=True)
    if "params" in changes:
        changes["params"] = await job_service.validate_submission(
            session, user, row.job_type, changes["params"]
        )
    for key, value in changes.items():
        if value is not None:
            setattr(row, key, value)
    row.next_run_at = next_fire(row.cron, row.timezone, utcnow())
    _audit(session, "schedule.update", user, row, client, sorted(changes))
    await session.commit()
    await session.refresh(row)
    return row


async def delete(
    session: AsyncSession, user: Principal, schedule_id: str, client: str | None
) -> None:
    """Remove a schedule (jobs it already enqueued stay)."""
    row = await get(session, user, schedule_id, write=True)
    _audit(session, "schedule.delete", user, row, client)
    await session.delete(row)
    await session.commit()


async def fire_due(db: Database, now: datetime | None = None) -> list[str]:
    """Enqueue one job for every enabled schedule that is due; returns the new job ids."""
    now = now or utcnow()
    created: list[str] = []
    async with db.sessionmaker() as session:
        due = list(
            await session.scalars(
                select(JobSchedule).where(
                    JobSchedule.enabled.is_(True), JobSchedule.next_run_at <= now
                )
            )
        )
        for row in due:
            seen = row.next_run_at
            claimed = await session.execute(
                update(JobSchedule)
                .where(JobSchedule.id == row.id, JobSchedule.next_run_at == seen)
                .values(next_run_at=next_fire(row.cron, row.timezone, now), last_run_at=now)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue  # another process fired it
            try:
                # the type may have become internal since; the objects named are checked
                # again, as the schedule's owner, when the job runs
                submittable_type(row.job_type)
                job = await job_service.enqueue(
                    session,
                    job_type=row.job_type,
                    params=row.params,
                    owner_id=row.owner_id,
                    priority=row.priority,
                    schedule_id=row.id,
                )
            except Exception as exc:  # a type removed since: skip this run, keep the schedule
                log.warning("schedule_enqueue_failed", schedule_id=row.id, error=str(exc))
                continue
            await session.execute(
                update(JobSchedule).where(JobSchedule.id == row.id).values(last_job_id=job.id)
            )
            created.append(job.id)
        await session.commit()
    return created


async def run_scheduler(db: Database, wake: Any) -> None:
    """Fire due schedules every second (and purge old ws tickets hourly) until cancelled."""
    from quantlab.tasks import tickets

    ticks = 0
    while True:
        try:
            if await fire_due(db):
                wake()
            if ticks % 3600 == 0:
                await tickets.purge_expired(db)
        except Exception as exc:  # a database hiccup must not end scheduling
            log.warning("scheduler_tick_failed", error=str(exc))
        ticks += 1
        await asyncio.sleep(TICK_S)


def _audit(
    session: AsyncSession,
    action: str,
    user: Principal,
    row: JobSchedule,
    client: str | None,
    changed: list[str] | None = None,
) -> None:
    details: dict[str, Any] = {"job_type": row.job_type, "cron": row.cron}
    if changed is not None:
        details["changed"] = changed
    audit.record(
        session,
        action,
        actor_id=user.id,
        resource_type="job_schedule",
        resource_id=row.id,
        details=details,
        client_address=client,
    )
