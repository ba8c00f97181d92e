"""A model run on a dated universe (uploaded CSV membership): the stored predictions equal a
direct engine run with the same spans, only members are scored on each day, and an unknown
universe or a universe given twice is refused before training."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab.engine.ml import Segments, WorkflowConfig, run_workflow
from tests.helpers.datasets import store_dataset
from tests.ml.test_router import SEGMENTS, SYMBOLS, direct, market_frame, ridge, wait_done


async def test_dated_universe_scores_members_only(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    h = alice.headers
    frame = market_frame()
    dataset_id = await store_dataset(app, alice.id, frame, "ml")
    # 600000 leaves on 2022-07-01 (mid test span); 600011 joins then; 10 others all along.
    rows = [f"{s},2022-01-03," for s in SYMBOLS[1:11]]
    rows += ["600000,2022-01-03,2022-06-30", "600011,2022-07-01,"]
    csv = ("symbol,start,end\n" + "\n".join(rows) + "\n").encode()
    resp = await client.post(f"/api/datasets/{dataset_id}/universes", headers=h,
                             data={"name": "idx"}, files={"file": ("idx.csv", csv)})  # fmt: skip
    assert resp.status_code == 201, resp.text
    body = ridge(dataset_id, universe="all", dated_universe="idx")
    resp = await client.post("/api/models", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    done = await wait_done(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done

    _, panel = direct(frame, {**body, "universe": None})
    spans = {s: [("2022-01-03", "2262-04-11")] for s in SYMBOLS[1:11]}
    spans |= {"600000": [("2022-01-03", "2022-06-30")], "600011": [("2022-07-01", "2262-04-11")]}
    cfg = WorkflowConfig(
        segments=Segments(*(tuple(SEGMENTS[k]) for k in ("train", "valid", "test"))),
        features=tuple(body["features"]),
        universe=spans,
        processors=tuple(body["processors"]),
        model=body["model"],
        params=body["params"],
        seed=body["seed"],
    )
    want = run_workflow(panel, cfg)
    preds = (await client.get(f"/api/models/{done['id']}/predictions", headers=h)).json()["data"]
    assert preds["instruments"] == list(panel.instruments)
    dates = np.array(preds["dates"], dtype="datetime64[D]")
    rows_idx = [int(np.searchsorted(panel.calendar, d)) for d in dates]
    got = np.array([[np.nan if v is None else v for v in r] for r in preds["values"]])
    np.testing.assert_array_equal(got, want.predictions[rows_idx])
    names = list(panel.instruments)
    before = dates < np.datetime64("2022-07-01")
    assert np.isfinite(got[before, names.index("600000")]).all()
    assert np.isnan(got[~before, names.index("600000")]).all()
    assert np.isnan(got[before, names.index("600011")]).all()
    assert np.isfinite(got[~before, names.index("600011")]).all()
    assert np.isnan(got[:, names.index("IDX")]).all()

    resp = await client.post("/api/models", json={**body, "dated_universe": "nope"}, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "INVALID_MODEL_CONFIG"
    assert resp.json()["error"]["details"] == {"dated_universe": "nope"}
    both = {**body, "universe": SYMBOLS[:3]}
    resp = await client.post("/api/models", json=both, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "VALIDATION_ERROR"
