"""The builder routes on both databases: graph tools, hostile graphs as clear 4xx, drafts
(autosave with versions, 409 on a stale save, expiry, snapshots, IDOR), node preview
against a hand computation, quick test as a job through engine.run, save as a strategy
with its version history."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantlab import engine
from quantlab.engine import builder
from quantlab.engine.data import Panel
from quantlab.engine.library import TEMPLATES
from quantlab.engine.library.examples import template_spec
from tests.backtests.conftest import SYMBOLS, make_dataset, market_frame
from tests.engine.builder.graphs import dual_ma, edge, node
from tests.helpers.idor import assert_no_idor


async def _post(client: Any, h: dict[str, str], url: str, body: Any, code: int = 200) -> Any:
    resp = await client.post(url, json=body, headers=h)
    assert resp.status_code == code, resp.text
    return resp.json()


async def test_graph_tools(client: Any, make_user: Any) -> None:
    h = (await make_user()).headers
    schema = (await client.get("/api/builder/schema", headers=h)).json()["data"]
    assert schema["x-schema-version"] == 1
    cat = (await client.get("/api/builder/catalog", headers=h)).json()["data"]
    types = {t["type"] for t in cat["node_types"]}
    assert {"op.Cross", "signal.entry", "indicator.MACD", "strategy"} <= types

    g = dual_ma()
    report = (await _post(client, h, "/api/builder/validate", {"graph": g}))["data"]
    assert report == {"valid": True, "issues": []}
    compiled = (await _post(client, h, "/api/builder/compile", {"graph": g}))["data"]
    assert compiled["body"]["strategy"]["entry"] == "Cross(Mean($close, {fast}), Mean($close, 20))"
    assert compiled["shared"] == ["close", "fast", "slow"]
    py = (await _post(client, h, "/api/builder/python", {"graph": g}))["data"]
    assert py["strategy"]["kind"] == "code" and "def Mean(" in py["code"]
    words = (await _post(client, h, "/api/builder/describe", {"graph": g}))["data"]
    assert words["zh-CN"] and words["en"].startswith("Buys when")
    qlib = (await _post(client, h, "/api/builder/qlib-yaml", {"graph": g}))["data"]
    assert qlib["supported"] is False and "signals" in qlib["reason"]

    spec = template_spec(TEMPLATES["topk_alpha158"], "x").model_dump(mode="json")
    opened = (await _post(client, h, "/api/builder/from-spec", {"spec": spec}))["data"]
    assert opened["dropped"] == []
    qlib = (await _post(client, h, "/api/builder/qlib-yaml", {"graph": opened["graph"]}))["data"]
    assert qlib["supported"] and "TopkDropoutStrategy" in qlib["yaml"]


async def test_saved_factor_block(client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    created = await _post(
        client,
        alice.headers,
        "/api/factors",
        {"name": "momo20", "expression": "$close / Ref($close, 20) - 1"},
        201,
    )
    fid = created["data"]["id"]
    cat = (await client.get("/api/builder/catalog", headers=alice.headers)).json()["data"]
    assert fid in {f["id"] for f in cat["factors"]}
    g = {
        "nodes": [
            node("f", "factor", factor_id=fid),
            node("pick", "select.top_k", top_k=3, n_drop=1),
            node("out", "strategy"),
        ],
        "edges": [edge("f", "pick", "score"), edge("pick", "out", "select")],
    }
    body = (await _post(client, alice.headers, "/api/builder/compile", {"graph": g}))["data"]
    assert body["body"]["strategy"]["score"] == "($close / Ref($close, 20) - 1)"
    # another user's private factor is a 404, as if it did not exist
    resp = await client.post("/api/builder/compile", json={"graph": g}, headers=bob.headers)
    assert resp.status_code == 404, resp.text


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda g: g.update(nodes=[node(f"n{i}", "field") for i in range(10_000)]), 422, None),
        (lambda g: g["nodes"].append(node("x'); import os #", "field")), 422, None),
        (lambda g: g["nodes"].append(node("u", "os.system")), 422, "BUILDER_INVALID_GRAPH"),
        (lambda g: g["edges"].append(edge("out", "close", "x")), 422, "BUILDER_INVALID_GRAPH"),
        (lambda g: g["nodes"][0]["params"].update(name="a'); b('"), 422, "BUILDER_INVALID_GRAPH"),
    ],
)
async def test_hostile_graphs_get_clear_4xx(
    client: Any, make_user: Any, mutate: Any, status: int, code: str | None
) -> None:
    h = (await make_user()).headers
    g = dual_ma()
    mutate(g)
    resp = await client.post("/api/builder/compile", json={"graph": g}, headers=h)
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    if code is not None:
        assert err["code"] == code
        assert all(i["message"] and i["fix"] for i in err["details"]["issues"])


async def test_deep_nesting_and_cycles_name_their_nodes(client: Any, make_user: Any) -> None:
    h = (await make_user()).headers
    g = dual_ma()
    g["edges"].append(edge("up", "close", "x"))  # a field has no input port
    prev = "up"
    for i in range(12):
        g["nodes"].append(node(f"not{i}", "op.Not"))
        g["edges"].append(edge(prev, f"not{i}", "x"))
        prev = f"not{i}"
    g["edges"] = [e for e in g["edges"] if e["target"] != "buy"] + [edge(prev, "buy", "when")]
    resp = await client.post("/api/builder/validate", json={"graph": g}, headers=h)
    issues = resp.json()["data"]["issues"]
    codes = {i["code"]: i for i in issues}
    assert codes["unknown_port"]["edge_id"] == "up-close-x"
    assert codes["nesting_too_deep"]["node_id"].startswith("not")


async def test_drafts_autosave_conflict_snapshots_and_idor(client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    h = alice.headers
    draft = (await _post(client, h, "/api/builder/drafts", {"name": "mine"}, 201))["data"]
    did = draft["id"]
    assert draft["version"] == 1 and draft["expires_at"] is not None
    save = {"graph": dual_ma(), "version": 1}
    saved = (await client.put(f"/api/builder/drafts/{did}", json=save, headers=h)).json()["data"]
    assert saved["version"] == 2
    stale = await client.put(f"/api/builder/drafts/{did}", json=save, headers=h)
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current_version"] == 2
    snap = (await _post(client, h, f"/api/builder/drafts/{did}/snapshots", {"message": "ok"}, 201))[
        "data"
    ]
    changed = {"graph": {"nodes": [node("out", "strategy")], "edges": []}, "version": 2}
    assert (await client.put(f"/api/builder/drafts/{did}", json=changed, headers=h)).is_success
    url = f"/api/builder/drafts/{did}/snapshots/{snap['id']}/restore"
    restored = (await _post(client, h, url, None))["data"]
    assert restored["version"] == 4 and len(restored["graph"]["nodes"]) == len(dual_ma()["nodes"])
    listed = (await client.get(f"/api/builder/drafts/{did}/snapshots", headers=h)).json()
    assert [s["id"] for s in listed["data"]] == [snap["id"]]
    mine = (await client.get("/api/builder/drafts", headers=h)).json()
    assert mine["meta"]["total"] == 1
    theirs = (await client.get("/api/builder/drafts", headers=bob.headers)).json()
    assert theirs["meta"]["total"] == 0
    await assert_no_idor(
        client,
        h,
        bob.headers,
        read=f"/api/builder/drafts/{did}",
        update=("PUT", f"/api/builder/drafts/{did}", {"graph": dual_ma(), "version": 4}),
        delete=f"/api/builder/drafts/{did}",
        missing=f"/api/builder/drafts/{'0' * 32}",
    )
    for url in (f"/api/builder/drafts/{did}/snapshots", f"/api/builder/drafts/{did}/save"):
        resp = await client.post(url, json={}, headers=bob.headers)
        assert resp.status_code == 404, resp.text
    assert (await client.delete(f"/api/builder/drafts/{did}", headers=h)).is_success
    assert (await client.get(f"/api/builder/drafts/{did}", headers=h)).status_code == 404


async def test_unsaved_draft_expires_after_a_day(app: Any, client: Any, make_user: Any) -> None:
    from quantlab.builder.models import BuilderDraft
    from quantlab.platform.db import utcnow

    h = (await make_user()).headers
    did = (await _post(client, h, "/api/builder/drafts", {"name": "old"}, 201))["data"]["id"]
    async with app.state.db.sessionmaker() as session:
        row = await session.get(BuilderDraft, did)
        row.expires_at = utcnow() - timedelta(minutes=1)
        await session.commit()
    assert (await client.get(f"/api/builder/drafts/{did}", headers=h)).status_code == 404
    assert (await client.get("/api/builder/drafts", headers=h)).json()["meta"]["total"] == 0


async def test_preview_matches_a_hand_computed_mean(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    frame = market_frame()
    dataset_id = await make_dataset(app, alice.id, frame)
    body = {
        "graph": dual_ma(),
        "node_id": "fast",
        "dataset_id": dataset_id,
        "symbols": SYMBOLS[:3],
        "start": "2023-06-01",
        "end": "2023-09-29",
    }
    out = (await _post(client, alice.headers, "/api/builder/preview", body))["data"]
    assert out["expression"] == "Mean($close, 5)"
    wide = frame.pivot(index="date", columns="symbol", values="close")
    hand = wide[SYMBOLS[0]].astype("float32").astype(float).rolling(5, min_periods=1).mean()
    hand = hand[(hand.index >= "2023-06-01") & (hand.index <= "2023-09-29")]
    assert out["dates"][0] == str(hand.index[0].date()) and len(out["dates"]) == len(hand)
    np.testing.assert_allclose(out["series"][SYMBOLS[0]], hand.to_numpy(), rtol=1e-6)
    assert out["stats"]["nan_share"] == 0.0
    assert out["per_symbol"][SYMBOLS[0]]["max"] == pytest.approx(hand.max(), rel=1e-6)
    # an indicator block previews through the indicator catalog
    g = dual_ma()
    g["nodes"].append(node("macd", "indicator.MACD"))
    body.update(graph=g, node_id="macd", port="dif")
    out = (await _post(client, alice.headers, "/api/builder/preview", body))["data"]
    assert out["port"] == "dif" and out["stats"]["nan_share"] < 1
    # ... and shows the values a run of the compiled graph uses (all history warms it up)
    ranked = {
        "nodes": [*g["nodes"], node("pick", "select.top_k", top_k=2, n_drop=1)],
        "edges": [edge("macd", "pick", "score", "dif"), edge("pick", "out", "select")],
    }
    ranked["nodes"] = [n for n in ranked["nodes"] if n["id"] in ("macd", "pick", "out")]
    spec = builder.compile_spec(builder.Graph.model_validate(ranked), dataset_id, end="2023-09-29")
    run = engine.run(spec, _panel(frame), diagnostics=False)
    used = run.outputs["strategy.score"][:, run_symbols(run).index(SYMBOLS[0])]
    tail = used[-len(out["dates"]) :]
    np.testing.assert_array_equal(np.array(out["series"][SYMBOLS[0]], dtype=float), tail)
    # a block whose input is broken: 422 naming it
    g["nodes"][1]["params"]["window"] = -3
    body.update(graph=g, node_id="up", port=None)
    resp = await client.post("/api/builder/preview", json=body, headers=alice.headers)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "BUILDER_INVALID_GRAPH"


def _panel(frame: pd.DataFrame) -> Panel:
    wide = frame.pivot(index="date", columns="symbol")
    return Panel.from_arrays(
        wide.index.to_numpy().astype("datetime64[D]"),
        list(wide["close"].columns),
        {f: wide[f].to_numpy(dtype=np.float64) for f in frame.columns[2:]},
    )


def run_symbols(run: engine.RunResult) -> list[str]:
    """The traded symbols of a run, in column order."""
    return [str(s) for s in run.simulation.instruments]


async def _wait_job(client: Any, h: dict[str, str], job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = (await client.get(f"/api/tasks/{job_id}", headers=h)).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            return dict(job)
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


async def test_quick_test_and_save_as_strategy(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    h = alice.headers
    frame = market_frame()
    dataset_id = await make_dataset(app, alice.id, frame)
    did = (await _post(client, h, "/api/builder/drafts", {"name": "dma", "graph": dual_ma()}, 201))[
        "data"
    ]["id"]
    body = {"dataset_id": dataset_id, "period": "6M", "universe": SYMBOLS[:6]}
    started = (await _post(client, h, f"/api/builder/drafts/{did}/quick-test", body, 202))["data"]
    job = await _wait_job(client, h, started["job_id"])
    assert job["status"] == "completed", job
    draft = (await client.get(f"/api/builder/drafts/{did}", headers=h)).json()["data"]
    result = draft["last_result"]
    assert result["job_id"] == started["job_id"] and result["trades"] > 0
    # the same spec run directly through the engine gives the same final equity
    spec = engine.RunSpec.model_validate(started["spec"])
    direct = engine.run(spec, _panel(frame), diagnostics=False)
    assert result["curve"][-1][1] == pytest.approx(float(direct.equity[-1]))
    assert pd.Timestamp(result["end"]) == pd.Timestamp(spec.end)
    # a second quick test: both results are kept, newest first, and listed
    body["period"] = "1M"
    second = (await _post(client, h, f"/api/builder/drafts/{did}/quick-test", body, 202))["data"]
    assert (await _wait_job(client, h, second["job_id"]))["status"] == "completed"
    listed = (await client.get(f"/api/builder/drafts/{did}/quick-tests", headers=h)).json()
    assert [r["job_id"] for r in listed["data"]] == [second["job_id"], started["job_id"]]
    assert listed["data"][1] == result and listed["data"][0]["start"] > result["start"]
    draft = (await client.get(f"/api/builder/drafts/{did}", headers=h)).json()["data"]
    assert draft["last_result"]["job_id"] == second["job_id"] and len(draft["results"]) == 2

    saved = (await _post(client, h, f"/api/builder/drafts/{did}/save", {"name": "DMA v"}))["data"]
    assert saved["strategy_version"] == 1 and saved["draft"]["expires_at"] is None
    drawn = saved["draft"]["graph"]
    g = dual_ma(fast=7)
    for i, n in enumerate(g["nodes"]):  # moved on the canvas and labelled
        n["position"], n["label"] = {"x": 13.5 * i, "y": -40.0 * i}, f"block {i}"
    put = {"graph": g, "version": draft["version"]}
    assert (await client.put(f"/api/builder/drafts/{did}", json=put, headers=h)).is_success
    again = await _post(client, h, f"/api/builder/drafts/{did}/save", {"message": "fast 7"})
    assert again["data"]["strategy_id"] == saved["strategy_id"]
    assert again["data"]["strategy_version"] == 2
    sid = saved["strategy_id"]
    versions = (await client.get(f"/api/strategies/{sid}/versions", headers=h)).json()["data"]
    assert [v["version"] for v in versions][:2] in ([2, 1], [1, 2])
    strategy = (await client.get(f"/api/strategies/{sid}", headers=h)).json()["data"]
    assert strategy["body"]["parameters"] == {"fast": 7.0, "slow_window": 20.0}
    # each saved version reopens in the builder exactly as drawn, not rebuilt from its spec
    url = f"/api/builder/strategies/{sid}/graph"
    opened = (await client.get(url, headers=h)).json()["data"]
    assert opened["source"] == "saved" and opened["strategy_version"] == 2
    assert opened["dropped"] == []
    assert opened["graph"] == builder.Graph.model_validate(g).model_dump(mode="json")
    first = (await client.get(f"{url}?version=1", headers=h)).json()["data"]
    assert first["graph"] == drawn and first["strategy_version"] == 1
    assert (await client.get(f"{url}?version=9", headers=h)).status_code == 404
    other = await make_user()
    assert (await client.get(url, headers=other.headers)).status_code == 404
    # a strategy never drawn in the builder opens as its spec's graph
    created = await _post(
        client,
        h,
        "/api/strategies",
        {"name": "plain", "body": {"strategy": {"kind": "scores", "score": "-$close"}}},
        201,
    )
    plain = (
        await client.get(f"/api/builder/strategies/{created['data']['id']}/graph", headers=h)
    ).json()["data"]
    assert plain["source"] == "spec" and plain["strategy_version"] == 1
    kinds = {n["type"] for n in plain["graph"]["nodes"]}
    assert {"select.top_k", "strategy"} <= kinds
