"""Cron schedules: next-fire computation, CRUD with validation and owner scoping, and the
scheduler enqueueing exactly one job per due run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from quantlab.platform.jobs.models import Job
from quantlab.tasks.exceptions import InvalidCron
from quantlab.tasks.models import JobSchedule
from quantlab.tasks.schedules import fire_due, next_fire
from tests.helpers.idor import assert_no_idor
from tests.tasks.helpers import wait_for

pytestmark = pytest.mark.timeout(120)


def test_next_fire_by_hand() -> None:
    friday = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 08:00 Friday in Shanghai
    # weekdays at 02:00 Shanghai: next is Monday 30 Nov 02:00 +08:00 = Sunday 18:00 UTC
    fire = next_fire("0 2 * * 1-5", "Asia/Shanghai", friday)
    assert fire == datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert next_fire("*/15 * * * *", "UTC", friday) == friday + timedelta(minutes=15)
    with pytest.raises(InvalidCron):
        next_fire("61 * * * *", "UTC", friday)
    with pytest.raises(InvalidCron):
        next_fire("* * * * *", "Mars/Olympus", friday)


async def test_schedule_crud_validation_and_scoping(client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    h = alice.headers
    body = {
        "name": "nightly",
        "job_type": "system.noop",
        "params": {"value": 1},
        "cron": "0 2 * * *",
    }
    created = await client.post("/api/tasks/schedules", headers=h, json=body)
    assert created.status_code == 201, created.text
    sched = created.json()["data"]
    assert sched["timezone"] == "UTC" and sched["enabled"] is True
    next_run = datetime.fromisoformat(sched["next_run_at"])
    assert next_run.hour == 2 and next_run.minute == 0 and next_run > datetime.now(UTC)

    for bad, status, code in [
        ({**body, "cron": "not cron"}, 422, "VALIDATION_ERROR"),  # not 5-6 fields
        ({**body, "cron": "99 * * * *"}, 422, "INVALID_CRON"),
        ({**body, "timezone": "Nowhere/Land"}, 422, "INVALID_CRON"),
        ({**body, "job_type": "no.such"}, 404, "JOB_TYPE_NOT_FOUND"),
        ({**body, "job_type": "system.sleep", "params": {"steps": -1}}, 422, "VALIDATION_ERROR"),
        ({**body, "priority": 7}, 422, "VALIDATION_ERROR"),
    ]:
        resp = await client.post("/api/tasks/schedules", headers=h, json=bad)
        assert (resp.status_code, resp.json()["error"]["code"]) == (status, code), bad

    sid = sched["id"]
    patched = await client.patch(
        f"/api/tasks/schedules/{sid}", headers=h, json={"cron": "30 3 * * *", "enabled": False}
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["cron"] == "30 3 * * *"
    assert patched.json()["data"]["enabled"] is False
    listed = (await client.get("/api/tasks/schedules", headers=h)).json()
    assert [s["id"] for s in listed["data"]] == [sid] and listed["meta"]["total"] == 1
    assert (await client.get("/api/tasks/schedules", headers=bob.headers)).json()["data"] == []
    await assert_no_idor(
        client,
        h,
        bob.headers,
        read=f"/api/tasks/schedules/{sid}",
        update=("PATCH", f"/api/tasks/schedules/{sid}", {"name": "stolen"}),
        delete=f"/api/tasks/schedules/{sid}",
        missing=f"/api/tasks/schedules/{'0' * 32}",
    )
    assert (await client.delete(f"/api/tasks/schedules/{sid}", headers=h)).status_code == 204
    assert (await client.get(f"/api/tasks/schedules/{sid}", headers=h)).status_code == 404


async def test_due_schedule_enqueues_one_job(app: Any, client: Any, researcher: Any) -> None:
    h = researcher.headers
    body = {"name": "new year", "job_type": "system.noop", "params": {"value": "tick"},
            "cron": "0 0 1 1 *"}  # fmt: skip
    sid = (await client.post("/api/tasks/schedules", headers=h, json=body)).json()["data"]["id"]
    db = app.state.db
    async with db.sessionmaker() as session:
        past = datetime.now(UTC) - timedelta(seconds=5)
        await session.execute(
            update(JobSchedule).where(JobSchedule.id == sid).values(next_run_at=past)
        )
        await session.commit()
    # racing firers (as several API processes would be) enqueue the run once
    await asyncio.gather(fire_due(db), fire_due(db), fire_due(db))
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Job).where(Job.schedule_id == sid)
        )
        job_id = await session.scalar(select(Job.id).where(Job.schedule_id == sid))
    assert count == 1
    app.state.jobs.wake()
    done = await wait_for(client, h, job_id, "completed")
    assert done["result"] == {"value": "tick"} and done["schedule_id"] == sid
    sched = (await client.get(f"/api/tasks/schedules/{sid}", headers=h)).json()["data"]
    assert sched["last_job_id"] == job_id
    assert datetime.fromisoformat(sched["next_run_at"]) > datetime.now(UTC)
    await client.delete(f"/api/tasks/schedules/{sid}", headers=h)
