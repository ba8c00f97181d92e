"""An evaluation's status is its job's: the row keeps no copy, so the two never disagree
(list filter, list and detail all read the job)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, update

from quantlab.platform.jobs.models import Job
from tests.factors.conftest import wait_evaluation

pytestmark = pytest.mark.timeout(180)


async def _set_job(app: Any, job_id: str, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values))
        await session.commit()


async def test_an_evaluation_reads_its_status_from_its_job(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    body = {"expression": "Mean($close, 5) / $close", "dataset_id": ds, "horizons": [1]}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    assert resp.status_code == 202, resp.text
    started = resp.json()["data"]
    assert started["status"] == "pending"  # its job was just enqueued
    done = await wait_evaluation(client, h, started["id"])
    assert done["status"] == "completed" and done["job"]["status"] == "completed", done
    assert done["result"] is not None and done["error"] is None

    async def listed(status: str | None = None) -> dict[str, str]:
        params = {"status": status} if status else {}
        page = await client.get("/api/factors/evaluations", headers=h, params=params)
        assert page.status_code == 200, page.text
        return {e["id"]: e["status"] for e in page.json()["data"]}

    assert (await listed())[started["id"]] == "completed"
    assert started["id"] in await listed("completed")
    assert started["id"] not in await listed("running")

    await _set_job(app, started["job_id"], status="running")
    got = (await client.get(f"/api/factors/evaluations/{started['id']}", headers=h)).json()
    assert got["data"]["status"] == "running" and got["data"]["job"]["status"] == "running"
    assert started["id"] in await listed("running")
    assert started["id"] not in await listed("completed")

    # a job that ended without the evaluation recording why: the job's error is shown
    await _set_job(app, started["job_id"], status="failed", error_message="worker lost")
    got = (await client.get(f"/api/factors/evaluations/{started['id']}", headers=h)).json()
    assert got["data"]["status"] == "failed" and got["data"]["error"] == "worker lost"
    assert (await listed("failed"))[started["id"]] == "failed"

    async with app.state.db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: inspect(c).get_columns("factor_evaluations"))
    assert "status" not in {c["name"] for c in columns}
