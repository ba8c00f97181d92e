"""The server side of jobs: the dispatcher loop that applies limits and priorities, the
runner it feeds (local pool or Celery), crash handling and start-up recovery."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import and_, func, or_, select, update

from quantlab.platform.db import Database, utcnow
from quantlab.platform.events import EventBus, job_channel
from quantlab.platform.jobs.execute import completion_event
from quantlab.platform.jobs.final import run_final_hook
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.redact import redact_paths
from quantlab.platform.jobs.registry import JOB_TYPES, load_job_types
from quantlab.platform.jobs.status import JobStatus
from quantlab.platform.jobs.store import worker_is_gone
from quantlab.platform.logging import get_logger
from quantlab.platform.settings import Settings

log = get_logger("quantlab.jobs")

POLL_S = 0.5  # the dispatcher also wakes on every enqueue; this catches other processes' jobs
REAP_EVERY_S = 5.0
CANDIDATES = 500


class Runner(Protocol):
    """Where dispatched jobs run."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def capacity(self) -> int | None:
        """Jobs it can take now (None: no local bound)."""
        ...

    async def submit(self, job_id: str) -> bool: ...

    def workers(self) -> list[dict[str, Any]]: ...


class JobRuntime:
    """Dispatcher + runner of one API process (``app.state.jobs``)."""

    def __init__(self, settings: Settings, db: Database, bus: EventBus) -> None:
        self.settings = settings
        self.db = db
        self.bus = bus
        self.runner: Runner = self._make_runner()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._needs_recovery = False

    def _make_runner(self) -> Runner:
        if self.settings.job_runner == "celery":
            from quantlab.platform.jobs.celery_runner import CeleryRunner

            return CeleryRunner(self.settings)
        from quantlab.platform.jobs.local import LocalRunner

        size = self.settings.job_workers or self.settings.max_running_jobs
        return LocalRunner(self.settings, size, self._on_message)

    async def start(self) -> None:
        """Recover jobs left by a previous process, start the runner and the dispatcher."""
        load_job_types()
        try:
            await self.recover()
        except Exception as exc:  # the database may be down at start: serve and retry
            log.error("job_recovery_failed", error=str(exc)[:300])
            self._needs_recovery = True
        await self.runner.start()
        self._task = asyncio.create_task(self._loop())
        if self.runner.name == "celery" and self.settings.redis_url:
            self._listener = asyncio.create_task(self._listen_finished())

    async def _listen_finished(self) -> None:
        """Wake on every job a Celery worker finishes, so its slot is refilled at once."""
        from quantlab.platform.jobs.celery_runner import FINISHED_CHANNEL

        async with self.bus.subscribe(FINISHED_CHANNEL) as sub:
            while True:
                if await sub.get() is not None:
                    self.wake()

    async def stop(self) -> None:
        """Stop dispatching, then the runner."""
        for task in (self._task, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.runner.stop()

    def wake(self) -> None:
        """Dispatch now (call after committing a new or resumed job)."""
        self._wake.set()

    async def _loop(self) -> None:
        last_reap = 0.0
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            self._wake.clear()
            try:
                if self._needs_recovery:
                    await self.recover()
                    self._needs_recovery = False
                if loop.time() - last_reap >= REAP_EVERY_S:
                    last_reap = loop.time()
                    await self.reap(stale_only=True)
                await self.dispatch_once()
            except Exception as exc:  # a database hiccup must not end dispatching
                log.error("dispatch_failed", error=str(exc), exc_info=exc)

    async def dispatch_once(self) -> int:
        """Send waiting jobs to the runner within the global and per-user limits."""
        capacity = self.runner.capacity()
        if capacity == 0:
            return 0
        async with self.db.sessionmaker() as session:
            # Waiting jobs first: nearly every poll finds none, and then one query is all
            # it costs (every API worker polls twice a second).
            waiting = (
                await session.execute(
                    select(Job.id, Job.owner_id)
                    .where(Job.status == JobStatus.PENDING.value, Job.dispatched_at.is_(None))
                    .order_by(Job.priority.desc(), Job.created_at, Job.id)
                    .limit(CANDIDATES)
                )
            ).all()
            if not waiting:
                return 0
            in_flight = or_(
                Job.status == JobStatus.RUNNING.value,
                and_(Job.status == JobStatus.PENDING.value, Job.dispatched_at.is_not(None)),
            )
            rows = await session.execute(
                select(Job.owner_id, func.count()).where(in_flight).group_by(Job.owner_id)
            )
            per_user: dict[str, int] = {owner: n for owner, n in rows.all()}
            free = self.settings.max_running_jobs - sum(per_user.values())
            if capacity is not None:
                free = min(free, capacity)
            if free <= 0:
                return 0
            chosen: list[str] = []
            for job_id, owner in waiting:
                if per_user.get(owner, 0) >= self.settings.job_max_running_per_user:
                    continue
                claimed = await session.execute(
                    update(Job)
                    .where(
                        Job.id == job_id,
                        Job.status == JobStatus.PENDING.value,
                        Job.dispatched_at.is_(None),
                    )
                    .values(dispatched_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount:  # type: ignore[attr-defined]
                    chosen.append(job_id)
                    per_user[owner] = per_user.get(owner, 0) + 1
                    if len(chosen) >= free:
                        break
            await session.commit()
        for job_id in chosen:
            if not await self.runner.submit(job_id):
                await self._undispatch(job_id)
        return len(chosen)

    async def _undispatch(self, job_id: str) -> None:
        async with self.db.sessionmaker() as session:
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.PENDING.value)
                .values(dispatched_at=None)
            )
            await session.commit()

    async def _on_message(self, message: tuple[Any, ...]) -> None:
        """Events and crashes reported by local worker processes, in arrival order."""
        kind = message[0]
        if kind == "event":
            await self.bus.publish(job_channel(message[1]["job_id"]), message[1])
        elif kind in ("crash", "error"):
            await self.fail(message[1], "JOB_CRASHED", message[2])
        if kind in ("done", "error", "crash"):
            self.wake()

    async def fail(self, job_id: str, code: str, reason: str) -> bool:
        """Mark a pending or running job failed (guarded) and tell its live clients."""
        reason = redact_paths(reason)
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status.in_((JobStatus.RUNNING.value, JobStatus.PENDING.value)),
                )
                .values(
                    status=JobStatus.FAILED.value,
                    error_code=code,
                    error_message=reason,
                    finished_at=utcnow(),
                    control=None,
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            if result.rowcount:  # type: ignore[attr-defined]
                await run_final_hook(session, job_id, self.settings.data_dir)
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        error = {"code": code, "message": reason}
        await self.bus.publish(
            job_channel(job_id), completion_event(job_id, JobStatus.FAILED.value, error=error)
        )
        return True

    async def recover(self) -> None:
        """Start-up: jobs whose worker is gone are resumed (checkpointable) or failed."""
        if self.runner.name == "local":
            async with self.db.sessionmaker() as session:
                # the previous process's pool took these ids with it
                await session.execute(
                    update(Job)
                    .where(Job.status == JobStatus.PENDING.value, Job.dispatched_at.is_not(None))
                    .values(dispatched_at=None)
                )
                await session.commit()
        await self.reap(stale_only=False)

    async def reap(self, *, stale_only: bool) -> list[str]:
        """Requeue or fail running jobs whose worker died (stale heartbeat or dead pid)."""
        stale_s = self.settings.job_heartbeat_stale_seconds
        now = utcnow()
        async with self.db.sessionmaker() as session:
            query = select(Job.id, Job.type, Job.worker, Job.heartbeat_at).where(
                Job.status == JobStatus.RUNNING.value
            )
            if stale_only:
                query = query.where(Job.heartbeat_at < now - timedelta(seconds=stale_s))
            rows = (await session.execute(query)).all()
        handled = []
        for job_id, job_type, worker, beat in rows:
            age = (now - beat).total_seconds() if beat else None
            if not worker_is_gone(worker, age, stale_s):
                continue
            entry = JOB_TYPES.get(job_type)
            if entry is not None and entry.checkpointable:
                if await self._requeue(job_id, worker):
                    handled.append(job_id)
            elif await self.fail(job_id, "JOB_INTERRUPTED", "interrupted by restart"):
                handled.append(job_id)
        if handled:
            log.warning("jobs_recovered", job_ids=handled)
            self.wake()
        return handled

    async def _requeue(self, job_id: str, worker: str | None) -> bool:
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == JobStatus.RUNNING.value,
                    Job.worker == worker if worker is not None else Job.worker.is_(None),
                )
                .values(
                    status=JobStatus.PENDING.value,
                    dispatched_at=None,
                    message="resuming from checkpoint after its worker stopped",
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def readiness(self) -> dict[str, Any]:
        """The runner's state for ``/api/ready``."""
        workers = self.runner.workers()
        return {"runner": self.runner.name, "workers": workers}
