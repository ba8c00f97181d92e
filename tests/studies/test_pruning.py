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
