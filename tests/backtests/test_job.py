"""The ``backtests.run`` job through the real worker entry point (``execute_job``) on its
own SQLite database, so pause and cancel land at an exact chunk boundary: the request is
made when the worker announces the start, and the job sees it at its first check."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update

from tests.backtests.conftest import dual_ma, make_dataset
from tests.conftest import TEST_PASSWORD, make_settings
from tests.helpers.datasets import Owner


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Settings, database, an owner and a dataset, with no job runner attached."""
    from quantlab.auth import service as auth_service
    from quantlab.platform import migrate
    from quantlab.platform.db import Database

    data_dir = tmp_path_factory.mktemp("bt-jobs")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    settings = make_settings(data_dir, url)
    db = Database(url)
    async with db.sessionmaker() as session:
        user = await auth_service.create_user(
            session, settings, username=f"bt-{uuid.uuid4().hex[:8]}", password=TEST_PASSWORD,
            role="researcher",
        )  # fmt: skip
    owner = Owner(user.id)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, db=db))
    dataset_id = await make_dataset(app, owner.id)
    yield SimpleNamespace(settings=settings, db=db, owner=owner, dataset_id=dataset_id)
    await db.dispose()


async def _create(env: Any) -> tuple[str, str]:
    from quantlab.backtests import service
    from quantlab.backtests.schemas import BacktestRequest

    req = BacktestRequest.model_validate(dual_ma(env.dataset_id))
    async with env.db.sessionmaker() as session:
        row, job = await service.create_backtest(session, env.owner, req, env.settings.data_dir)
    return row.id, job.id


async def _execute(
    env: Any, job_id: str, control: str | None = None, at_stage: str | None = None
) -> tuple[str, list[Any]]:
    """Run the job here; ``control`` is requested as soon as the worker claims it, or when
    the job reports progress at ``at_stage``."""
    from quantlab.platform.jobs.execute import execute_job
    from quantlab.platform.jobs.models import Job
    from quantlab.platform.jobs.store import get_store

    store = get_store(env.settings)
    assert store.settings.db_url == env.settings.db_url, "another test owns this process's store"
    events: list[Any] = []

    async def request(value: str) -> None:
        async with store.db.sessionmaker() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(control=value))
            await session.commit()

    def sink(event: dict[str, Any]) -> None:
        events.append(event)
        if not control:
            return
        if at_stage is None and event["type"] == "started":
            store.call(request(control))
        elif event["type"] == "progress" and event["data"].get("stage") == at_stage:
            store.call(request(control))

    status = await asyncio.to_thread(execute_job, job_id, env.settings, sink)
    return str(status), events


async def _series(env: Any, backtest_id: str) -> pd.DataFrame:
    from quantlab.backtests.results import read_frame, result_dir

    return read_frame(result_dir(env.settings.data_dir, backtest_id), "series")


async def test_progress_pause_resume_equals_uninterrupted_and_cancel_keeps_partial(
    env: Any,
) -> None:
    from quantlab.backtests import service, views
    from quantlab.backtests.exceptions import BacktestNotReady, BacktestRunning
    from quantlab.backtests.tasks import CHUNK_DAYS
    from quantlab.tasks import service as task_service

    # uninterrupted: progress with the date and ETA, trade lines, running metrics
    plain_id, plain_job = await _create(env)
    status, events = await _execute(env, plain_job)
    assert status == "completed"
    progress = [e["data"] for e in events if e["type"] == "progress"]
    dated = [p for p in progress if p["stage"] == "simulating"]
    assert dated and dated[0]["current"].startswith("2023-") and "eta_seconds" in dated[0]
    logs = [e["data"]["message"] for e in events if e["type"] == "log"]
    assert any(" BUY " in line and " @ " in line for line in logs)
    running = [e["data"] for e in events if e["type"] == "metrics"]
    assert running and {"equity", "total_return", "max_drawdown", "trades"} <= set(running[0])
    plain = await _series(env, plain_id)
    assert len(plain) > 3 * CHUNK_DAYS

    # pause after the first chunk: checkpoint kept, no results yet, cannot delete
    paused_id, paused_job = await _create(env)
    status, _ = await _execute(env, paused_job, control="pause")
    assert status == "paused"
    async with env.db.sessionmaker() as session:
        view = await service.describe(session, env.owner, paused_id)
        assert view["status"] == "paused" and view["job"]["progress"] < 0.5
        with pytest.raises(BacktestNotReady):
            await views.equity(session, env.owner, paused_id, env.settings.data_dir)
        with pytest.raises(BacktestRunning) as running_err:
            await service.delete_backtest(
                session, env.owner, paused_id, env.settings.data_dir, None
            )
        assert running_err.value.status == 409
        await task_service.act(session, env.owner, paused_job, "resume", None)
    assert Path(env.settings.data_dir, "jobs", paused_job, "checkpoint.bin").exists()
    status, events = await _execute(env, paused_job)
    assert status == "completed"
    assert any("resumed at" in e["data"]["message"] for e in events if e["type"] == "log")
    resumed = await _series(env, paused_id)
    pd.testing.assert_frame_equal(resumed, plain, check_exact=True)
    async with env.db.sessionmaker() as session:
        a = await service.describe(session, env.owner, plain_id, env.settings.data_dir)
        b = await service.describe(session, env.owner, paused_id, env.settings.data_dir)
    assert a["metrics"] == b["metrics"] and a["final_equity"] == b["final_equity"]

    # cancel after the first chunk: the simulated days are kept, marked incomplete
    cancel_id, cancel_job = await _create(env)
    status, _ = await _execute(env, cancel_job, control="cancel")
    assert status == "cancelled"
    async with env.db.sessionmaker() as session:
        view = await service.describe(session, env.owner, cancel_id, env.settings.data_dir)
        trades, total = await views.trades(
            session, env.owner, cancel_id, env.settings.data_dir, _page()
        )
    assert view["status"] == "cancelled" and view["incomplete"] is True
    assert view["days_run"] == CHUNK_DAYS < view["n_days"]
    # progress and stage say how far it got, not "analysing" at 0.92
    assert view["job"]["stage"] == "cancelled"
    assert view["job"]["progress"] == pytest.approx(0.05 + 0.85 * CHUNK_DAYS / view["n_days"])
    partial = await _series(env, cancel_id)
    pd.testing.assert_frame_equal(partial[["date", "equity", "cash"]],
                                  plain[["date", "equity", "cash"]].iloc[:CHUNK_DAYS])  # fmt: skip
    assert view["metrics"]["total_return"] is not None
    assert all(t["date"] <= partial["date"].iloc[-1] for t in trades) and total > 0


def _page() -> Any:
    from quantlab.platform.envelope import PageParams

    return PageParams(page=1, size=200)


async def test_cancel_while_paused_keeps_the_days_simulated_before_the_pause(env: Any) -> None:
    from quantlab.backtests import service
    from quantlab.backtests.tasks import CHUNK_DAYS
    from quantlab.platform.jobs.models import Job
    from quantlab.tasks import service as task_service
    from tests.backtests.conftest import direct_run, market_frame

    backtest_id, job_id = await _create(env)
    status, _ = await _execute(env, job_id, control="pause")
    assert status == "paused"
    async with env.db.sessionmaker() as session:
        job = await task_service.act(session, env.owner, job_id, "cancel", None)
        # requeued with the cancel already requested, not dropped with its checkpoint
        assert (job.status, job.control) == ("pending", "cancel") and job.checkpoint_ref

    status, events = await _execute(env, job_id)
    assert status == "cancelled"
    logs = [e["data"]["message"] for e in events if e["type"] == "log"]
    assert any("resumed at" in line for line in logs)
    assert any("results kept" in line for line in logs)
    assert not any(" BUY " in line or " SELL " in line for line in logs)  # nothing simulated
    async with env.db.sessionmaker() as session:
        view = await service.describe(session, env.owner, backtest_id, env.settings.data_dir)
        job_row = await session.get(Job, job_id)
    assert view["status"] == "cancelled" and view["incomplete"] is True
    assert view["days_run"] == CHUNK_DAYS < view["n_days"]
    # progress and stage say how far it got, not "analysing" at 0.92
    assert view["job"]["stage"] == "cancelled"
    assert view["job"]["progress"] == pytest.approx(0.05 + 0.85 * CHUNK_DAYS / view["n_days"])
    assert job_row is not None and job_row.status == "cancelled" and job_row.control is None

    # the kept days are those of an uninterrupted run (the engine called directly)
    expected = direct_run(market_frame(), dual_ma(env.dataset_id))
    partial = await _series(env, backtest_id)
    assert len(partial) == CHUNK_DAYS
    assert partial["equity"].tolist() == expected.total_equity[:CHUNK_DAYS].tolist()
    assert view["final_equity"] == float(expected.total_equity[CHUNK_DAYS - 1])
    assert view["metrics"]["total_return"] is not None


async def test_cancel_while_analysing_ends_cancelled_with_the_complete_run_kept(env: Any) -> None:
    """A cancel accepted after the last simulated day is honoured: the job ends cancelled
    (as the accepted request said), and the finished run's results are stored whole."""
    from quantlab.backtests import service
    from quantlab.platform.jobs.models import Job
    from tests.backtests.conftest import direct_run, market_frame

    backtest_id, job_id = await _create(env)
    status, events = await _execute(env, job_id, control="cancel", at_stage="analysing")
    assert status == "cancelled"
    logs = [e["data"]["message"] for e in events if e["type"] == "log"]
    assert any("cancelled while analysing" in line for line in logs)
    assert [e["data"]["status"] for e in events if e["type"] == "completion"] == ["cancelled"]
    async with env.db.sessionmaker() as session:
        view = await service.describe(session, env.owner, backtest_id, env.settings.data_dir)
        job_row = await session.get(Job, job_id)
    assert job_row is not None and (job_row.status, job_row.control) == ("cancelled", None)
    assert view["status"] == "cancelled" and view["incomplete"] is False
    assert view["days_run"] == view["n_days"]
    expected = direct_run(market_frame(), dual_ma(env.dataset_id))
    series = await _series(env, backtest_id)
    assert series["equity"].tolist() == expected.total_equity.tolist()
    assert view["final_equity"] == float(expected.total_equity[-1])
