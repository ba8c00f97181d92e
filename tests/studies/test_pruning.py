"""Early stopping through the API (both databases): a seeded TPE study with the option
stores its pruned trials with state ``pruned`` and their prefix metrics, counts them in the
summary, never picks one as the best, reproduces exactly; other methods are refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.datasets import store_dataset
from tests.studies.helpers import all_trials, dual_ma, market_frame, wait_study

pytestmark = pytest.mark.timeout(600)

SPACE = {"fast": {"min": 2, "max": 30}, "slow": {"min": 10, "max": 80}}
RULE = {"fraction": 0.4, "percentile": 50.0, "n_startup_trials": 4}


async def test_tpe_early_stopping_stores_pruned_trials(
    app: Any, client: Any, make_user: Any
) -> None:
    alice = await make_user()
    h = alice.headers
    dataset_id = await store_dataset(app, alice.id, market_frame(), "pruning")
    body = dual_ma(dataset_id, method="tpe", n_trials=30, seed=9, parameters=SPACE,
                   objectives=["sharpe"], chunk_size=3, early_stopping=RULE)  # fmt: skip
    runs = []
    for _ in range(2):
        resp = await client.post("/api/studies", json=body, headers=h)
        assert resp.status_code == 202, resp.text
        study = await wait_study(client, h, resp.json()["data"]["id"])
        assert study["status"] == "completed", study
        assert study["early_stopping"] == RULE
        trials = await all_trials(client, h, study["id"])
        runs.append([(t["number"], t["params"], t["values"], t["state"]) for t in trials])
        pruned = [t for t in trials if t["state"] == "pruned"]
        assert pruned and any(t["state"] == "complete" for t in trials)
        assert study["summary"]["n_pruned"] == len(pruned)
        assert all(not t["feasible"] for t in pruned)
        best = study["summary"]["best"]
        assert best["number"] not in {t["number"] for t in pruned}
        top = (await client.get(f"/api/studies/{study['id']}/top", headers=h)).json()["data"]
        assert all(t["state"] == "complete" for t in top)
    assert runs[0] == runs[1]

    for change in ({"method": "random"}, {"objectives": ["sharpe", "max_drawdown"]}):
        bad = {**body, **change}
        resp = await client.post("/api/studies", json=bad, headers=h)
        assert resp.status_code == 422, resp.text
        assert "early stopping" in resp.json()["error"]["message"]


async def test_resume_restores_trials_told_to_optuna_but_not_stored(
    app: Any, client: Any, make_user: Any
) -> None:
    # a crash between telling Optuna and writing the trials' rows leaves trials in the
    # study's journal that the table lacks: the resumed job evaluates them again, the pruned
    # ones on their prefix, so the table ends as if nothing had happened
    import asyncio

    from sqlalchemy import delete

    from quantlab.studies.models import StudyTrial

    alice = await make_user()
    h = alice.headers
    dataset_id = await store_dataset(app, alice.id, market_frame(), "pruning-resume")
    body = dual_ma(dataset_id, method="tpe", n_trials=150, seed=4, parameters=SPACE,
                   objectives=["sharpe"], chunk_size=2, early_stopping=RULE)  # fmt: skip
    resp = await client.post("/api/studies", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    sid, job_id = resp.json()["data"]["id"], resp.json()["data"]["job_id"]
    while True:  # until some trials of each state are stored
        trials = await all_trials(client, h, sid)
        states = [t["state"] for t in trials]
        if states.count("pruned") >= 2 and states.count("complete") >= 6:
            break
        await asyncio.sleep(0.05)
    assert (await client.post(f"/api/tasks/{job_id}/pause", headers=h)).status_code == 200
    for _ in range(1200):
        job = (await client.get(f"/api/tasks/{job_id}", headers=h)).json()["data"]
        if job["status"] == "paused":
            break
        assert job["status"] == "running", job
        await asyncio.sleep(0.05)
    before = {t["number"]: t for t in await all_trials(client, h, sid)}
    lost = [n for n, t in before.items() if t["state"] == "pruned"][-2:]
    lost += [n for n, t in before.items() if t["state"] == "complete"][-2:]
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            delete(StudyTrial).where(StudyTrial.study_id == sid, StudyTrial.number.in_(lost))
        )
        await session.commit()
    assert (await client.post(f"/api/tasks/{job_id}/resume", headers=h)).status_code == 200
    study = await wait_study(client, h, sid)
    assert study["status"] == "completed", study
    after = {t["number"]: t for t in await all_trials(client, h, sid)}
    shown = ("params", "values", "state", "feasible", "metrics")
    for n in lost:
        assert {k: after[n][k] for k in shown} == {k: before[n][k] for k in shown}, n
    assert set(before) <= set(after)
    assert study["summary"]["n_pruned"] == sum(t["state"] == "pruned" for t in after.values())
