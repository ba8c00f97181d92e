"""A model run's predictions as a backtest's scores through ``POST /api/backtests`` (both
databases): the backtest equals the run's own top-k backtest trade for trade; another
user's run is 404, an unfinished run 409, a run of another dataset 422; the served spec
schema describes the model score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.backtests.conftest import wait_done as wait_backtest
from tests.helpers.datasets import store_dataset
from tests.ml.test_router import SEGMENTS, market_frame, ridge, wait_done

TOPK, N_DROP = 3, 1


def model_spec(dataset_id: str, run_id: str, **overrides: Any) -> dict[str, Any]:
    """The run's own backtest (Qlib's exchange, the same top-k) as a backtest request."""
    from quantlab.engine.ml import QLIB_RUN_CONFIG

    body: dict[str, Any] = {
        **QLIB_RUN_CONFIG,
        "name": "model scores",
        "dataset_id": dataset_id,
        "start": SEGMENTS["test"][0],
        "end": SEGMENTS["test"][1],
        "strategy": {
            "kind": "scores",
            "score": {"model_run_id": run_id},
            "top_k": TOPK,
            "n_drop": N_DROP,
            "rebalance": "daily",
        },
    }
    body.update(overrides)
    return body


async def all_trades(client: Any, headers: dict[str, str], backtest_id: str) -> list[Any]:
    out: list[Any] = []
    page = 1
    while True:
        resp = await client.get(
            f"/api/backtests/{backtest_id}/trades",
            params={"page": page, "size": 100},
            headers=headers,
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out += body["data"]
        if len(out) >= body["meta"]["total"]:
            return out
        page += 1


async def own_backtest_trades(app: Any, user: Any, dataset_id: str, folder: str) -> Any:
    """The model run's own backtest rebuilt in process, as ``models.train`` runs it: the
    stored dataset version and the stored predictions through the engine's one entry."""
    from quantlab.auth.service import Owner
    from quantlab.datasets import service as dataset_service
    from quantlab.engine.backtest.analysis import trades_frame
    from quantlab.engine.ml import prediction_spec, with_scores
    from quantlab.engine.ml.backtest import SCORE_FIELD
    from quantlab.engine.runner import run
    from quantlab.ml.tasks import predictions_on

    data_dir = app.state.settings.data_dir
    async with app.state.db.sessionmaker() as session:
        panel, _ = await dataset_service.load_dataset_panel(
            session, Owner(user.id, False), dataset_id, data_dir, version=1
        )
    scores = predictions_on(data_dir / folder, panel)
    full = with_scores(panel, scores, SCORE_FIELD)
    lo, hi = (np.datetime64(d, "D") for d in SEGMENTS["test"])
    res = run(prediction_spec(TOPK, N_DROP), full, start=lo, end=hi, diagnostics=False, cache=None)
    sim = res.simulation
    return trades_frame(sim.trades, sim.calendar, sim.instruments)


async def test_model_scores_backtest_equals_the_runs_own(
    app: Any, client: Any, make_user: Any
) -> None:
    from sqlalchemy import select

    from quantlab.ml.models import ModelRun

    alice, bob = await make_user(), await make_user()
    h = alice.headers
    dataset_id = await store_dataset(app, alice.id, market_frame(), "ml")
    body = ridge(
        dataset_id,
        name="lgb",
        model="lightgbm",
        params={"num_boost_round": 30, "learning_rate": 0.2, "num_leaves": 7},
        processors=[{"name": "DropnaLabel"}, {"name": "CSZScoreNorm"}],
        backtest={"topk": TOPK, "n_drop": N_DROP, "benchmark": "IDX"},
    )
    resp = await client.post("/api/models", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["data"]["id"]
    assert (await wait_done(client, h, run_id))["status"] == "completed"
    own = (await client.get(f"/api/models/{run_id}/backtest", headers=h)).json()["data"]
    assert own["n_trades"] > 10
    assert own["initial_capital"] == 100_000_000  # Qlib's workflow account, said so

    resp = await client.post("/api/backtests", json=model_spec(dataset_id, run_id), headers=h)
    assert resp.status_code == 202, resp.text
    backtest_id = resp.json()["data"]["id"]
    done = await wait_backtest(client, h, backtest_id)
    assert done["status"] == "completed", done
    assert done["request"]["strategy"]["score"] == {"model_run_id": run_id}
    got = await all_trades(client, h, backtest_id)

    # trade for trade: the run's own backtest, rebuilt from its stored predictions
    want = await own_backtest_trades(app, alice, dataset_id, f"models/{run_id}")
    assert len(got) == len(want) == own["n_trades"]
    for g, (_, w) in zip(got, want.iterrows(), strict=True):
        assert (g["date"], g["symbol"], g["side"]) == (w["date"], w["symbol"], w["side"])
        assert g["quantity"] == w["quantity"]
        assert g["price"] == pytest.approx(w["price"], rel=1e-12)
    costs = sum(t["commission"] + t["tax"] for t in got)
    assert costs == pytest.approx(own["costs_paid"], rel=1e-9)
    # the first test day trades nothing: its score was made the day before the span
    assert got[0]["date"] > SEGMENTS["test"][0]

    # another user's run is not found; neither is a run that does not exist
    bob_data = await store_dataset(app, bob.id, market_frame(), "ml-bob")
    for rid in (run_id, "0" * 32):
        resp = await client.post(
            "/api/backtests", json=model_spec(bob_data, rid), headers=bob.headers
        )
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "MODEL_RUN_NOT_FOUND"

    # a run of another dataset: 422 naming the run's dataset
    other = await store_dataset(app, alice.id, market_frame(), "ml-copy")
    resp = await client.post("/api/backtests", json=model_spec(other, run_id), headers=h)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "BACKTEST_INVALID_CONFIG" and dataset_id in err["message"]

    # an unfinished (queued) run: 409 with its status
    async with app.state.db.sessionmaker() as session:
        row = await session.scalar(select(ModelRun).where(ModelRun.id == run_id))
        assert row is not None
        queued = ModelRun(
            owner_id=alice.id, name="queued", status="pending", dataset_id=dataset_id,
            dataset_version=1, model="ridge", request=row.request,
            engine_version=row.engine_version, seed=0,
        )  # fmt: skip
        session.add(queued)
        await session.commit()
        queued_id = queued.id
    resp = await client.post("/api/backtests", json=model_spec(dataset_id, queued_id), headers=h)
    assert resp.status_code == 409, resp.text
    err = resp.json()["error"]
    assert err["code"] == "MODEL_RUN_NOT_READY" and "pending" in err["message"]

    # a malformed reference is a validation error, not a lookup
    bad = model_spec(dataset_id, run_id)
    bad["strategy"]["score"] = {"model_run_id": "../x"}
    resp = await client.post("/api/backtests", json=bad, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_spec_schema_describes_model_scores(client: Any, make_user: Any) -> None:
    user = await make_user()
    resp = await client.get("/api/backtests/schema", headers=user.headers)
    assert resp.status_code == 200, resp.text
    schema = resp.json()["data"] if "data" in resp.json() else resp.json()
    defs = schema["$defs"]
    score = defs["ScoresStrategy"]["properties"]["score"]
    refs = [s.get("$ref", "") for s in score["anyOf"]]
    assert "#/$defs/ModelScores" in refs
    model = defs["ModelScores"]
    assert model["required"] == ["model_run_id"] and "predictions" in model["description"]
