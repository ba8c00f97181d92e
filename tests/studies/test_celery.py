"""A study fanned out over two real Celery workers (``quantlab worker`` processes, the local
Redis): the grid finishes, and when the process running one of its jobs is killed with
SIGKILL mid-study, every trial is still stored exactly once, equal to an in-process search."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from quantlab.platform.db import Database
from quantlab.platform.events import make_bus
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.runtime import JobRuntime
from tests.conftest import make_settings
from tests.helpers.datasets import store_dataset
from tests.platform.jobs.test_celery import _start_workers

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.timeout(420)]

DAYS, N = 1000, 40
SYMBOLS = [f"SZ{i:04d}" for i in range(N)]


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = np.round(10 * np.cumprod(1 + 0.02 * rng.normal(size=(DAYS, N)), axis=0), 4)
    dates = pd.bdate_range("2018-01-01", periods=DAYS)
    return pd.concat(
        [pd.DataFrame({"date": dates, "symbol": s, "open": close[:, j], "high": close[:, j],
                       "low": close[:, j], "close": close[:, j], "volume": 1e6})
         for j, s in enumerate(SYMBOLS)], ignore_index=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def celery_env(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from quantlab.platform import migrate

    data_dir = tmp_path_factory.mktemp("studies-celery")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    prefix = f"quantlab-test-{uuid.uuid4().hex[:8]}:"
    overrides = {"redis_url": redis_url, "redis_prefix": prefix, "job_runner": "celery",
                 "job_max_running": 4, "job_max_running_per_user": 4,
                 "job_heartbeat_stale_seconds": 120.0}  # fmt: skip
    settings = make_settings(data_dir, url, **overrides)
    env = {**os.environ, "QUANTLAB_ENV": "test", "QUANTLAB_DATA_DIR": str(data_dir),
           "QUANTLAB_DATABASE_URL": url, "QUANTLAB_REDIS_URL": redis_url,
           "QUANTLAB_REDIS_PREFIX": prefix, "QUANTLAB_LOG_LEVEL": "WARNING"}  # fmt: skip
    workers = await asyncio.to_thread(_start_workers, env, data_dir, 2)
    db = Database(settings.db_url)
    bus = make_bus(settings.redis_url, settings.redis_prefix)
    runtime = JobRuntime(settings, db, bus)
    await runtime.start()
    yield SimpleNamespace(state=SimpleNamespace(settings=settings, db=db), rt=runtime)
    await runtime.stop()
    await bus.close()
    await db.dispose()
    for proc in workers:
        proc.terminate()
    for proc in workers:
        try:
            proc.wait(10)
        except Exception:
            proc.kill()
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


async def test_fan_out_over_two_workers_with_one_killed(celery_env: Any) -> None:
    from quantlab.auth import service as auth_service
    from quantlab.engine.data import Panel
    from quantlab.engine.library import TEMPLATES
    from quantlab.engine.library.examples import template_spec
    from quantlab.engine.optimise import Goal, grid_search, space_from_params
    from quantlab.studies import service as study_service
    from quantlab.studies.models import StudyTrial
    from quantlab.studies.schemas import StudyCreate

    app, rt = celery_env, celery_env.rt
    frame = _frame()
    async with rt.db.sessionmaker() as session:
        user = await auth_service.create_user(
            session, app.state.settings, username=f"celery-{uuid.uuid4().hex[:8]}",
            password="correct horse battery staple 42",
        )  # fmt: skip
        await session.commit()
    owner = SimpleNamespace(id=user.id, is_admin=False)
    dataset_id = await store_dataset(app, user.id, frame, "fanout")
    ranges = {
        "fast": {"min": 11, "max": 60, "step": 1},
        "slow": {"min": 70, "max": 120, "step": 10},
    }
    body = StudyCreate.model_validate({
        "template": "dual_moving_average", "dataset_id": dataset_id, "preset": "rules_off",
        "parameters": ranges, "method": "grid", "chunk_size": 5, "run_as": "jobs",
        "workers": 2, "objectives": ["sharpe"],
    })  # fmt: skip
    async with rt.db.sessionmaker() as session:
        study, job = await study_service.create_study(
            session, owner, body, app.state.settings.data_dir
        )
    rt.wake()
    total = study.n_trials
    assert total == 300

    async def counts() -> tuple[int, int]:
        async with rt.db.sessionmaker() as session:
            n = await session.scalar(
                select(func.count()).where(StudyTrial.study_id == study.id))  # fmt: skip
            jobs = await session.scalar(
                select(func.count(func.distinct(StudyTrial.job_id)))
                .where(StudyTrial.study_id == study.id))  # fmt: skip
            return int(n or 0), int(jobs or 0)

    async def running_child() -> Job | None:
        """A running chunk job that has already written trials (a warm child): killing one
        that is still starting up would prove nothing about trials it wrote."""
        async with rt.db.sessionmaker() as session:
            writers = select(StudyTrial.job_id).where(StudyTrial.study_id == study.id)
            stmt = select(Job).where(Job.type == "studies.chunk", Job.status == "running")
            stmt = stmt.where(Job.worker.is_not(None), Job.id.in_(writers))
            return (await session.scalars(stmt)).first()

    deadline = time.monotonic() + 240
    victim = None
    while victim is None:
        done, _ = await counts()
        child = await running_child()
        if child is not None and 20 <= done:
            victim = child
        assert done < total, "the study finished before a worker could be killed"
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    os.kill(int(str(victim.worker).rpartition(":")[2]), signal.SIGKILL)
    killed_at, _ = await counts()

    while True:
        async with rt.db.sessionmaker() as session:
            parent = await session.get(Job, job.id, populate_existing=True)
            assert parent is not None
            status = parent.status
        if status in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)
    assert status == "completed", parent.error_message
    n, writers = await counts()
    assert killed_at < total and n == total and writers >= 2
    async with rt.db.sessionmaker() as session:
        stored = {t.number: t for t in await session.scalars(
            select(StudyTrial).where(StudyTrial.study_id == study.id))}  # fmt: skip
    assert sorted(stored) == list(range(total))  # every trial exactly once (keyed by number)

    wide = frame.pivot(index="date", columns="symbol")
    fields = {f: wide[f][SYMBOLS].to_numpy(dtype=np.float64)
              for f in ("open", "high", "low", "close", "volume")}  # fmt: skip
    panel = Panel.from_arrays(wide.index.to_numpy().astype("datetime64[D]"), SYMBOLS, fields)
    template = TEMPLATES["dual_moving_average"]
    spec = template_spec(template, dataset_id, preset="rules_off")
    space = space_from_params(template.parameters, template.constraints, ranges)
    seen: list[Any] = []
    grid_search(spec, space, panel, Goal.parse(["sharpe"]), on_trial=seen.append,
                params=template.parameters)  # fmt: skip
    assert len(seen) == total
    for t in seen:
        assert stored[t.number].params == t.params
        assert stored[t.number].values[0] == pytest.approx(t.values[0], rel=1e-12, abs=1e-12)
