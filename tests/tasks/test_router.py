"""/api/tasks against the session app's real local runner, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from quantlab.platform.audit import AuditEvent
from tests.helpers.idor import assert_no_idor
from tests.tasks.helpers import enqueue, wait_for

pytestmark = pytest.mark.timeout(120)


async def test_job_runs_to_completion_with_logs(app: Any, client: Any, researcher: Any) -> None:
    h = researcher.headers
    job = await enqueue(client, h, "system.sleep", steps=4, step_seconds=0.02, log_every=1)
    assert job["status"] == "pending" and job["owner_id"] == researcher.id
    done = await wait_for(client, h, job["id"], "completed")
    assert done["result"] == {"steps": 4, "resumed_from": 0, "attempt": 1}
    assert done["progress"] == 1.0 and done["percentage"] == 100.0
    assert done["attempts"] == 1 and done["error"] is None
    assert done["started_at"] <= done["finished_at"]

    logs = (await client.get(f"/api/tasks/{job['id']}/logs", headers=h)).json()
    assert [e["message"] for e in logs["data"]] == [f"step {i} of 4" for i in range(1, 5)]
    assert logs["meta"]["total"] == 4
    filtered = await client.get(f"/api/tasks/{job['id']}/logs?q=3 of&level=info", headers=h)
    assert [e["message"] for e in filtered.json()["data"]] == ["step 3 of 4"]
    none = await client.get(f"/api/tasks/{job['id']}/logs?level=ERROR", headers=h)
    assert none.json()["data"] == []
    text = await client.get(f"/api/tasks/{job['id']}/logs/download", headers=h)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text.count("\n") == 4 and " INFO step 4 of 4" in text.text
    result = await client.get(f"/api/tasks/{job['id']}/result", headers=h)
    assert result.json()["data"]["steps"] == 4
    async with app.state.db.sessionmaker() as session:
        audited = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.actor_id).where(
                    AuditEvent.resource_type == "job", AuditEvent.resource_id == job["id"]
                )
            )
        ).all()
    assert audited == [("job.create", researcher.id)]


async def test_params_are_validated_before_acceptance(client: Any, researcher: Any) -> None:
    h = researcher.headers
    before = (await client.get("/api/tasks", headers=h)).json()["meta"]["total"]
    bad = await client.post(
        "/api/tasks", headers=h, json={"type": "system.sleep", "params": {"steps": 0}}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert bad.json()["error"]["details"][0]["field"] == "steps"
    unknown = await client.post("/api/tasks", headers=h, json={"type": "nope.nothing"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "JOB_TYPE_NOT_FOUND"
    prio = await client.post("/api/tasks", headers=h, json={"type": "system.noop", "priority": 9})
    assert prio.status_code == 422
    after = (await client.get("/api/tasks", headers=h)).json()["meta"]["total"]
    assert after == before  # a refused request writes nothing
    anon = await client.get("/api/tasks")
    assert anon.status_code == 401
    types = (await client.get("/api/tasks/types", headers=h)).json()["data"]
    sleep = next(t for t in types if t["name"] == "system.sleep")
    assert sleep["checkpointable"] and "steps" in sleep["params_schema"]["properties"]
    by_name = {t["name"]: t["submittable"] for t in types}
    assert by_name["system.sleep"] and not by_name["backtests.run"]  # started by its own route


async def test_viewer_cannot_enqueue(client: Any, make_user: Any) -> None:
    viewer = await make_user("viewer")
    resp = await client.post("/api/tasks", headers=viewer.headers, json={"type": "system.noop"})
    assert resp.status_code == 403


async def test_pause_persists_checkpoint_and_resume_continues(client: Any, researcher: Any) -> None:
    h = researcher.headers
    job = await enqueue(client, h, "system.sleep", steps=60, step_seconds=0.05)
    await wait_for(client, h, job["id"], "running", predicate=lambda j: j["progress"] >= 0.1)
    paused = await client.post(f"/api/tasks/{job['id']}/pause", headers=h)
    assert paused.status_code == 200 and paused.json()["data"]["requested"] == "pause"
    state = await wait_for(client, h, job["id"], "paused")
    assert state["has_checkpoint"] and 0.0 < state["progress"] < 1.0
    again = await client.post(f"/api/tasks/{job['id']}/pause", headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "JOB_ILLEGAL_TRANSITION"
    resumed = await client.post(f"/api/tasks/{job['id']}/resume", headers=h)
    assert resumed.json()["data"]["status"] == "pending"
    done = await wait_for(client, h, job["id"], "completed")
    assert 0 < done["result"]["resumed_from"] < 60
    assert done["attempts"] == 2


async def test_cancel_pending_running_and_finished(client: Any, researcher: Any) -> None:
    h = researcher.headers
    running = await enqueue(client, h, "system.busy", seconds=30)
    await wait_for(client, h, running["id"], "running")
    not_pausable = await client.post(f"/api/tasks/{running['id']}/pause", headers=h)
    assert not_pausable.status_code == 409
    assert not_pausable.json()["error"]["code"] == "JOB_NOT_PAUSABLE"
    busy_delete = await client.delete(f"/api/tasks/{running['id']}", headers=h)
    assert busy_delete.status_code == 409
    assert busy_delete.json()["error"]["code"] == "JOB_NOT_FINISHED"
    assert (await client.post(f"/api/tasks/{running['id']}/cancel", headers=h)).status_code == 200
    cancelled = await wait_for(client, h, running["id"], "cancelled", timeout=10)
    assert cancelled["finished_at"] is not None

    # paused before it ever ran, then cancelled: never runs
    queued = await enqueue(client, h, "system.sleep", steps=1)
    pause = await client.post(f"/api/tasks/{queued['id']}/pause", headers=h)
    if pause.json()["data"]["status"] == "paused":
        resp = await client.post(f"/api/tasks/{queued['id']}/cancel", headers=h)
        assert resp.json()["data"]["status"] == "cancelled"
    finished = await wait_for(client, h, queued["id"], {"cancelled", "completed", "paused"})
    assert finished["status"] != "running"

    twice = await client.post(f"/api/tasks/{running['id']}/cancel", headers=h)
    assert twice.status_code == 409
    resume = await client.post(f"/api/tasks/{running['id']}/resume", headers=h)
    assert resume.status_code == 409
    retry = await client.post(f"/api/tasks/{running['id']}/retry", headers=h)
    assert retry.json()["data"]["status"] == "pending"
    assert retry.json()["data"]["attempts"] == 0
    await client.post(f"/api/tasks/{running['id']}/cancel", headers=h)
    await wait_for(client, h, running["id"], "cancelled")
    deleted = await client.delete(f"/api/tasks/{running['id']}", headers=h)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/tasks/{running['id']}", headers=h)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "JOB_NOT_FOUND"


async def test_failure_is_recorded_and_retry_runs_again(client: Any, researcher: Any) -> None:
    h = researcher.headers
    job = await enqueue(client, h, "system.sleep", steps=3, step_seconds=0.01, fail_at_step=1)
    failed = await wait_for(client, h, job["id"], "failed")
    assert failed["error"]["code"] == "JOB_FAILED"
    assert "failed at step 1 as asked" in failed["error"]["message"]
    logs = (await client.get(f"/api/tasks/{job['id']}/logs?level=error", headers=h)).json()
    assert "RuntimeError" in logs["data"][0]["message"]
    no_result = await client.get(f"/api/tasks/{job['id']}/result", headers=h)
    assert no_result.status_code == 404
    retried = await client.post(f"/api/tasks/{job['id']}/retry", headers=h)
    assert retried.status_code == 200
    again = await wait_for(client, h, job["id"], "failed")
    assert again["attempts"] == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("exit", "exited with code 70"), ("segfault", "killed by signal SIGSEGV")],
)
async def test_crash_fails_job_and_pool_recovers(
    client: Any, researcher: Any, mode: str, reason: str
) -> None:
    h = researcher.headers
    job = await enqueue(
        client, h, "system.sleep", steps=5, step_seconds=0.01, crash_at_step=1, crash_mode=mode
    )
    failed = await wait_for(client, h, job["id"], "failed")
    assert failed["error"]["code"] == "JOB_CRASHED"
    assert reason in failed["error"]["message"]
    after = await enqueue(client, h, "system.noop", value=[1, 2])
    assert (await wait_for(client, h, after["id"], "completed"))["result"] == {"value": [1, 2]}


async def test_list_filters_stats_and_isolation(client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    a1 = await enqueue(client, alice.headers, "system.noop", value=1)
    a2 = await enqueue(client, alice.headers, "system.sleep", steps=1, step_seconds=0)
    b1 = await enqueue(client, bob.headers, "system.noop", value=2)
    for j in (a1, a2):
        await wait_for(client, alice.headers, j["id"], "completed")
    listed = (await client.get("/api/tasks?size=50", headers=alice.headers)).json()
    assert {j["id"] for j in listed["data"]} == {a1["id"], a2["id"]}
    assert listed["meta"]["total"] == 2
    noop = (await client.get("/api/tasks?type=system.noop", headers=alice.headers)).json()
    assert [j["id"] for j in noop["data"]] == [a1["id"]]
    pending = (await client.get("/api/tasks?status=pending", headers=alice.headers)).json()
    assert pending["data"] == []
    later = (
        await client.get(
            "/api/tasks", headers=alice.headers, params={"created_from": "2999-01-01T00:00:00Z"}
        )
    ).json()
    assert later["data"] == []
    bad = await client.get("/api/tasks?status=sleeping", headers=alice.headers)
    assert bad.status_code == 422
    stats = (await client.get("/api/tasks/stats", headers=alice.headers)).json()["data"]
    assert stats == {
        "total": 2,
        "by_status": {"completed": 2},
        "by_type": {"system.noop": 1, "system.sleep": 1},
    }
    await wait_for(client, bob.headers, b1["id"], "completed")
    await assert_no_idor(
        client,
        alice.headers,
        bob.headers,
        read=f"/api/tasks/{a1['id']}",
        delete=f"/api/tasks/{a1['id']}",
        missing=f"/api/tasks/{'0' * 32}",
    )
    for action in ("cancel", "pause", "resume", "retry", "ws-ticket"):
        resp = await client.post(f"/api/tasks/{a1['id']}/{action}", headers=bob.headers)
        assert resp.status_code == 404, action
    assert (await client.get(f"/api/tasks/{a1['id']}/logs", headers=bob.headers)).status_code == 404


async def test_limits_keep_the_third_job_waiting(client: Any, researcher: Any) -> None:
    h = researcher.headers
    jobs = [await enqueue(client, h, "system.busy", seconds=30) for _ in range(3)]
    await wait_for(client, h, jobs[0]["id"], "running")
    await wait_for(client, h, jobs[1]["id"], "running")
    state = (await client.get(f"/api/tasks/{jobs[2]['id']}", headers=h)).json()["data"]
    assert state["status"] == "pending"  # two running: the per-user (and pool) maximum
    await client.post(f"/api/tasks/{jobs[0]['id']}/cancel", headers=h)
    await wait_for(client, h, jobs[2]["id"], "running")
    for job in jobs[1:]:
        await client.post(f"/api/tasks/{job['id']}/cancel", headers=h)
        await wait_for(client, h, job["id"], "cancelled")


async def test_large_result_is_kept_in_a_file(client: Any, researcher: Any) -> None:
    h = researcher.headers
    values = list(range(20_000))  # ~110 kB of JSON: beyond the inline limit
    job = await enqueue(client, h, "system.noop", value=values)
    done = await wait_for(client, h, job["id"], "completed")
    assert done["result"] is None and done["result_ref"] == f"jobs/{job['id']}/result.json"
    full = await client.get(f"/api/tasks/{job['id']}/result", headers=h)
    assert full.status_code == 200
    assert full.json() == {"status": "success", "data": {"value": values}}  # one envelope
    assert (await client.delete(f"/api/tasks/{job['id']}", headers=h)).status_code == 204


async def test_readiness_reports_the_job_runner(client: Any) -> None:
    body = (await client.get("/api/ready")).json()
    # other backends' checks may fail on a shared machine; only the jobs check is ours
    checks = (
        body["data"]["checks"]
        if body["status"] == "success"
        else body["error"]["details"]["checks"]
    )
    jobs = checks["jobs"]
    assert jobs["ok"] is True and jobs["runner"] == "local"
    assert jobs["workers"] == jobs["alive"] >= 1
