"""The ``models.train`` job through the real worker entry point (``execute_job``) on its own
SQLite database: progress per boosting round with the valid loss, and a cancel requested
mid-training that stops LightGBM between rounds and marks the run cancelled."""

from __future__ import annotations

import asyncio
import os
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from quantlab.platform.jobs import store as job_store
from tests.conftest import TEST_PASSWORD, make_settings
from tests.helpers.datasets import Owner, store_dataset
from tests.ml.test_router import market_frame, ridge


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from quantlab.auth import service as auth_service
    from quantlab.platform import migrate
    from quantlab.platform.db import Database

    data_dir = tmp_path_factory.mktemp("ml-jobs")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    settings = make_settings(data_dir, url)
    db = Database(url)
    async with db.sessionmaker() as session:
        user = await auth_service.create_user(
            session, settings, username=f"ml-{uuid.uuid4().hex[:8]}", password=TEST_PASSWORD,
            role="researcher",
        )  # fmt: skip
    owner = Owner(user.id)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, db=db))
    dataset_id = await store_dataset(app, owner.id, market_frame(), "ml")
    # The worker store is one per process: set aside one an earlier test module made.
    previous = job_store._stores.pop(os.getpid(), None)
    yield SimpleNamespace(settings=settings, db=db, owner=owner, dataset_id=dataset_id)
    job_store._stores.pop(os.getpid(), None)
    if previous is not None:
        job_store._stores[os.getpid()] = previous
    await db.dispose()


async def _create(env: Any, rounds: int, **overrides: Any) -> tuple[str, str]:
    from quantlab.ml import service
    from quantlab.ml.schemas import ModelRunRequest

    body = ridge(
        env.dataset_id,
        model="lightgbm",
        params={"num_boost_round": rounds, "early_stopping_rounds": rounds, "num_leaves": 7},
        processors=[{"name": "DropnaLabel"}],
        **overrides,
    )
    async with env.db.sessionmaker() as session:
        row, job = await service.create_run(
            session, env.owner, ModelRunRequest.model_validate(body), env.settings.data_dir
        )
    return row.id, job.id


async def _execute(
    env: Any, job_id: str, cancel_at_metrics: bool, pause_in_window: int | None = None
) -> tuple[str, list[Any]]:
    from quantlab.platform.jobs.execute import execute_job
    from quantlab.platform.jobs.models import Job
    from quantlab.platform.jobs.store import get_store

    store = get_store(env.settings)
    assert store.settings.db_url == env.settings.db_url, "another test owns this process's store"
    events: list[Any] = []

    async def request(control: str) -> None:
        async with store.db.sessionmaker() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(control=control))
            await session.commit()

    def sink(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] != "metrics":
            return
        if cancel_at_metrics and event["data"]["round"] == 10:
            store.call(request("cancel"))
        if pause_in_window is not None and event["data"]["window"] == pause_in_window:
            store.call(request("pause"))

    status = await asyncio.to_thread(execute_job, job_id, env.settings, sink)
    return str(status), events


async def test_progress_per_round_and_cancel_between_rounds(env: Any) -> None:
    from quantlab.ml import service

    run_id, job_id = await _create(env, rounds=40)
    status, events = await _execute(env, job_id, cancel_at_metrics=False)
    assert status == "completed"
    metrics = [e["data"] for e in events if e["type"] == "metrics"]
    assert [m["round"] for m in metrics] == [10, 20, 30, 40]
    assert all(isinstance(m["loss"], float) for m in metrics)
    stages = [e["data"].get("stage") for e in events if e["type"] == "progress"]
    assert "training" in stages and "signal" in stages
    async with env.db.sessionmaker() as session:
        row = await service.get_run(session, env.owner, run_id)
        assert row.status == "completed" and 1 <= row.summary["best_rounds"][0] <= 40

    run_id, job_id = await _create(env, rounds=5000)
    status, events = await _execute(env, job_id, cancel_at_metrics=True)
    assert status == "cancelled"
    rounds = [e["data"]["round"] for e in events if e["type"] == "metrics"]
    assert rounds[0] == 10 and max(rounds) < 5000
    async with env.db.sessionmaker() as session:
        row = await service.get_run(session, env.owner, run_id)
        assert row.status == "cancelled" and row.result_dir is None
        assert "JobCancelled" in (row.error or "")


async def test_pause_keeps_finished_windows_and_resume_predicts_as_uninterrupted(
    env: Any,
) -> None:
    import json
    from pathlib import Path

    from quantlab.ml import service
    from quantlab.tasks import service as task_service

    # windows of 600 rounds: a pause asked for in window 1 lands in window 1
    rolling = {"rolling_step": 15, "rolling_expanding": True}
    plain_id, plain_job = await _create(env, rounds=600, **rolling)
    assert (await _execute(env, plain_job, cancel_at_metrics=False))[0] == "completed"

    run_id, job_id = await _create(env, rounds=600, **rolling)
    status, _ = await _execute(env, job_id, cancel_at_metrics=False, pause_in_window=1)
    assert status == "paused"
    checkpoint = Path(env.settings.data_dir, "jobs", job_id, "checkpoint.json")
    saved = json.loads(checkpoint.read_text())["windows"]
    assert len(saved) == 1 and saved[0]["model"].startswith("tree")
    async with env.db.sessionmaker() as session:
        row = await service.get_run(session, env.owner, run_id)
        assert (await service.view(session, row))["status"] == "paused"
        assert row.result_dir is None and row.error is None
        await task_service.act(session, env.owner, job_id, "resume", None)
    status, events = await _execute(env, job_id, cancel_at_metrics=False)
    assert status == "completed"
    logs = [e["data"]["message"] for e in events if e["type"] == "log"]
    assert any(f"{len(saved)} trained window(s) loaded" in line for line in logs)
    trained = {e["data"]["window"] for e in events if e["type"] == "metrics"}
    assert min(trained) == 1 and max(trained) >= 2  # window 0 was not trained again
    async with env.db.sessionmaker() as session:
        whole = await service.predictions(session, env.owner, plain_id, env.settings.data_dir)
        resumed = await service.predictions(session, env.owner, run_id, env.settings.data_dir)
    assert resumed == whole  # bit for bit, as JSON floats
