"""Template examples: computed by ``strategies.example`` jobs on the demo dataset, equal to a
direct ``engine.run`` of the same spec, reused while current, and honest where a template
cannot run on the data."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from quantlab.engine.library import TEMPLATES


async def _examples(client: Any, h: dict[str, str], tid: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/strategy-templates/{tid}", headers=h)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["examples"]


async def test_demo_examples_equal_direct_engine_runs(
    app: Any, client: Any, make_user: Any
) -> None:
    from quantlab.datasets.demo import install_demo
    from quantlab.engine.data.demo import demo_frame
    from quantlab.engine.data.frame import frame_to_panel
    from quantlab.engine.library.examples import compute_example, template_spec

    admin = await make_user("admin")
    user = await make_user()
    demo_id = await install_demo(app.state.db.sessionmaker, app.state.settings.data_dir)
    resp = await client.post(
        "/api/strategy-templates/examples/refresh",
        json={"dataset_id": demo_id},
        headers=user.headers,
    )
    assert resp.status_code == 202, resp.text
    counts = resp.json()["data"]
    assert counts["templates"] >= 15 and counts["queued"] == counts["templates"] - 1
    templates = {
        t["template_key"]: t["id"]
        for t in (
            await client.get("/api/strategy-templates", params={"size": 100}, headers=user.headers)
        ).json()["data"]
    }
    deadline = asyncio.get_running_loop().time() + 240
    pending = dict(templates)
    while pending and asyncio.get_running_loop().time() < deadline:
        for key, tid in list(pending.items()):
            (ex,) = await _examples(client, user.headers, tid)
            if ex["status"] in ("completed", "failed"):
                pending.pop(key)
        await asyncio.sleep(0.5)
    assert not pending, f"examples still running: {sorted(pending)}"
    panel = frame_to_panel(demo_frame())
    for key in ("dual_moving_average", "topk_alpha158", "equal_weight_rebalance"):
        (ex,) = await _examples(client, user.headers, templates[key])
        assert ex["status"] == "completed", ex
        direct = compute_example(
            template_spec(TEMPLATES[key], demo_id), panel, benchmark="DEMO.IDX"
        )
        for name, value in direct["metrics"].items():
            assert ex["metrics"][name] == pytest.approx(value, nan_ok=True), (key, name)
        assert ex["curve"] == [list(p) for p in direct["curve"]]
        assert ex["benchmark_curve"][0][1] == pytest.approx(1.0)
    (ex,) = await _examples(client, user.headers, templates["value_quality_momentum"])
    assert ex["status"] == "failed" and "pe, roe" in ex["error"] and ex["job_id"] is None
    again = await client.post(
        "/api/strategy-templates/examples/refresh",
        json={"dataset_id": demo_id},
        headers=admin.headers,
    )
    assert again.json()["data"]["queued"] == 0  # current examples are reused
    private = await client.post(
        "/api/strategy-templates/examples/refresh",
        json={"dataset_id": "0" * 32},
        headers=user.headers,
    )
    assert private.status_code == 404
