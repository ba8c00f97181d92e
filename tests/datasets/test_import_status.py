"""An import's status is its job's: the row keeps no copy, so the two never disagree."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, update

from quantlab.platform.jobs.models import Job
from tests.datasets.conftest import import_files, upload

pytestmark = pytest.mark.timeout(180)

CSV = b"date,symbol,close,volume\n2024-01-02,AAA,1,10\n2024-01-03,AAA,2,10\n"


async def _set_job(app: Any, job_id: str, status: str) -> None:
    async with app.state.db.sessionmaker() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(status=status))
        await session.commit()


async def test_an_import_reads_its_status_from_its_job(
    client: httpx.AsyncClient, make_user: Any, app: Any
) -> None:
    alice = await make_user()
    h = alice.headers
    resp = await upload(client, h, [("a.csv", CSV)], name=f"st-{uuid.uuid4().hex[:8]}")
    assert resp.status_code == 202, resp.text
    assert resp.json()["data"]["status"] == "pending"  # its job was just enqueued
    done = await import_files(client, h, [("a.csv", CSV)], name=f"st-{uuid.uuid4().hex[:8]}")
    assert done["status"] == "completed" and done["version"] == 1, done
    job = (await client.get(f"/api/tasks/{done['job_id']}", headers=h)).json()["data"]
    assert job["status"] == "completed"

    # whatever the job says, the import says: one record of the status
    for status in ("running", "failed", "completed"):
        await _set_job(app, done["job_id"], status)
        got = (await client.get(f"/api/imports/{done['id']}", headers=h)).json()["data"]
        assert got["status"] == status
        listed = (await client.get("/api/imports", headers=h)).json()["data"]
        assert {i["id"]: i["status"] for i in listed}[done["id"]] == status
        assert got["report"] == done["report"] and got["version"] == 1  # the row's own data

    async with app.state.db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: inspect(c).get_columns("data_imports"))
    assert "status" not in {c["name"] for c in columns}
