"""The Celery runner against real ``quantlab worker`` processes and the local Redis:
progress events over Redis pub/sub, pause/resume on another worker, cancel, and a worker
process killed with SIGKILL mid-job whose job is picked up again and completes once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from quantlab.platform.db import Database
from quantlab.platform.events import job_channel, make_bus
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.runtime import JobRuntime
from quantlab.tasks import service as task_service
from tests.conftest import make_settings
from tests.helpers.datasets import Owner

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.timeout(180)]

BIN = Path(sys.executable).parent


def _start_workers(env: dict[str, str], cwd: Path, count: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(count):
        log = open(cwd / f"worker{i}.log", "wb")
        procs.append(
            subprocess.Popen(
                [str(BIN / "quantlab"), "worker", "--concurrency", "1", "--loglevel", "INFO"],
                env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if all(b" ready." in (cwd / f"worker{i}.log").read_bytes() for i in range(count)):
            return procs
        time.sleep(0.2)
    raise AssertionError("celery workers did not become ready")


@pytest.fixture(scope="module")
async def celery_runtime(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from quantlab.platform import migrate

    data_dir = tmp_path_factory.mktemp("celery")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    prefix = f"quantlab-test-{uuid.uuid4().hex[:8]}:"
    overrides = {
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "job_runner": "celery",
        "job_max_running": 4,
        "job_max_running_per_user": 4,
    }
    settings = make_settings(data_dir, url, **overrides)
    env = {
        **os.environ,
        "QUANTLAB_ENV": "test",
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_DATABASE_URL": url,
        "QUANTLAB_REDIS_URL": redis_url,
        "QUANTLAB_REDIS_PREFIX": prefix,
        "QUANTLAB_LOG_LEVEL": "WARNING",
    }
    workers = await asyncio.to_thread(_start_workers, env, data_dir, 2)
    db = Database(settings.db_url)
    bus = make_bus(settings.redis_url, settings.redis_prefix)
    runtime = JobRuntime(settings, db, bus)
    await runtime.start()
    yield runtime
    await runtime.stop()
    await bus.close()
    await db.dispose()
    for proc in workers:
        proc.terminate()
    for proc in workers:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


async def _add(rt: Any, job_type: str, owner: str = "celery-user", **params: Any) -> str:
    async with rt.db.sessionmaker() as session:
        job = await job_service.enqueue(session, job_type=job_type, params=params, owner_id=owner)
        await session.commit()
    rt.wake()
    return job.id


async def _job(rt: Any, job_id: str) -> Job:
    async with rt.db.sessionmaker() as session:
        row = (await session.execute(select(Job).where(Job.id == job_id))).scalar_one()
        return row


async def _wait(rt: Any, job_id: str, status: str, pred: Any = None, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        row = await _job(rt, job_id)
        if row.status == status and (pred is None or pred(row)):
            return row
        assert time.monotonic() < deadline, (row.status, row.progress, row.error_message)
        await asyncio.sleep(0.05)


async def test_progress_events_arrive_over_redis(celery_runtime: Any) -> None:
    rt = celery_runtime
    job_id = await _add(rt, "system.sleep", steps=5, step_seconds=0.05, log_every=5)
    events: list[dict[str, Any]] = []
    async with rt.bus.subscribe(job_channel(job_id)) as sub:
        while True:
            event = await sub.get(30)
            assert event is not None, events
            events.append(event)
            if event["type"] == "completion":
                break
    row = await _wait(rt, job_id, "completed")
    assert row.result == {"steps": 5, "resumed_from": 0, "attempt": 1}
    progress = [e["data"]["percentage"] for e in events if e["type"] == "progress"]
    assert progress and progress == sorted(progress) and progress[-1] == 100.0
    assert [e["data"]["message"] for e in events if e["type"] == "log"] == ["step 5 of 5"]


async def test_pause_resume_and_cancel(celery_runtime: Any) -> None:
    rt = celery_runtime
    owner = Owner("celery-user")
    job_id = await _add(rt, "system.sleep", steps=40, step_seconds=0.05)
    await _wait(rt, job_id, "running", lambda r: r.progress >= 0.1)
    async with rt.db.sessionmaker() as session:
        await task_service.act(session, owner, job_id, "pause", None)
    paused = await _wait(rt, job_id, "paused")
    assert paused.checkpoint_ref is not None
    async with rt.db.sessionmaker() as session:
        await task_service.act(session, owner, job_id, "resume", None)
    rt.wake()
    done = await _wait(rt, job_id, "completed")
    assert done.attempts == 2 and 0 < done.result["resumed_from"] < 40

    busy = await _add(rt, "system.busy", seconds=30)
    await _wait(rt, busy, "running")
    async with rt.db.sessionmaker() as session:
        await task_service.act(session, owner, busy, "cancel", None)
    cancelled = await _wait(rt, busy, "cancelled", timeout=15)
    assert cancelled.finished_at is not None


async def test_sigkill_mid_job_is_picked_up_again_and_completes_once(
    celery_runtime: Any,
) -> None:
    rt = celery_runtime
    job_id = await _add(rt, "system.sleep", steps=30, step_seconds=0.1)
    completions = []

    async def watch() -> None:
        async with rt.bus.subscribe(job_channel(job_id)) as sub:
            while True:
                event = await sub.get(60)
                if event is None:
                    return
                if event["type"] == "completion":
                    completions.append(event)

    watcher = asyncio.create_task(watch())
    running = await _wait(rt, job_id, "running", lambda r: r.progress >= 0.1)
    assert running.worker is not None
    pid = running.worker.rpartition(":")[2]
    os.kill(int(pid), signal.SIGKILL)
    done = await _wait(rt, job_id, "completed", timeout=90)
    await asyncio.sleep(1.0)  # a duplicate completion would arrive in this window
    watcher.cancel()
    assert done.attempts == 2
    assert done.worker != running.worker
    assert done.result["attempt"] == 2
    assert [c["data"]["status"] for c in completions] == ["completed"]


RABBITMQ_URL = os.environ.get("QUANTLAB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


async def test_rabbitmq_broker_runs_jobs(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import kombu

    from quantlab.platform import migrate
    from tests.conftest import service_missing

    try:
        with kombu.Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        service_missing("RabbitMQ", f"{RABBITMQ_URL}: {exc}")
    data_dir = tmp_path_factory.mktemp("amqp")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    prefix = f"quantlab-test-{uuid.uuid4().hex[:8]}:"
    settings = make_settings(
        data_dir, url, redis_url=redis_url, redis_prefix=prefix, job_runner="celery",
        broker_url=RABBITMQ_URL,
    )  # fmt: skip
    env = {
        **os.environ,
        "QUANTLAB_ENV": "test",
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_DATABASE_URL": url,
        "QUANTLAB_REDIS_URL": redis_url,
        "QUANTLAB_REDIS_PREFIX": prefix,
        "QUANTLAB_BROKER_URL": RABBITMQ_URL,
        "QUANTLAB_LOG_LEVEL": "WARNING",
    }
    (worker,) = await asyncio.to_thread(_start_workers, env, data_dir, 1)
    db = Database(settings.db_url)
    bus = make_bus(settings.redis_url, settings.redis_prefix)
    rt = JobRuntime(settings, db, bus)
    await rt.start()
    try:
        job_id = await _add(rt, "system.sleep", steps=3, step_seconds=0.05)
        done = await _wait(rt, job_id, "completed")
        assert done.result == {"steps": 3, "resumed_from": 0, "attempt": 1}
    finally:
        await rt.stop()
        await bus.close()
        await db.dispose()
        worker.terminate()
        worker.wait(10)
        # the per-run queue is left empty; remove it from the broker
        with kombu.Connection(RABBITMQ_URL) as conn:
            conn.default_channel.queue_delete(f"{prefix}jobs")  # type: ignore[attr-defined]
