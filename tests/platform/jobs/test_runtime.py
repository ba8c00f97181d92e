"""The dispatcher and local pool without HTTP: priority/FIFO order, per-user limits,
start-up recovery of jobs left running, and guarded transitions."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from quantlab.platform.db import Database
from quantlab.platform.events import InProcessBus
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.local import WORKER_NICENESS
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.runtime import JobRuntime
from quantlab.platform.jobs.status import (
    TRANSITIONS,
    IllegalTransition,
    JobStatus,
    can_transition,
    require_transition,
)
from tests.platform.jobs.conftest import runtime_settings

pytestmark = pytest.mark.timeout(120)


def test_transition_table_is_the_documented_one() -> None:
    assert can_transition("pending", "running") and can_transition("paused", "pending")
    assert not can_transition("completed", "pending")
    assert not can_transition("cancelled", "running")
    assert TRANSITIONS[JobStatus.COMPLETED] == frozenset()
    with pytest.raises(IllegalTransition) as err:
        require_transition("completed", "cancelled", "cancel")
    assert err.value.status == 409 and "completed" in err.value.message


async def _add(db: Database, job_type: str, owner: str, priority: int = 1, **params: Any) -> str:
    async with db.sessionmaker() as session:
        job = await job_service.enqueue(
            session, job_type=job_type, params=params, owner_id=owner, priority=priority
        )
        await session.commit()
        return job.id


async def _wait(db: Database, ids: list[str], statuses: set[str], timeout: float = 60) -> list[Job]:
    deadline = time.monotonic() + timeout
    while True:
        async with db.sessionmaker() as session:
            rows = list(await session.scalars(select(Job).where(Job.id.in_(ids))))
        if len(rows) == len(ids) and all(r.status in statuses for r in rows):
            return sorted(rows, key=lambda r: ids.index(r.id))
        assert time.monotonic() < deadline, [(r.id, r.status) for r in rows]
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def runtime(jobs_db: tuple[Path, str]) -> Any:
    settings = runtime_settings(jobs_db, job_max_running=2, job_max_running_per_user=1)
    db = Database(settings.db_url)
    rt = JobRuntime(settings, db, InProcessBus())
    await rt.start()
    yield rt
    await rt.stop()
    await db.dispose()


async def test_priority_then_fifo_with_one_slot(runtime: Any) -> None:
    db = runtime.db
    runtime.settings.job_max_running = 1
    try:
        # queued while the slot is busy, so the dispatcher sees all of them at once
        blocker = await _add(db, "system.busy", "u-order", seconds=1.5)
        runtime.wake()
        await _wait(db, [blocker], {"running"})
        ids = [
            await _add(db, "system.noop", f"u-{i}", priority=p)
            for i, p in enumerate([1, 3, 1, 0, 3])
        ]
        rows = await _wait(db, ids, {"completed"})
    finally:
        runtime.settings.job_max_running = 2
    assert all(r.started_at is not None for r in rows)
    order = [r.id for r in sorted(rows, key=lambda r: r.started_at)]  # type: ignore[arg-type,return-value]
    assert order == [ids[1], ids[4], ids[0], ids[2], ids[3]]


async def test_per_user_limit(runtime: Any) -> None:
    db = runtime.db
    first = await _add(db, "system.busy", "alice", seconds=1.0)
    second = await _add(db, "system.busy", "alice", seconds=0.1)
    other = await _add(db, "system.sleep", "bob", steps=1, step_seconds=0.1)
    runtime.wake()
    rows = await _wait(db, [first, second, other], {"completed"})
    by_id: dict[str, Any] = {r.id: r for r in rows}
    # bob did not wait for alice's second job; alice's second waited for her first
    assert by_id[other].started_at < by_id[first].finished_at
    assert by_id[second].started_at >= by_id[first].finished_at


async def test_completion_is_guarded(runtime: Any) -> None:
    db = runtime.db
    job_id = await _add(db, "system.noop", "carol", value=1)
    runtime.wake()
    await _wait(db, [job_id], {"completed"})
    # a late crash report for a completed job changes nothing
    assert await runtime.fail(job_id, "JOB_CRASHED", "late") is False
    async with db.sessionmaker() as session:
        again = await session.get(Job, job_id)
    assert again is not None and again.status == "completed" and again.error_code is None


async def test_workers_yield_the_cpu_to_the_server(runtime: Any) -> None:
    # a worker's start-up and its jobs must not delay requests: lower priority, from the
    # start of the process (the imports are most of a worker's start-up)
    deadline = time.monotonic() + 60
    while not all(w["ready"] for w in runtime.runner.workers()):
        assert time.monotonic() < deadline, runtime.runner.workers()
        await asyncio.sleep(0.05)
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS, 19)
    for worker in runtime.runner.workers():
        assert os.getpriority(os.PRIO_PROCESS, worker["pid"]) == expected
    job_id = await _add(runtime.db, "system.noop", "dave", value=2)
    runtime.wake()
    await _wait(runtime.db, [job_id], {"completed"})  # and they still run jobs


async def test_restart_resumes_checkpointable_and_fails_others(jobs_db: tuple[Path, str]) -> None:
    settings = runtime_settings(jobs_db, job_max_running=2, job_max_running_per_user=2)
    db = Database(settings.db_url)
    first = JobRuntime(settings, db, InProcessBus())
    await first.start()
    resumable = await _add(db, "system.sleep", "dave", steps=20, step_seconds=0.05)
    plain = await _add(db, "system.busy", "dave", seconds=60)
    first.wake()
    await _wait(db, [resumable, plain], {"running"})
    async with db.sessionmaker() as session:
        # a checkpoint as the job would have written it (every few seconds)
        await session.execute(update(Job).where(Job.id == resumable).values(progress=0.25))
        await session.commit()
    await first.stop()  # the server goes away with both jobs running
    rows = await _wait(db, [resumable, plain], {"running"})
    assert all(r.status == "running" for r in rows)

    # one worker is enough for the one resumed job
    second = JobRuntime(settings.model_copy(update={"job_workers": 1}), db, InProcessBus())
    await second.start()
    try:
        rows = await _wait(db, [resumable, plain], {"completed", "failed"})
    finally:
        await second.stop()
        await db.dispose()
    done, failed = rows
    assert done.status == "completed" and done.attempts == 2
    assert failed.status == "failed" and failed.error_code == "JOB_INTERRUPTED"
    assert failed.error_message == "interrupted by restart"
