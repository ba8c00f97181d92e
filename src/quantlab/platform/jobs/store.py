"""Database access from worker processes (local pool and Celery alike).

Workers run synchronous job functions, while quantlab's drivers are async; a
:class:`WorkerStore` owns one event loop on a background thread and runs each query there.
Every state change is a guarded ``UPDATE … WHERE status = … AND worker = …`` so that a
job completes at most once and stale workers cannot overwrite a newer attempt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import psutil
from sqlalchemy import case, select, text, update

from quantlab.platform.db import Database, utcnow
from quantlab.platform.jobs.models import Job, JobLog
from quantlab.platform.jobs.status import JobStatus
from quantlab.platform.settings import Settings

T = TypeVar("T")

_SNAPSHOT_FIELDS = (
    "id",
    "type",
    "owner_id",
    "params",
    "status",
    "progress",
    "attempts",
    "max_attempts",
    "checkpoint_ref",
    "worker",
    "heartbeat_at",
    "control",
)


def worker_identity() -> str:
    """``host:pid`` of this process, recorded on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_is_gone(worker: str | None, heartbeat_age_s: float | None, stale_s: float) -> bool:
    """True when the process named ``worker`` is dead here, or its heartbeat is stale."""
    if worker is None:
        return True
    host, _, pid = worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            proc = psutil.Process(int(pid))
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if worker == worker_identity():
            return True  # this process is asking, so it is not running that job any more
    return heartbeat_age_s is None or heartbeat_age_s > stale_s


class WorkerStore:
    """The jobs table, seen from a worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.me = worker_identity()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="quantlab-job-db"
        )
        self._thread.start()
        self.db = Database(settings.db_url, pool_size=2)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the store's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        """Dispose of the engine and stop the loop."""
        self.call(self.db.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # --- queries ---------------------------------------------------------------------

    async def _guarded(self, job_id: str, statuses: tuple[str, ...], **values: Any) -> bool:
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(statuses), Job.worker == self.me)
                .values(updated_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _claim(self, job_id: str) -> dict[str, Any] | None:
        stale = self.settings.job_heartbeat_stale_seconds
        async with self.db.sessionmaker() as session:
            row = await session.get(Job, job_id)
            if row is None:
                return None
            now = utcnow()
            guard = [Job.id == job_id, Job.status == row.status]
            if row.status == JobStatus.RUNNING:
                age = (now - row.heartbeat_at).total_seconds() if row.heartbeat_at else None
                if not worker_is_gone(row.worker, age, stale):
                    return None  # a live worker has it; this delivery is a duplicate
                guard.append(Job.worker == row.worker)
            elif row.status != JobStatus.PENDING:
                return None
            result = await session.execute(
                update(Job)
                .where(*guard)
                .values(
                    status=JobStatus.RUNNING.value,
                    worker=self.me,
                    attempts=Job.attempts + 1,
                    started_at=row.started_at or now,
                    heartbeat_at=now,
                    dispatched_at=row.dispatched_at or now,
                    # a cancel requested before the claim stands (a paused job finishing)
                    control=case((Job.control == "cancel", "cancel"), else_=None),
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            await session.refresh(row)
            return {name: getattr(row, name) for name in _SNAPSHOT_FIELDS}

    async def _control(self, job_id: str, beat: bool) -> str | None:
        async with self.db.sessionmaker() as session:
            if beat:
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.worker == self.me)
                    .values(heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                await session.commit()
            control = await session.scalar(select(Job.control).where(Job.id == job_id))
            return control

    async def _log(self, job_id: str, level: str, message: str) -> bool:
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.log_count < self.settings.job_log_limit)
                .values(log_count=Job.log_count + 1)
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            session.add(JobLog(job_id=job_id, level=level, message=message[:4000]))
            await session.commit()
            return True

    async def _log_many(self, job_id: str, level: str, messages: list[str]) -> int:
        limit = self.settings.job_log_limit
        async with self.db.sessionmaker() as session:
            count = await session.scalar(select(Job.log_count).where(Job.id == job_id))
            keep = min(len(messages), limit - int(count or 0))
            if count is None or keep <= 0:
                return 0
            result = await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.log_count == count)
                .values(log_count=Job.log_count + keep)
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return 0
            now = utcnow()
            session.add_all(
                [JobLog(job_id=job_id, level=level, message=m[:4000], ts=now)
                 for m in messages[:keep]]
            )  # fmt: skip
            await session.commit()
            return keep

    async def warm(self) -> None:
        """Open a pooled connection so the first job does not pay for it."""
        async with self.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _beat_forever(self, job_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):  # a missed beat is retried next time
                await self._control(job_id, beat=True)

    def start_heartbeat(self, job_id: str) -> concurrent.futures.Future[None]:
        """Refresh the job's heartbeat in the background until the future is cancelled."""
        interval = max(self.settings.job_heartbeat_stale_seconds / 4.0, 0.25)
        return asyncio.run_coroutine_threadsafe(self._beat_forever(job_id, interval), self._loop)

    # --- sync API used by the job context and the executor -------------------------

    def claim(self, job_id: str) -> dict[str, Any] | None:
        """Take ``job_id`` for this process (``pending``, or ``running`` on a dead worker)."""
        return self.call(self._claim(job_id))

    def update_running(self, job_id: str, **values: Any) -> bool:
        """Write progress fields of a job this process runs."""
        values["heartbeat_at"] = utcnow()
        return self.call(self._guarded(job_id, (JobStatus.RUNNING.value,), **values))

    def finish(
        self, job_id: str, status: JobStatus, *, final_hook: bool = True, **values: Any
    ) -> bool:
        """Move a running job of this process to ``status``; False if it was not ours.
        A final status runs the type's ``on_final`` hook (``final_hook=False``: the caller
        knows the type has none)."""
        values.setdefault("finished_at", utcnow() if status != JobStatus.PAUSED else None)
        moved = self.call(
            self._guarded(
                job_id, (JobStatus.RUNNING.value,), status=status.value, control=None, **values
            )
        )
        if moved and final_hook and status != JobStatus.PAUSED:
            self.call(self._final(job_id))
        return moved

    async def _final(self, job_id: str) -> None:
        from quantlab.platform.jobs.final import run_final_hook

        async with self.db.sessionmaker() as session:
            await run_final_hook(session, job_id, self.settings.data_dir)

    def control(self, job_id: str, beat: bool = False) -> str | None:
        """The pause/cancel request on ``job_id`` (and refresh its heartbeat)."""
        return self.call(self._control(job_id, beat))

    def log(self, job_id: str, level: str, message: str) -> bool:
        """Keep one log line (False once the job's bound is reached)."""
        return self.call(self._log(job_id, level, message))

    def log_many(self, job_id: str, level: str, messages: list[str]) -> int:
        """Keep several log lines in one transaction; returns how many were kept (in order)."""
        return self.call(self._log_many(job_id, level, messages)) if messages else 0


def heartbeat_age_limit(settings: Settings) -> timedelta:
    """How old a heartbeat may be before its worker is presumed dead."""
    return timedelta(seconds=settings.job_heartbeat_stale_seconds)


_stores: dict[int, WorkerStore] = {}


def get_store(settings: Settings) -> WorkerStore:
    """This process's store (one per process: forked Celery children get their own)."""
    store = _stores.get(os.getpid())
    if store is None:
        store = _stores[os.getpid()] = WorkerStore(settings)
    return store
