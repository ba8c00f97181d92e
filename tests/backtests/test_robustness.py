"""Robustness checks end to end on both databases: a small run opting in runs its variants
in its own job; asked to (or when large) it enqueues child ``backtests.run`` jobs (visible
in /api/tasks, same owner). Either way the variants' results become the sensitivity and
walk-forward findings of the parent's /diagnostics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.backtests.conftest import dual_ma, make_dataset, start, wait_done


async def _children_done(client: Any, h: dict[str, str], bid: str) -> dict[str, Any]:
    import asyncio

    for _ in range(1200):
        view = (await client.get(f"/api/backtests/{bid}", headers=h)).json()["data"]
        if view["robustness"] and view["robustness"]["complete"]:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"robustness of {bid} unfinished: {view['robustness']}")


async def test_sensitivity_and_walk_forward_children_feed_diagnostics(
    app: Any, client: Any, make_user: Any
) -> None:
    from quantlab.engine.backtest import diagnostics as diag
    from quantlab.engine.backtest import metrics as m

    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    robustness = {"sensitivity": True, "walk_forward": {"windows": 2, "in_sample": 0.6},
                  "run_as": "jobs"}  # fmt: skip
    bid = await start(client, h, dual_ma(dataset_id, robustness=robustness))
    parent = await wait_done(client, h, bid)
    assert parent["status"] == "completed", parent
    view = await _children_done(client, h, bid)
    children = view["robustness"]["children"]
    kinds = [c["variant"]["kind"] for c in children]
    assert kinds.count("sensitivity") == 4 and kinds.count("walk_forward") == 2
    moves = {(c["variant"]["parameter"], c["variant"]["value"]) for c in children
             if c["variant"]["kind"] == "sensitivity"}  # fmt: skip
    assert moves == {("window=5", 6), ("window=5", 4), ("window=20", 22), ("window=20", 18)}
    assert all(c["status"] == "completed" for c in children), [
        (c["variant"], c["status"], c.get("error")) for c in children
    ]

    # children are real jobs of the same owner, and not listed as top-level backtests
    jobs = (await client.get("/api/tasks", params={"size": 50}, headers=h)).json()["data"]
    child_jobs = {j["id"]: j for j in jobs if j["id"] in {c["job_id"] for c in children}}
    assert len(child_jobs) == 6
    assert all(j["type"] == "backtests.run" and j["owner_id"] == alice.id
               for j in child_jobs.values())  # fmt: skip
    listed = (await client.get("/api/backtests", headers=h)).json()
    assert [b["id"] for b in listed["data"]] == [bid]

    # a child runs the varied spec: its metrics are its own, reachable by id
    fast = next(c for c in children if c["variant"].get("parameter") == "window=5"
                and c["variant"]["value"] == 6)  # fmt: skip
    child = (await client.get(f"/api/backtests/{fast['id']}", headers=h)).json()["data"]
    assert child["parent_id"] == bid and child["request"]["robustness"] is None
    assert child["request"]["strategy"]["entry"] == "Cross(Mean($close,6),Mean($close,20))"

    # the findings: the engine's functions on the children's own numbers
    findings = (await client.get(f"/api/backtests/{bid}/diagnostics", headers=h)).json()["data"]
    sens = next(f for f in findings if f["title"] == "Parameter sensitivity")
    wf = next(f for f in findings if f["title"] == "Walk-forward efficiency")
    scores = [parent["metrics"]["sharpe_ratio"]]
    windows = []
    for c in children:
        body = (await client.get(f"/api/backtests/{c['id']}", headers=h)).json()["data"]
        if c["variant"]["kind"] == "sensitivity":
            scores.append(body["metrics"]["sharpe_ratio"])
            continue
        assert body["request"]["start"] == c["variant"]["start"]
        assert body["request"]["end"] == c["variant"]["end"]
        eq = (await client.get(f"/api/backtests/{c['id']}/equity", headers=h)).json()["data"]
        equity = np.array([p["equity"] for p in eq["points"]])
        returns = equity / np.concatenate([[1_000_000.0], equity[:-1]]) - 1.0
        split = np.array([p["date"] >= c["variant"]["split"] for p in eq["points"]])
        windows.append((m.sharpe_ratio(returns[~split]), m.sharpe_ratio(returns[split])))
    expected = diag.parameter_sensitivity([({}, s) for s in scores]).to_dict()
    assert sens["evidence"]["runs"] == 5
    assert sens["evidence"]["chosen"] == pytest.approx(expected["evidence"]["chosen"])
    assert sens["evidence"]["neighbour_median"] == pytest.approx(
        expected["evidence"]["neighbour_median"]
    )
    assert sens["severity"] == expected["severity"]
    assert len(sens["evidence"]["variants"]) == 4
    expected_wf = diag.walk_forward(windows).to_dict()
    assert wf["evidence"]["windows"] == 2 and wf["severity"] == expected_wf["severity"]
    for key in ("in_sample_mean", "out_of_sample_mean"):
        assert wf["evidence"][key] == pytest.approx(expected_wf["evidence"][key], rel=1e-9)
    # the parent's other findings are still there, each once
    titles = [f["title"] for f in findings]
    assert len(titles) == len(set(titles)) and "Bootstrap luck percentile" in titles

    # deleting the parent removes its children too
    assert (await client.delete(f"/api/backtests/{bid}", headers=h)).status_code == 204
    gone = await client.get(f"/api/backtests/{fast['id']}", headers=h)
    assert gone.status_code == 404


async def test_robustness_request_is_validated(client: Any, researcher: Any) -> None:
    body = dual_ma("missing", robustness={"walk_forward": {"windows": 1}})
    resp = await client.post("/api/backtests", json=body, headers=researcher.headers)
    assert resp.status_code == 422
    assert "robustness" in resp.text


async def test_small_runs_check_robustness_in_process_with_the_same_findings(
    app: Any, client: Any, make_user: Any
) -> None:
    from quantlab import engine
    from quantlab.engine.backtest import diagnostics as diag
    from quantlab.engine.backtest import metrics as m
    from tests.engine.backtest.test_run import _panel_from_frame

    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    robustness = {"sensitivity": True, "walk_forward": {"windows": 2, "in_sample": 0.6}}
    body = dual_ma(dataset_id, robustness=robustness)
    bid = await start(client, h, body)
    parent = await wait_done(client, h, bid)
    assert parent["status"] == "completed", parent
    view = parent["robustness"]
    assert view["complete"] is True
    children = view["children"]
    assert all(c.get("id") is None and c["status"] == "completed" for c in children)
    kinds = [c["variant"]["kind"] for c in children]
    assert kinds.count("sensitivity") == 4 and kinds.count("walk_forward") == 2
    jobs = (await client.get("/api/tasks", params={"size": 50}, headers=h)).json()["data"]
    assert [j["type"] for j in jobs] == ["backtests.run"]  # no child jobs

    # the same findings from independent engine runs of the varied specs
    panel = _panel_from_frame()
    scores = [parent["metrics"]["sharpe_ratio"]]
    windows = []
    for c in children:
        v = c["variant"]
        if v["kind"] == "sensitivity":
            old = int(v["parameter"].split("=")[1])
            varied = dict(body)
            strategy = dict(body["strategy"])
            for key in ("entry", "exit"):
                strategy[key] = strategy[key].replace(f", {old})", f", {v['value']})")
            varied["strategy"] = strategy
            spec = engine.RunSpec.model_validate({**varied, "robustness": None})
            scores.append(engine.run(spec, panel).metrics["sharpe_ratio"])
            assert v["sharpe_ratio"] == pytest.approx(scores[-1], rel=1e-12)
        else:
            spec = engine.RunSpec.model_validate(
                {**body, "robustness": None, "start": v["start"], "end": v["end"]}
            )
            out = engine.run(spec, panel)
            split = out.dates.astype(str) >= v["split"]
            windows.append(
                (m.sharpe_ratio(out.returns[~split]), m.sharpe_ratio(out.returns[split]))
            )
    findings = (await client.get(f"/api/backtests/{bid}/diagnostics", headers=h)).json()["data"]
    sens = next(f for f in findings if f["title"] == "Parameter sensitivity")
    wf = next(f for f in findings if f["title"] == "Walk-forward efficiency")
    expected = diag.parameter_sensitivity([({}, s) for s in scores]).to_dict()
    assert sens["evidence"]["runs"] == 5
    assert sens["evidence"]["chosen"] == pytest.approx(expected["evidence"]["chosen"])
    assert sens["severity"] == expected["severity"]
    expected_wf = diag.walk_forward(windows).to_dict()
    for key in ("in_sample_mean", "out_of_sample_mean"):
        assert wf["evidence"][key] == pytest.approx(expected_wf["evidence"][key], rel=1e-9)


def test_sensitivity_moves_the_parameters_indicators_set() -> None:
    # RSI's period named as a parameter, BOLL's width a number: each moves ±10 % within
    # the indicator's range (the children run like any other, through the job or in
    # process); RSI's other periods, defaults the spec leaves, stay
    from quantlab import engine
    from quantlab.backtests.robustness import sensitivity_children
    from tests.engine.backtest.test_run import _panel_from_frame

    body = dual_ma("ds", robustness={"sensitivity": True}, parameters={"period": 10},
                   indicators={"rsi": {"indicator": "RSI", "params": {"n1": "{period}"},
                                       "output": "RSI1"},
                               "up": {"indicator": "BOLL", "params": {"k": 2.0},
                                      "output": "UB"}})  # fmt: skip
    body["strategy"] = {**body["strategy"], "entry": "Lt($rsi, 45)", "exit": "Gt($close, $up)"}
    children = sensitivity_children(engine.RunSpec.model_validate(body))
    moves = [(c.variant["parameter"], c.variant["value"]) for c in children]
    assert moves == [("period", 11), ("period", 9),
                     ("indicators.up.k", 2.2), ("indicators.up.k", 1.8)]  # fmt: skip
    panel = _panel_from_frame()
    sharpes = set()
    for c in children:
        v = c.variant
        varied = {**body, "robustness": None}
        if v["parameter"] == "period":
            varied["parameters"] = {"period": v["value"]}
        else:
            varied["indicators"] = {**body["indicators"], "up": {
                "indicator": "BOLL", "params": {"k": v["value"]}, "output": "UB"}}  # fmt: skip
        alone = engine.run(engine.RunSpec.model_validate(varied), panel)
        child = engine.run(c.request, panel)
        assert child.metrics == alone.metrics
        sharpes.add(child.metrics["sharpe_ratio"])
    assert len(sharpes) > 1
