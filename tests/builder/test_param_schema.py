"""A strategy saved from the canvas carries a parameter schema derived from its graph (named
parameters and the literal windows of its operator blocks), so a grid study over the two
windows of a dual-MA graph runs through the API, each trial equal to an engine run of the
graph with those windows written in as literals."""

from __future__ import annotations

from typing import Any

import pytest

from quantlab.builder.params import tunable
from quantlab.engine import builder, run
from quantlab.engine.builder import Graph
from tests.engine.builder.graphs import dual_ma
from tests.helpers.datasets import store_dataset
from tests.studies.helpers import all_trials, market_frame, panel_of, wait_study

pytestmark = pytest.mark.timeout(600)


def test_literal_windows_become_named_parameters() -> None:
    graph = Graph.model_validate(dual_ma(fast=5, slow=20))
    named, schema = tunable(graph)
    by_name = {p.name: p for p in schema}
    assert sorted(by_name) == ["fast", "slow_window"]
    for p, default in ((by_name["fast"], 5), (by_name["slow_window"], 20)):
        assert (p.type, p.default, p.step) == ("int", default, 1)
        assert (p.min, p.max) == (0, 5000)  # the Mean block's window range
    assert named.parameters == {"fast": 5.0, "slow_window": 20.0}
    entry = builder.compile_graph(named).body["strategy"]["entry"]
    assert "{fast}" in entry and "{slow_window}" in entry
    # offsets, constants and non-operator numbers (stop-loss, sizing) stay literal
    assert len(schema) == 2 and tunable(named)[1] == schema


def test_literals_the_block_refuses_stay_for_validation() -> None:
    raw = dual_ma(fast=5, slow=20)
    slow = next(n for n in raw["nodes"] if n["id"] == "slow")
    slow["params"]["window"] = 20.5  # not a whole window: validation says so, not the schema
    named, schema = tunable(Graph.model_validate(raw))
    assert [p.name for p in schema] == ["fast"]
    assert next(n for n in named.nodes if n.id == "slow").params["window"] == 20.5


async def test_saved_builder_strategy_is_searchable(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    h = alice.headers
    frame = market_frame()
    dataset_id = await store_dataset(app, alice.id, frame, "builder-params")
    draft = {"name": "dma", "graph": dual_ma(fast=5, slow=20)}
    resp = await client.post("/api/builder/drafts", json=draft, headers=h)
    assert resp.status_code == 201, resp.text
    did = resp.json()["data"]["id"]
    resp = await client.post(f"/api/builder/drafts/{did}/save", json={"name": "DMA"}, headers=h)
    assert resp.status_code == 200, resp.text
    sid = resp.json()["data"]["strategy_id"]
    strategy = (await client.get(f"/api/strategies/{sid}", headers=h)).json()["data"]
    assert [p["name"] for p in strategy["param_schema"]] == ["fast", "slow_window"]

    body = {
        "strategy_id": sid,
        "dataset_id": dataset_id,
        "preset": "rules_off",
        "parameters": {"fast": {"min": 5, "max": 10, "step": 5},
                       "slow_window": {"min": 20, "max": 30, "step": 10}},
        "objectives": ["sharpe"],
        "method": "grid",
    }  # fmt: skip
    resp = await client.post("/api/studies", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    study = await wait_study(client, h, resp.json()["data"]["id"])
    assert study["status"] == "completed", study
    trials = await all_trials(client, h, study["id"])
    pairs = [(t["params"]["fast"], t["params"]["slow_window"]) for t in trials]
    assert pairs == [(5, 20), (5, 30), (10, 20), (10, 30)]
    spec = study["spec"]
    for t in trials:
        # the independent run: the graph with both windows as literals, no schema involved
        fast, slow = t["params"]["fast"], t["params"]["slow_window"]
        graph = Graph.model_validate(dual_ma(fast=fast, slow=slow))
        config = {k: spec[k] for k in ("start", "end", "initial_capital", "universe", "preset")}
        ref = run(builder.compile_spec(graph, dataset_id, **config), panel_of(frame),
                  diagnostics=False).metrics  # fmt: skip
        for name in ("sharpe_ratio", "total_return", "trade_count"):
            assert t["metrics"][name] == pytest.approx(ref[name], rel=1e-12, abs=1e-12), name
