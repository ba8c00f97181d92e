"""Model runs through the API on both databases: a ridge run equal to a direct engine run,
a LightGBM run with its backtest, every results endpoint, compare, delete, audit, IDOR, and
bad configurations refused with 422 before any training."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.factors.conftest import wait_evaluation
from tests.helpers.datasets import store_dataset
from tests.helpers.idor import assert_no_idor

DAYS, N = 160, 12
SYMBOLS = [f"60{i:04d}" for i in range(N)] + ["IDX"]


def market_frame(seed: int = 5) -> pd.DataFrame:
    """Stocks whose return from t+1 to t+2 is 1% × ``sig`` of day t, plus an index."""
    rng = np.random.default_rng(seed)
    sig = rng.normal(size=(DAYS, len(SYMBOLS)))
    ret = 0.004 * rng.normal(size=(DAYS, len(SYMBOLS)))
    ret[2:] += 0.01 * sig[:-2]
    close = np.round(10 * np.cumprod(1 + ret, axis=0), 4)
    dates = pd.bdate_range("2022-01-03", periods=DAYS)
    frames = [
        pd.DataFrame(
            {
                "date": dates,
                "symbol": s,
                "open": close[:, j],
                "high": close[:, j] * 1.01,
                "low": close[:, j] * 0.99,
                "close": close[:, j],
                "volume": 1e6,
                "sig": sig[:, j],
                "noise": rng.normal(size=DAYS),
            }
        )
        for j, s in enumerate(SYMBOLS)
    ]
    return pd.concat(frames, ignore_index=True)


SEGMENTS = {
    "train": ["2022-01-10", "2022-04-29"],
    "valid": ["2022-05-02", "2022-05-31"],
    "test": ["2022-06-01", "2022-08-05"],
}


def ridge(dataset_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "ridge on sig",
        "dataset_id": dataset_id,
        "universe": SYMBOLS[:N],
        "features": ["$sig", "$noise", "$close / Ref($close, 5)"],
        "segments": SEGMENTS,
        "processors": [{"name": "DropnaLabel"}, {"name": "Fillna"}],
        "model": "ridge",
        "params": {"alpha": 1.0},
        "seed": 3,
    }
    body.update(overrides)
    return body


async def wait_done(client: Any, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 240
    while True:
        resp = await client.get(f"/api/models/{run_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return body
        assert loop.time() < deadline, body
        await asyncio.sleep(0.2)


def direct(frame: pd.DataFrame, body: dict[str, Any]) -> Any:
    """The same run built by hand from the engine API (not the web layer's translation)."""
    from quantlab.engine.data import Panel
    from quantlab.engine.ml import Segments, WorkflowConfig, run_workflow

    wide = frame.pivot(index="date", columns="symbol")
    cal = wide.index.to_numpy().astype("datetime64[D]")
    fields = {f: wide[f][SYMBOLS].to_numpy(dtype=np.float64) for f in
              ("open", "high", "low", "close", "volume", "sig", "noise")}  # fmt: skip
    panel = Panel.from_arrays(cal, SYMBOLS, fields)
    seg = Segments(*(tuple(SEGMENTS[k]) for k in ("train", "valid", "test")))
    cfg = WorkflowConfig(
        segments=seg,
        features=tuple(body["features"]),
        universe=body["universe"],
        processors=tuple(body["processors"]),
        model=body["model"],
        params=body["params"],
        seed=body["seed"],
    )
    return run_workflow(panel, cfg), panel


async def test_runs_results_compare_delete_and_idor(app: Any, client: Any, make_user: Any) -> None:
    from sqlalchemy import select

    from quantlab.platform.audit import AuditEvent

    alice, bob = await make_user(), await make_user()
    h = alice.headers
    frame = market_frame()
    dataset_id = await store_dataset(app, alice.id, frame, "ml")

    body = ridge(dataset_id)
    resp = await client.post("/api/models", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["data"]["id"]
    lgb_body = ridge(
        dataset_id,
        name="lgb",
        model="lightgbm",
        params={"num_boost_round": 30, "learning_rate": 0.2, "num_leaves": 7},
        processors=[{"name": "DropnaLabel"}, {"name": "CSZScoreNorm"}],
        backtest={"topk": 3, "n_drop": 1, "benchmark": "IDX"},
    )
    resp = await client.post("/api/models", json=lgb_body, headers=h)
    assert resp.status_code == 202, resp.text
    lgb_id = resp.json()["data"]["id"]

    done = await wait_done(client, h, run_id)
    assert done["status"] == "completed", done
    assert done["request"]["dataset_version"] == 1 and done["engine_version"]
    lgb = await wait_done(client, h, lgb_id)
    assert lgb["status"] == "completed", lgb

    # the stored predictions equal a direct engine run of the same configuration
    want, panel = direct(frame, body)
    preds = (await client.get(f"/api/models/{run_id}/predictions", headers=h)).json()["data"]
    assert preds["instruments"] == list(panel.instruments)
    rows = [int(np.searchsorted(panel.calendar, np.datetime64(d))) for d in preds["dates"]]
    got = np.array([[np.nan if v is None else v for v in r] for r in preds["values"]])
    np.testing.assert_array_equal(got, want.predictions[rows])
    assert preds["dates"][0] == "2022-06-01" and preds["dates"][-1] == "2022-08-05"

    sig = (await client.get(f"/api/models/{run_id}/signal", headers=h)).json()["data"]
    assert sig["ic"] == pytest.approx(want.signal.ic, abs=1e-12) and sig["ic"] > 0.7
    assert len(sig["daily_ic"]) == sig["n_days"] > 40
    imp = (await client.get(f"/api/models/{run_id}/importance", headers=h)).json()["data"]
    assert imp["features"] == ["F0", "F1", "F2"] and imp["windows"][0]["coef"][0] > 0.005
    imp = (await client.get(f"/api/models/{lgb_id}/importance", headers=h)).json()["data"]
    assert set(imp["windows"][0]) == {"gain", "split"}
    curve = (await client.get(f"/api/models/{lgb_id}/learning-curve", headers=h)).json()["data"]
    assert len(curve["windows"][0]["valid"]) >= curve["best_rounds"][0] >= 1
    bt = (await client.get(f"/api/models/{lgb_id}/backtest", headers=h)).json()["data"]
    assert bt["n_trades"] > 0 and bt["annualized_excess_return_without_cost"] is not None
    resp = await client.get(f"/api/models/{run_id}/backtest", headers=h)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "MODEL_RUN_NOT_READY"

    listed = (await client.get("/api/models", headers=h)).json()
    assert {r["id"] for r in listed["data"]} == {run_id, lgb_id}
    cmp = await client.post("/api/models/compare", json={"ids": [run_id, lgb_id]}, headers=h)
    assert [r["model"] for r in cmp.json()["data"]] == ["ridge", "lightgbm"]
    assert cmp.json()["data"][1]["backtest"]["n_trades"] == bt["n_trades"]

    await assert_no_idor(
        client,
        h,
        bob.headers,
        read=f"/api/models/{run_id}",
        delete=f"/api/models/{run_id}",
        missing=f"/api/models/{'0' * 32}",
    )
    for part in ("signal", "importance", "predictions"):
        resp = await client.get(f"/api/models/{run_id}/{part}", headers=bob.headers)
        assert resp.status_code == 404

    assert (await client.delete(f"/api/models/{run_id}", headers=h)).status_code == 204
    assert (await client.get(f"/api/models/{run_id}", headers=h)).status_code == 404
    async with app.state.db.sessionmaker() as session:
        actions = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.resource_id == run_id))
        ).all()
    assert sorted(actions) == ["model_run.create", "model_run.delete"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"segments": {**SEGMENTS, "valid": ["2022-04-20", "2022-05-31"]}},
            "overlaps",
        ),
        ({"segments": {**SEGMENTS, "test": ["2023-06-01", "2023-08-05"]}}, "outside the data"),
        ({"label": "$close / Ref($close, 1) - 1"}, "does not read the future"),
        ({"features": ["Ref($close, -1)"]}, "invalid expression"),
        ({"min_train_rows": 100_000}, "fewer than"),
        ({"params": {"alpah": 1.0}}, "unknown hyper-parameters"),
        ({"model": "mlp", "params": {}, "processors": [{"name": "DropnaLabel"}]}, "Fillna"),
        ({"universe": ["600000", "NOPE"]}, "unknown instruments"),
        ({"backtest": {"benchmark": "NOPE"}}, "benchmark NOPE"),
    ],
)
async def test_bad_configurations_are_422_before_training(
    app: Any, client: Any, make_user: Any, change: dict[str, Any], message: str
) -> None:
    user = await make_user()
    dataset_id = await store_dataset(app, user.id, market_frame(), "ml")
    resp = await client.post("/api/models", json=ridge(dataset_id, **change), headers=user.headers)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "INVALID_MODEL_CONFIG" and message in err["message"]
    listed = (await client.get("/api/models", headers=user.headers)).json()
    assert listed["data"] == []  # nothing recorded, nothing queued


async def test_unknown_dataset_and_malformed_request(client: Any, make_user: Any) -> None:
    user = await make_user()
    resp = await client.post("/api/models", json=ridge("0" * 32), headers=user.headers)
    assert resp.status_code == 404
    resp = await client.post(
        "/api/models", json={**ridge("0" * 32), "model": "svm"}, headers=user.headers
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_predictions_are_a_factor_the_factor_lab_evaluates(
    app: Any, client: Any, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    h = alice.headers
    frame = market_frame()
    dataset_id = await store_dataset(app, alice.id, frame, "ml")
    other_dataset = await store_dataset(app, alice.id, frame, "ml-copy")
    resp = await client.post("/api/models", json=ridge(dataset_id), headers=h)
    run_id = resp.json()["data"]["id"]
    assert (await wait_done(client, h, run_id))["status"] == "completed"

    resp = await client.post(f"/api/models/{run_id}/factor", json={"name": "ridge_sig"}, headers=h)
    assert resp.status_code == 201, resp.text
    factor = resp.json()["data"]
    assert factor["kind"] == "model" and factor["model_run_id"] == run_id
    assert factor["expression"] is None and factor["code"] is None
    taken = await client.post(f"/api/models/{run_id}/factor", json={"name": "ridge_sig"}, headers=h)
    assert taken.status_code == 409
    resp = await client.post(
        f"/api/models/{run_id}/factor", json={"name": "x"}, headers=bob.headers
    )
    assert resp.status_code == 404
    listed = await client.get("/api/factors", params={"kind": "model"}, headers=h)
    assert [f["id"] for f in listed.json()["data"]] == [factor["id"]]
    edit = await client.patch(
        f"/api/factors/{factor['id']}", json={"expression": "$close"}, headers=h
    )
    assert edit.status_code == 422, edit.text

    label = "Ref($close, -2) / Ref($close, -1) - 1"
    body = {"factor_id": factor["id"], "dataset_id": dataset_id, "horizons": [1], "label": label}
    wrong = await client.post(
        "/api/factors/evaluate", json={**body, "dataset_id": other_dataset}, headers=h
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"]["code"] == "MODEL_FACTOR_UNAVAILABLE"
    resp = await client.post("/api/factors/evaluate", json=body, headers=h)
    assert resp.status_code in (201, 202), resp.text
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done
    result = done["result"]

    # the daily IC against the label, by pandas from the stored predictions and the prices
    preds = (await client.get(f"/api/models/{run_id}/predictions", headers=h)).json()["data"]
    scores = pd.DataFrame(preds["values"], index=preds["dates"], columns=preds["instruments"])
    close = frame.pivot(index="date", columns="symbol")["close"]
    close.index = [str(d)[:10] for d in close.index]
    fwd = close.shift(-2) / close.shift(-1) - 1
    want = {
        d: scores.loc[d].astype(float).corr(fwd.loc[d, scores.columns].astype(float))
        for d in scores.index
    }
    got = dict(zip(result["dates"], result["ic"]["1"], strict=True))
    compared = [d for d in want if not np.isnan(want[d])]
    assert len(compared) > 40
    for d in compared:  # stored prices are float32: labels agree to ~1e-7
        assert got[d] == pytest.approx(want[d], abs=1e-5), d
    assert all(got[d] is None for d in got if d < preds["dates"][0])  # no predictions yet
    # the run's own signal analysis reads the same label: the same mean IC
    sig = (await client.get(f"/api/models/{run_id}/signal", headers=h)).json()["data"]
    assert np.nanmean([want[d] for d in compared]) == pytest.approx(sig["ic"], abs=1e-5)

    # the run cannot be deleted while a factor holds its predictions
    resp = await client.delete(f"/api/models/{run_id}", headers=h)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "MODEL_RUN_IN_USE"
    assert (await client.delete(f"/api/factors/{factor['id']}", headers=h)).status_code == 200
    assert (await client.delete(f"/api/models/{run_id}", headers=h)).status_code == 204
