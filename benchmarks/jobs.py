"""Jobs benchmark: dispatch latency, throughput and live-event latency, real components only.

    .venv/bin/python benchmarks/jobs.py            # 60 latency samples, 1,000 trivial jobs
    .venv/bin/python benchmarks/jobs.py --quick    # 20 samples, 200 jobs
    .venv/bin/python benchmarks/jobs.py --no-celery   # skip Celery (no Redis here)

L1  enqueue → running, local runner: commit a ``system.noop`` job, wake the dispatcher, stop
    the clock when the worker's ``started`` event (sent right after its claim) arrives.
    Peer: a bare ``ProcessPoolExecutor`` (spawn) submit → function start, no database.
L2  the same through Celery: the server publishes to Redis, a ``quantlab worker`` claims.
T   throughput: 1,000 ``system.noop`` jobs committed at once, time until all are completed
    (local pool of 2 and 2 Celery worker processes). Peer: the bare pool, same count.
E   event latency: ``report()`` in a job → JSON message read by a ``websockets`` client from
    a real ``quantlab serve`` (uvicorn) process, from the worker's timestamp to receipt.

Floors (issue 4, 2-core machine): L1 p50 < 50 ms, L2 p50 < 150 ms, E p99 < 100 ms.
Figures are noisy when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from quantlab.platform import migrate
from quantlab.platform.db import Database, new_id, utcnow
from quantlab.platform.events import job_channel, make_bus
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.runtime import JobRuntime
from quantlab.platform.settings import Settings

BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("QUANTLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "benchmark-secret-" + "x" * 40


def pct(values: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    a = np.asarray(values) * 1000.0
    return f"p50 {np.percentile(a, 50):7.1f} ms   p99 {np.percentile(a, 99):7.1f} ms   max {a.max():7.1f} ms"  # noqa: E501


def make(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test", "data_dir": data_dir, "log_level": "WARNING", "secret_key": SECRET,
        "job_max_running": 2, "job_max_running_per_user": 1024, "seed_demo": False,
    }  # fmt: skip
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def env_for(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "QUANTLAB_ENV": "test",
        "QUANTLAB_DATA_DIR": str(settings.data_dir),
        "QUANTLAB_DATABASE_URL": settings.db_url,
        "QUANTLAB_SECRET_KEY": SECRET,
        "QUANTLAB_REDIS_URL": settings.redis_url or "",
        "QUANTLAB_REDIS_PREFIX": settings.redis_prefix,
        "QUANTLAB_JOB_MAX_RUNNING": "2",
        "QUANTLAB_JOB_MAX_RUNNING_PER_USER": "1024",
        "QUANTLAB_LOG_LEVEL": "WARNING",
        "QUANTLAB_SEED_DEMO": "false",
    }


async def enqueue_latency(rt: JobRuntime, samples: int) -> list[float]:
    """Commit one job at a time; time from the commit to the job's ``started`` event."""
    out = []
    for i in range(samples + 3):
        async with rt.db.sessionmaker() as session:
            job = await job_service.enqueue(
                session, job_type="system.noop", params={}, owner_id="bench"
            )
            async with rt.bus.subscribe(job_channel(job.id)) as sub:
                if rt.settings.redis_url:
                    await asyncio.sleep(0.01)  # let SUBSCRIBE reach Redis first
                start = time.perf_counter()
                await session.commit()
                rt.wake()
                while True:
                    event = await sub.get(30)
                    if event is None:
                        raise RuntimeError("no started event within 30 s")
                    if event["type"] == "started":
                        break
                elapsed = time.perf_counter() - start
        if i >= 3:  # warm-up excluded
            out.append(elapsed)
        await asyncio.sleep(0.02)
    return out


async def throughput(rt: JobRuntime, count: int) -> float:
    """Seconds to complete ``count`` trivial jobs committed in one transaction."""
    now = utcnow()
    rows = [
        {"id": new_id(), "type": "system.noop", "owner_id": "bench-t", "params": {},
         "priority": 1, "status": "pending", "progress": 0.0, "attempts": 0, "max_attempts": 3,
         "log_count": 0, "created_at": now, "updated_at": now}
        for _ in range(count)
    ]  # fmt: skip
    async with rt.db.sessionmaker() as session:
        await session.execute(insert(Job), rows)
        await session.commit()
    start = time.perf_counter()
    rt.wake()
    ids = [r["id"] for r in rows]
    while True:
        async with rt.db.sessionmaker() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(ids), Job.status == "completed")
            )
        if done == count:
            return time.perf_counter() - start
        await asyncio.sleep(0.05)


def _mark(t0: float) -> float:
    return time.perf_counter() - t0


def _noop(_: int) -> None:
    return None


def pool_peer(samples: int, count: int) -> tuple[list[float], float]:
    """A bare spawn ProcessPoolExecutor: submit → start latency and ``count`` no-ops."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        list(pool.map(_noop, range(4)))
        lat = []
        for _ in range(samples):
            t0 = time.perf_counter()
            # perf_counter is system-wide (CLOCK_MONOTONIC) on Linux, so child - parent works
            lat.append(pool.submit(_started_at).result() - t0)
        start = time.perf_counter()
        list(pool.map(_noop, range(count), chunksize=1))
        return lat, time.perf_counter() - start


def _started_at() -> float:
    return time.perf_counter()


def start_celery_workers(settings: Settings, n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = open(settings.data_dir / f"worker{i}.log", "wb")
        procs.append(
            subprocess.Popen([str(BIN / "quantlab"), "worker", "--concurrency", "1"],
                             env=env_for(settings), cwd=settings.data_dir, stdout=log,
                             stderr=subprocess.STDOUT)
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(b" ready." in (settings.data_dir / f"worker{i}.log").read_bytes() for i in range(n)):
            return procs
        time.sleep(0.2)
    raise RuntimeError("celery workers did not start")


async def run_runtime(settings: Settings, samples: int, count: int) -> tuple[list[float], float]:
    db = Database(settings.db_url)
    bus = make_bus(settings.redis_url, settings.redis_prefix)
    rt = JobRuntime(settings, db, bus)
    await rt.start()
    try:
        if settings.job_runner == "local":
            while sum(1 for w in rt.runner.workers() if w["ready"]) < rt.runner.size:  # type: ignore[attr-defined]
                await asyncio.sleep(0.1)
        lat = await enqueue_latency(rt, samples)
        secs = await throughput(rt, count)
    finally:
        await rt.stop()
        await bus.close()
        await db.dispose()
    return lat, secs


async def event_latency(settings: Settings, samples: int) -> list[float]:
    """report() → websockets client of a real server process."""
    import httpx
    import websockets

    from quantlab.auth import service as auth_service
    from quantlab.auth import sessions as auth_sessions
    from quantlab.auth.tokens import TokenCodec

    db = Database(settings.db_url)
    async with db.sessionmaker() as session:
        user = await auth_service.create_user(
            session, settings, username=f"bench-{uuid.uuid4().hex[:6]}",
            password="benchmark password 123", role="researcher",
        )  # fmt: skip
        pair = await auth_sessions.issue_for(session, TokenCodec(settings), user)
    await db.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(settings.data_dir / "server.log", "wb")
    server = subprocess.Popen(
        [str(BIN / "quantlab"), "serve", "--no-migrate", "--port", str(port)],
        env=env_for(settings), cwd=settings.data_dir, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in range(600):
                try:
                    ready = await client.get("/api/ready")
                    if (
                        ready.status_code == 200
                        and ready.json()["data"]["checks"]["jobs"]["ready"] == 2
                    ):
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            steps = samples * 12 // 10 + 10
            body = {"type": "system.sleep", "params": {"steps": steps, "step_seconds": 0.1}}
            job = (await client.post("/api/tasks", headers=headers, json=body)).json()["data"]
            ticket = (
                await client.post(f"/api/tasks/{job['id']}/ws-ticket", headers=headers)
            ).json()["data"]["ticket"]
        lat = []
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/tasks/{job['id']}?ticket={ticket}"
        ) as ws:
            async for raw in ws:
                received = datetime.now(UTC)
                message = json.loads(raw)
                if message["type"] == "progress" and "ts" in message:
                    sent = datetime.fromisoformat(message["ts"])
                    lat.append((received - sent).total_seconds())
                if message["type"] == "completion":
                    break
        return lat[2:]
    finally:
        server.terminate()
        server.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-celery", action="store_true")
    args = parser.parse_args()
    samples, count = (20, 200) if args.quick else (60, 1000)
    root = Path(tempfile.mkdtemp(prefix="quantlab-bench-jobs-"))
    print(f"jobs benchmark: {samples} latency samples, {count} trivial jobs, {os.cpu_count()} CPUs")

    peer_lat, peer_secs = pool_peer(samples, count)

    local = make(root / "local")
    local.data_dir.mkdir(parents=True)
    migrate.upgrade(local.db_url)
    lat, secs = asyncio.run(run_runtime(local, samples, count))
    print(f"L1 enqueue→running  local runner        {pct(lat)}   (floor p50 < 50 ms)")
    print(f"   peer: bare ProcessPoolExecutor       {pct(peer_lat)}")
    print(f"T  {count} trivial jobs  local pool of 2  {secs:6.2f} s = {count / secs:7.1f} jobs/s")
    rate = count / peer_secs
    print(f"   peer: bare ProcessPoolExecutor       {peer_secs:6.2f} s = {rate:7.1f} jobs/s")

    if not args.no_celery:
        prefix = f"quantlab-bench-{uuid.uuid4().hex[:8]}:"
        celery = make(
            root / "celery", job_runner="celery", redis_url=REDIS_URL, redis_prefix=prefix
        )
        celery.data_dir.mkdir(parents=True)
        migrate.upgrade(celery.db_url)
        workers = start_celery_workers(celery, 2)
        try:
            lat, secs = asyncio.run(run_runtime(celery, samples, count))
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(20)
        print(f"L2 enqueue→running  Celery (Redis)      {pct(lat)}   (floor p50 < 150 ms)")
        print(
            f"T  {count} trivial jobs  2 Celery workers {secs:6.2f} s = {count / secs:7.1f} jobs/s"
        )

    served = make(root / "serve")
    served.data_dir.mkdir(parents=True)
    migrate.upgrade(served.db_url)
    lat = asyncio.run(event_latency(served, samples))
    print(
        f"E  report() → WebSocket client          {pct(lat)}   (floor p99 < 100 ms), n={len(lat)}"
    )


if __name__ == "__main__":
    main()
