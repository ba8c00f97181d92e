"""Studies through the API on both databases: a grid study equal to independent single runs
of the engine, every results route, seeded random and TPE studies that reproduce exactly,
404 on other users' objects, 4xx on absurd spaces before any job, pause and resume, apply
best as a new strategy version, and walk-forward optimisation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.helpers.datasets import store_dataset
from tests.helpers.idor import assert_no_idor
from tests.studies.helpers import all_trials, dual_ma, market_frame, panel_of, wait_study

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
async def market(app: Any, make_user: Any) -> tuple[Any, Any, str, Any]:
    alice, bob = await make_user(), await make_user()
    frame = market_frame()
    dataset_id = await store_dataset(app, alice.id, frame, "studies")
    return alice, bob, dataset_id, frame


async def _start(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/api/studies", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return dict(resp.json()["data"])


def _independent(frame: Any, dataset_id: str, fast: int, slow: int) -> dict[str, Any]:
    """One engine run of the template with these windows, built without the studies code."""
    from quantlab.engine import run
    from quantlab.engine.library import TEMPLATES
    from quantlab.engine.library.examples import template_spec

    spec = template_spec(TEMPLATES["dual_moving_average"], dataset_id, preset="rules_off")
    spec = spec.model_copy(update={"parameters": {"fast": fast, "slow": slow}})
    return dict(run(spec, panel_of(frame), diagnostics=False).metrics)


async def test_grid_equals_single_runs_and_results(client: Any, market: Any) -> None:
    alice, bob, dataset_id, frame = market
    h = alice.headers
    started = await _start(client, h, dual_ma(dataset_id))
    assert started["n_trials"] == 9
    study = await wait_study(client, h, started["id"])
    assert study["status"] == "completed", study
    assert study["progress"]["trials_done"] == 9
    trials = await all_trials(client, h, started["id"])
    assert [t["number"] for t in trials] == list(range(9))
    pairs = [(t["params"]["fast"], t["params"]["slow"]) for t in trials]
    assert pairs == [(f, s) for f in (5, 10, 15) for s in (20, 30, 40)]
    for t in trials:
        ref = _independent(frame, dataset_id, t["params"]["fast"], t["params"]["slow"])
        for name in ("sharpe_ratio", "total_return", "max_drawdown", "trade_count"):
            assert t["metrics"][name] == pytest.approx(ref[name], rel=1e-12, abs=1e-12), name
        assert t["values"] == pytest.approx([ref["sharpe_ratio"], ref["max_drawdown"]])

    best = max(trials, key=lambda t: t["values"][0])
    assert study["summary"]["best"]["number"] == best["number"]

    sid = started["id"]
    by_sharpe = (await client.get(f"/api/studies/{sid}/trials?sort=sharpe&order=desc",
                                  headers=h)).json()["data"]  # fmt: skip
    values = [t["metrics"]["sharpe_ratio"] for t in by_sharpe]
    assert values == sorted(values, reverse=True)
    top = (await client.get(f"/api/studies/{sid}/top", headers=h)).json()["data"]
    assert top[0]["number"] == best["number"] and len(top) == 9

    front = (await client.get(f"/api/studies/{sid}/pareto", headers=h)).json()["data"]
    on_front = {t["number"] for t in front}
    for t in trials:  # nothing off the front dominates a front member, and vice versa
        dominated = any(
            o["values"][0] >= t["values"][0] and o["values"][1] >= t["values"][1]
            and o["values"] != t["values"] for o in trials
        )  # fmt: skip
        assert dominated == (t["number"] not in on_front), t

    heat = (await client.get(f"/api/studies/{sid}/heatmap?x=fast&y=slow", headers=h)).json()
    assert heat["data"]["x"] == [5, 10, 15] and heat["data"]["y"] == [20, 30, 40]
    cell = next(t for t in trials if t["params"] == {"fast": 10, "slow": 30})
    assert heat["data"]["z"][1][1] == pytest.approx(cell["values"][0])
    sens = (await client.get(f"/api/studies/{sid}/sensitivity?param=fast", headers=h)).json()
    assert sens["data"]["best"][0] == pytest.approx(
        max(t["values"][0] for t in trials if t["params"]["fast"] == 5)
    )
    imp = (await client.get(f"/api/studies/{sid}/importance", headers=h)).json()["data"]
    assert set(imp["importances"]) == {"fast", "slow"}
    assert sum(imp["importances"].values()) == pytest.approx(1.0)

    report = await client.get(f"/api/studies/{sid}/report", headers=h)
    assert report.status_code == 200, report.text
    rep = report.json()["data"]
    assert 0.0 <= rep["pbo"] <= 1.0 and rep["n_trials"] == 9 and rep["best_trial"] == best["number"]
    assert 0.0 <= rep["dsr"]["dsr"] <= 1.0
    assert {f["title"] for f in rep["findings"]} == {
        "Probability of backtest overfitting", "Deflated Sharpe ratio"}  # fmt: skip

    bad = await client.get(f"/api/studies/{sid}/heatmap?x=fast&y=nope", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_STUDY"
    bad = await client.get(f"/api/studies/{sid}/trials?sort=no_such_metric", headers=h)
    assert bad.status_code == 422
    nowf = await client.get(f"/api/studies/{sid}/walk-forward", headers=h)
    assert nowf.status_code == 409 and nowf.json()["error"]["code"] == "STUDY_NOT_READY"

    await assert_no_idor(
        client, h, bob.headers,
        read=f"/api/studies/{sid}",
        delete=f"/api/studies/{sid}",
        missing=f"/api/studies/{'0' * 32}",
    )  # fmt: skip
    for part in ("trials", "top", "pareto", "importance", "report"):
        resp = await client.get(f"/api/studies/{sid}/{part}", headers=bob.headers)
        assert resp.status_code == 404, (part, resp.text)

    resp = await client.delete(f"/api/studies/{sid}", headers=h)
    assert resp.status_code == 204
    assert (await client.get(f"/api/studies/{sid}", headers=h)).status_code == 404


async def test_seeded_random_and_tpe_reproduce(client: Any, market: Any) -> None:
    alice, _, dataset_id, _ = market
    h = alice.headers
    space = {"fast": {"min": 2, "max": 30}, "slow": {"min": 10, "max": 80}}
    for method, n in (("random", 12), ("tpe", 14)):
        body = dual_ma(dataset_id, method=method, n_trials=n, seed=123, parameters=space,
                       objectives=["sharpe"])  # fmt: skip
        ids = [(await _start(client, h, body))["id"] for _ in range(2)]
        runs = []
        for sid in ids:
            study = await wait_study(client, h, sid)
            assert study["status"] == "completed", study
            runs.append([(t["number"], t["params"], t["values"])
                         for t in await all_trials(client, h, sid)])  # fmt: skip
        assert runs[0] == runs[1], method
        # TPE points that break fast < slow are pruned unrun (and not stored)
        assert len(runs[0]) == n if method == "random" else 0.5 * n < len(runs[0]) <= n
        assert all(p["fast"] < p["slow"] for _, p, _ in runs[0])
        other = dual_ma(dataset_id, method=method, n_trials=n, seed=124, parameters=space,
                        objectives=["sharpe"])  # fmt: skip
        sid = (await _start(client, h, other))["id"]
        await wait_study(client, h, sid)
        assert [t["params"] for t in await all_trials(client, h, sid)] != [
            p for _, p, _ in runs[0]]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"parameters": {"fast": {"min": 2, "max": 60, "step": 1e-5},
                         "slow": {"min": 5, "max": 250, "step": 1e-5}}}, "combinations"),
        ({"parameters": {"fast": {"min": 30, "max": 10}}}, "exceeds max"),
        ({"parameters": {"fast": {"choices": []}}}, "no choices"),
        ({"parameters": {"fast": {"min": 2, "max": 999}}}, "outside its bounds"),
        ({"parameters": {"speed": {"min": 2, "max": 9}}}, "unknown parameters"),
        ({"parameters": {"fast": {"min": 50, "max": 60}, "slow": {"min": 5, "max": 20}}},
         "constraints"),
        ({"objectives": ["no_such_metric"]}, "unknown metric"),
        ({"method": "random"}, "n_trials"),
        ({"method": "multi_objective", "n_trials": 5, "objectives": ["sharpe"]}, "two objectives"),
        ({"template": "no_such_template"}, "unknown template"),
    ],
)  # fmt: skip
async def test_absurd_spaces_refused_before_any_job(
    app: Any, client: Any, market: Any, change: dict[str, Any], needle: str
) -> None:
    from quantlab.platform.jobs.models import Job

    alice, _, dataset_id, _ = market

    async def jobs() -> int:
        async with app.state.db.sessionmaker() as session:
            stmt = select(func.count()).where(Job.owner_id == alice.id)
            return int(await session.scalar(stmt) or 0)

    before = await jobs()
    resp = await client.post("/api/studies", json=dual_ma(dataset_id, **change),
                             headers=alice.headers)  # fmt: skip
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["status"] == "error" and needle in body["error"]["message"], body
    assert await jobs() == before


async def test_others_strategy_and_dataset_are_404(client: Any, market: Any) -> None:
    alice, bob, dataset_id, _ = market
    from quantlab.engine.library import TEMPLATES

    template = TEMPLATES["dual_moving_average"]
    saved = {
        "name": "my dual MA",
        "body": template.body,
        "param_schema": [p.model_dump(mode="json", by_alias=True) for p in template.parameters],
        "constraints": [c.model_dump(mode="json") for c in template.constraints],
    }
    created = await client.post("/api/strategies", json=saved, headers=alice.headers)
    assert created.status_code in (200, 201), created.text
    strategy_id = created.json()["data"]["id"]
    body = dual_ma(dataset_id)
    body.pop("template")
    body["strategy_id"] = strategy_id
    resp = await client.post("/api/studies", json=body, headers=bob.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "STRATEGY_NOT_FOUND"
    bob_ds = dual_ma(dataset_id)
    resp = await client.post("/api/studies", json=bob_ds, headers=bob.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "DATASET_NOT_FOUND"

    # apply best: a new version of alice's strategy with the best parameters
    started = await _start(client, alice.headers, body)
    study = await wait_study(client, alice.headers, started["id"])
    assert study["status"] == "completed" and study["strategy_id"] == strategy_id
    resp = await client.post(f"/api/studies/{started['id']}/apply-best", json={},
                             headers=bob.headers)  # fmt: skip
    assert resp.status_code == 404
    resp = await client.post(f"/api/studies/{started['id']}/apply-best",
                             json={"message": "tuned"}, headers=alice.headers)  # fmt: skip
    assert resp.status_code == 200, resp.text
    applied = resp.json()["data"]
    best = study["summary"]["best"]
    assert applied["trial"] == best["number"] and applied["parameters"] == best["params"]
    got = (await client.get(f"/api/strategies/{strategy_id}", headers=alice.headers)).json()
    assert got["data"]["version"] == applied["version"]


async def test_pause_resume_cancel_through_the_job_api(client: Any, market: Any) -> None:
    alice, _, dataset_id, _ = market
    h = alice.headers
    body = dual_ma(dataset_id, method="random", n_trials=120, seed=5, chunk_size=2,
                   objectives=["sharpe"], parameters={"fast": {"min": 2, "max": 30},
                                                      "slow": {"min": 10, "max": 80}})  # fmt: skip
    started = await _start(client, h, body)
    sid, job_id = started["id"], started["job_id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        study = (await client.get(f"/api/studies/{sid}", headers=h)).json()["data"]
        if study["progress"]["trials_done"] >= 4:
            break
        assert study["status"] in ("pending", "running"), study
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    assert study["progress"]["trials_total"] == 120
    assert study["progress"]["best"] is not None
    resp = await client.post(f"/api/tasks/{job_id}/pause", headers=h)
    assert resp.status_code == 200, resp.text
    while True:
        job = (await client.get(f"/api/tasks/{job_id}", headers=h)).json()["data"]
        if job["status"] == "paused":
            break
        assert job["status"] == "running" and loop.time() < deadline, job
        await asyncio.sleep(0.05)
    assert job["has_checkpoint"]
    paused_at = len(await all_trials(client, h, sid))
    assert 0 < paused_at < 120
    await asyncio.sleep(0.5)
    assert len(await all_trials(client, h, sid)) == paused_at  # nothing runs while paused
    resp = await client.post(f"/api/tasks/{job_id}/resume", headers=h)
    assert resp.status_code == 200, resp.text
    study = await wait_study(client, h, sid)
    assert study["status"] == "completed"
    trials = await all_trials(client, h, sid)
    assert [t["number"] for t in trials] == list(range(120))
    ref = dual_ma(dataset_id, method="random", n_trials=120, seed=5, chunk_size=64,
                  objectives=["sharpe"], parameters=body["parameters"])  # fmt: skip
    ref_id = (await _start(client, h, ref))["id"]
    await wait_study(client, h, ref_id)
    assert [(t["params"], t["values"]) for t in await all_trials(client, h, ref_id)] == [
        (t["params"], t["values"]) for t in trials]  # fmt: skip

    started = await _start(client, h, body)
    while (await client.get(f"/api/studies/{started['id']}", headers=h)).json()["data"][
            "progress"]["trials_done"] < 2:  # fmt: skip
        await asyncio.sleep(0.05)
    resp = await client.post(f"/api/tasks/{started['job_id']}/cancel", headers=h)
    assert resp.status_code == 200, resp.text
    study = await wait_study(client, h, started["id"])
    assert study["status"] == "cancelled"
    kept = study["summary"]["n_trials"]
    assert 0 < kept < 120 and len(await all_trials(client, h, started["id"])) == kept


async def test_walk_forward_and_fan_out_in_process(client: Any, market: Any) -> None:
    alice, _, dataset_id, _ = market
    h = alice.headers
    body = dual_ma(dataset_id, walk_forward={"train_days": 100, "test_days": 40},
                   run_as="jobs", workers=2, chunk_size=2, objectives=["sharpe"])  # fmt: skip
    started = await _start(client, h, body)
    study = await wait_study(client, h, started["id"])
    assert study["status"] == "completed", study
    assert [t["number"] for t in await all_trials(client, h, started["id"])] == list(range(9))
    wf = (await client.get(f"/api/studies/{started['id']}/walk-forward", headers=h)).json()
    data = wf["data"]
    assert len(data["windows"]) == 4  # 260 days: 100 in sample, then 40 + 40 + 40 + 40
    assert len(data["dates"]) == len(data["equity"]) == 160
    assert set(data["stability"]) == {"fast", "slow"}
    for w in data["windows"]:
        assert w["params"]["fast"] < w["params"]["slow"]


async def test_raw_spec_study_and_its_refusals(client: Any, market: Any) -> None:
    alice, _, dataset_id, _ = market
    spec = {
        "dataset_id": dataset_id, "preset": "rules_off", "parameters": {"w": 5},
        "strategy": {"kind": "scores", "score": "-Mean($close, {w}) / $close", "top_k": 2,
                     "n_drop": 1},
    }  # fmt: skip
    good = {"spec": spec, "method": "grid", "objectives": ["sharpe"],
            "parameters": {"w": {"choices": [3, 5, 8]},
                           "top_k": {"min": 2, "max": 3, "target": "/strategy/top_k"}}}  # fmt: skip
    started = await _start(client, alice.headers, good)
    assert started["n_trials"] == 6
    study = await wait_study(client, alice.headers, started["id"])
    assert study["status"] == "completed", study
    trials = await all_trials(client, alice.headers, started["id"])
    assert sorted((t["params"]["w"], t["params"]["top_k"]) for t in trials) == [
        (w, k) for w in (3, 5, 8) for k in (2, 3)]  # fmt: skip
    for change, needle in (
        ({"top_k": {"min": 2, "max": 3, "target": "/strategy/nope"}}, "nope"),
        ({"x": {"min": 1, "max": 3}}, "not among the spec's parameters"),
        ({"w": {"min": 1}}, "give min and max"),
    ):
        resp = await client.post("/api/studies", json={**good, "parameters": change},
                                 headers=alice.headers)  # fmt: skip
        assert resp.status_code == 422, resp.text
        assert needle in resp.json()["error"]["message"], resp.json()
    both = await client.post("/api/studies", json={**good, "template": "dual_moving_average"},
                             headers=alice.headers)  # fmt: skip
    assert both.status_code == 422
