"""Backtests made from a study (on both databases): "run this trial" and "apply best and
run" start real backtests that record the study and trial, run exactly the trial's
parameters, and carry the study's overfitting findings (the diagnostics registry's
``study_overfitting``) in their diagnostics; a plain backtest has none; others get 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.helpers.datasets import store_dataset
from tests.studies.helpers import dual_ma, market_frame, wait_backtest, wait_study

pytestmark = pytest.mark.timeout(600)

PBO_TITLE = "Probability of backtest overfitting"
DSR_TITLE = "Deflated Sharpe ratio"


async def _saved_strategy(client: Any, headers: dict[str, str]) -> str:
    from quantlab.engine.library import TEMPLATES

    template = TEMPLATES["dual_moving_average"]
    saved = {
        "name": "linked dual MA",
        "body": template.body,
        "param_schema": [p.model_dump(mode="json", by_alias=True) for p in template.parameters],
        "constraints": [c.model_dump(mode="json") for c in template.constraints],
    }
    created = await client.post("/api/strategies", json=saved, headers=headers)
    assert created.status_code in (200, 201), created.text
    return str(created.json()["data"]["id"])


def _study_findings(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["title"]: f for f in findings if f["title"] in (PBO_TITLE, DSR_TITLE)}


async def test_trial_backtests_carry_the_studys_overfitting_findings(
    app: Any, client: Any, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    h = alice.headers
    dataset_id = await store_dataset(app, alice.id, market_frame(), "links")
    strategy_id = await _saved_strategy(client, h)
    body = dual_ma(dataset_id, objectives=["sharpe"])
    body.pop("template")
    body["strategy_id"] = strategy_id
    started = (await client.post("/api/studies", json=body, headers=h)).json()["data"]
    study = await wait_study(client, h, started["id"])
    assert study["status"] == "completed", study
    sid, summary = study["id"], study["summary"]
    report = summary["overfitting"]
    assert report is not None and report["pbo"] is not None

    # run trial 3 (not the best one): another user cannot, the owner gets a linked run
    resp = await client.post(f"/api/studies/{sid}/backtest", json={"trial": 3},
                             headers=bob.headers)  # fmt: skip
    assert resp.status_code == 404
    resp = await client.post(f"/api/studies/{sid}/backtest", json={"trial": 99}, headers=h)
    assert resp.status_code == 409, resp.text
    resp = await client.post(f"/api/studies/{sid}/backtest", json={"trial": 3}, headers=h)
    assert resp.status_code == 202, resp.text
    linked = resp.json()["data"]
    assert linked["study_id"] == sid and linked["trial"] == 3
    run = await wait_backtest(client, h, linked["backtest_id"])
    assert run["status"] == "completed", run

    trial = (await client.get(f"/api/studies/{sid}/trials?size=100", headers=h)).json()["data"][3]
    assert linked["parameters"] == trial["params"]
    assert run["metrics"]["sharpe_ratio"] == pytest.approx(trial["metrics"]["sharpe_ratio"],
                                                           rel=1e-9)  # fmt: skip

    from quantlab.backtests.models import Backtest

    async with app.state.db.sessionmaker() as session:
        row = await session.scalar(select(Backtest).where(Backtest.id == run["id"]))
        assert (row.study_id, row.study_trial) == (sid, 3)
        assert (row.strategy_id, row.strategy_version) == (strategy_id, study["strategy_version"])

    diag = (await client.get(f"/api/backtests/{run['id']}/diagnostics", headers=h)).json()["data"]
    found = _study_findings(diag)
    assert set(found) == {PBO_TITLE, DSR_TITLE}
    pbo = found[PBO_TITLE]
    assert pbo["diagnostic"] == "overfitting"
    assert pbo["evidence"]["pbo"] == pytest.approx(report["pbo"])
    assert pbo["evidence"]["study_id"] == sid and pbo["evidence"]["study_trial"] == 3
    assert pbo["evidence"]["best_trial"] == summary["best"]["number"]
    assert found[DSR_TITLE]["evidence"]["dsr"] == pytest.approx(report["dsr"]["dsr"])

    # apply best and run: a new strategy version, and a backtest of it linked to the study
    resp = await client.post(f"/api/studies/{sid}/apply-best", json={"run": True}, headers=h)
    assert resp.status_code == 200, resp.text
    applied = resp.json()["data"]
    assert applied["trial"] == summary["best"]["number"] and applied["backtest_id"]
    best_run = await wait_backtest(client, h, applied["backtest_id"])
    assert best_run["status"] == "completed", best_run
    diag = (await client.get(f"/api/backtests/{best_run['id']}/diagnostics",
                             headers=h)).json()["data"]  # fmt: skip
    assert _study_findings(diag)[PBO_TITLE]["evidence"]["study_trial"] == applied["trial"]
    async with app.state.db.sessionmaker() as session:
        row = await session.scalar(select(Backtest).where(Backtest.id == best_run["id"]))
        assert (row.study_id, row.study_trial) == (sid, applied["trial"])
        assert (row.strategy_id, row.strategy_version) == (strategy_id, applied["version"])

    # a plain backtest of the same strategy has no study findings
    plain = await client.post(f"/api/strategies/{strategy_id}/runs",
                              json={"dataset_id": dataset_id, "preset": "rules_off"},
                              headers=h)  # fmt: skip
    assert plain.status_code == 202, plain.text
    plain_id = plain.json()["data"]["id"]
    assert (await wait_backtest(client, h, plain_id))["status"] == "completed"
    diag = (await client.get(f"/api/backtests/{plain_id}/diagnostics", headers=h)).json()["data"]
    assert _study_findings(diag) == {}
