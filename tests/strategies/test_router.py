"""The strategy library through the API on both databases: the seeded gallery, strategies
from templates and from scratch, versions (diff, restore), runs whose metrics equal a direct
engine run, ratings, favourites, publishing, and owner scoping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.backtests.conftest import SYMBOLS, direct_run, make_dataset, market_frame, wait_done
from tests.helpers.idor import assert_no_idor

MISSING = "0" * 32


async def _templates(client: Any, h: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/strategy-templates", params={"size": 100, **query}, headers=h)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


async def _template_id(client: Any, h: dict[str, str], key: str) -> str:
    return next(t["id"] for t in await _templates(client, h) if t["template_key"] == key)


async def test_gallery_is_seeded_once_and_filters(app: Any, client: Any, researcher: Any) -> None:
    from quantlab.strategies.gallery import seed_templates

    h = researcher.headers
    items = await _templates(client, h)
    assert len(items) >= 15 and all(t["is_system"] and t["is_template"] for t in items)
    async with app.state.db.sessionmaker() as session:
        assert await seed_templates(session) == 0  # idempotent
    assert len(await _templates(client, h)) == len(items)
    trend = await _templates(client, h, category="trend")
    assert trend and all(t["category"] == "trend" for t in trend)
    found = await _templates(client, h, q="Bollinger")
    assert [t["template_key"] for t in found] == ["bollinger_reversion"]
    assert [t["template_key"] for t in await _templates(client, h, tag="KDJ")] == ["kdj_cross"]
    detail = (await client.get(f"/api/strategy-templates/{found[0]['id']}", headers=h)).json()[
        "data"
    ]
    assert detail["parameters"] == {"window": 20.0, "k": 2.0}
    assert detail["texts"]["name"]["zh-CN"] == "布林带均值回归"
    assert detail["human"]["en"].startswith("Buys when the close is below")
    resp = await client.get("/api/strategy-templates", params={"category": "x"}, headers=h)
    assert resp.status_code == 422


async def test_template_use_checks_parameters_and_stays_read_only(
    client: Any, researcher: Any
) -> None:
    h = researcher.headers
    tid = await _template_id(client, h, "dual_moving_average")
    bad = await client.post(
        f"/api/strategy-templates/{tid}/use",
        json={"parameters": {"fast": 30, "slow": 20}},
        headers=h,
    )
    assert bad.status_code == 422, bad.text
    err = bad.json()["error"]
    assert err["code"] == "INVALID_STRATEGY_PARAMETERS"
    assert err["details"]["problems"][0]["suggestion"] == "choose values with fast < slow"
    out_of_range = await client.post(
        f"/api/strategy-templates/{tid}/use", json={"parameters": {"slow": 1000}}, headers=h
    )
    assert out_of_range.json()["error"]["details"]["problems"][0]["suggestion"] == "use 250"
    for method in ("PATCH", "DELETE"):
        resp = await client.request(
            method,
            f"/api/strategies/{tid}",
            headers=h,
            json={"name": "mine"} if method == "PATCH" else None,
        )
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["code"] == "STRATEGY_READ_ONLY"
    made = await client.post(
        f"/api/strategy-templates/{tid}/use",
        json={"name": "my dma", "parameters": {"fast": 5}},
        headers=h,
    )
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert data["parameters"] == {"fast": 5.0, "slow": 30.0} and data["source_id"] == tid
    assert data["version"] == 1 and not data["is_template"]
    dup = await client.post(
        f"/api/strategy-templates/{tid}/use", json={"name": "my dma"}, headers=h
    )
    assert dup.status_code == 409


async def test_structural_validation_before_saving(client: Any, researcher: Any) -> None:
    h = researcher.headers
    body = {"strategy": {"kind": "signals", "entry": "$close > Ref($close, -1)", "exit": "0"}}
    resp = await client.post("/api/strategies", json={"name": "peek", "body": body}, headers=h)
    assert resp.status_code == 422
    problems = resp.json()["error"]["details"]["problems"]
    assert {p["path"] for p in problems} == {"strategy.entry", "strategy.exit"}
    report = await client.post(
        "/api/strategies/validate", json={"name": "x", "body": body}, headers=h
    )
    assert report.status_code == 200 and report.json()["data"]["valid"] is False
    weights = {"strategy": {"kind": "weights", "static": {"A": 0.8, "B": 0.5}}}
    resp = await client.post("/api/strategies", json={"name": "lev", "body": weights}, headers=h)
    assert resp.status_code == 422
    assert "130.0%" in resp.json()["error"]["message"]
    nonsense = {"strategy": {"kind": "signals", "entry": "1"}}
    resp = await client.post("/api/strategies", json={"name": "n", "body": nonsense}, headers=h)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "INVALID_STRATEGY"


def _dma_body(fast: int, slow: int) -> dict[str, Any]:
    return {
        "preset": "us_equity",
        "universe": SYMBOLS[:6],
        "benchmark": "IDX",
        "parameters": {"fast": fast, "slow": slow},
        "strategy": {
            "kind": "signals",
            "entry": "Cross(Mean($close, {fast}), Mean($close, {slow}))",
            "exit": "CrossDown(Mean($close, {fast}), Mean($close, {slow}))",
            "sizing": {"mode": "fixed_fraction", "fraction": 0.15},
            "max_holdings": 5,
        },
    }


SCHEMA = [
    {
        "name": "fast",
        "default": 5,
        "min": 2,
        "max": 60,
        "step": 1,
        "description": {"zh-CN": "快线", "en": "fast"},
    },
    {
        "name": "slow",
        "default": 20,
        "min": 5,
        "max": 120,
        "step": 1,
        "description": {"zh-CN": "慢线", "en": "slow"},
    },
]


async def _run(client: Any, h: dict[str, str], sid: str, ds: str, **extra: Any) -> dict[str, Any]:
    body = {"dataset_id": ds, "start": "2023-03-01", "initial_capital": 1_000_000, **extra}
    resp = await client.post(f"/api/strategies/{sid}/runs", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    return await wait_done(client, h, resp.json()["data"]["id"])


async def test_versions_diff_restore_and_runs(app: Any, client: Any, researcher: Any) -> None:
    h = researcher.headers
    ds = await make_dataset(app, researcher.id)
    create = {
        "name": "dma",
        "tags": ["trend"],
        "body": _dma_body(5, 20),
        "param_schema": SCHEMA,
        "constraints": [{"left": "fast", "op": "<", "right": "slow"}],
    }
    resp = await client.post("/api/strategies", json=create, headers=h)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["data"]["id"]
    v2 = await client.patch(
        f"/api/strategies/{sid}", headers=h, json={"parameters": {"fast": 10}, "message": "slower"}
    )
    assert v2.json()["data"]["version"] == 2
    same = await client.patch(f"/api/strategies/{sid}", json={"notes": "n"}, headers=h)
    assert same.json()["data"]["version"] == 2  # metadata is no new version
    diff = (await client.get(f"/api/strategies/{sid}/diff?from=1&to=2", headers=h)).json()["data"]
    assert diff["changes"] == [
        {"path": "parameters.fast", "kind": "parameter", "old": 5.0, "new": 10.0}
    ]
    first = await _run(client, h, sid, ds, version=1)
    second = await _run(client, h, sid, ds)
    assert first["status"] == second["status"] == "completed"
    restored = await client.post(f"/api/strategies/{sid}/versions/1/restore", json={}, headers=h)
    assert restored.json()["data"]["version"] == 3
    assert restored.json()["data"]["parameters"] == {"fast": 5.0, "slow": 20.0}
    third = await _run(client, h, sid, ds)
    # a restored version reproduces the earlier run's metrics exactly
    assert third["metrics"] == first["metrics"]
    assert second["metrics"] != first["metrics"]
    # and equals a direct engine run of the same spec
    spec = {
        **_dma_body(5, 20),
        "dataset_id": ds,
        "start": "2023-03-01",
        "initial_capital": 1_000_000,
    }
    sim = direct_run(market_frame(), spec)
    assert first["final_equity"] == pytest.approx(float(sim.equity[-1].sum()), rel=1e-9)
    runs = (await client.get(f"/api/strategies/{sid}/runs", headers=h)).json()
    assert runs["meta"]["total"] == 3
    assert [r["strategy_version"] for r in runs["data"]] == [3, 2, 1]
    assert all(r["summary"]["sharpe_ratio"] is not None for r in runs["data"])
    versions = (await client.get(f"/api/strategies/{sid}/versions", headers=h)).json()["data"]
    assert [v["version"] for v in versions] == [3, 2, 1] and versions[0]["current"]
    assert (await client.get(f"/api/strategies/{sid}/versions/9", headers=h)).status_code == 404
    bad = await client.post(
        f"/api/strategies/{sid}/runs",
        headers=h,
        json={"dataset_id": ds, "parameters": {"fast": 50}},
    )
    assert bad.status_code == 422  # fast < slow checked on use


async def test_versions_keep_the_last_twenty(client: Any, researcher: Any) -> None:
    from quantlab.strategies.service import KEEP_VERSIONS

    h = researcher.headers
    create = {"name": "many", "body": _dma_body(5, 20), "param_schema": SCHEMA}
    sid = (await client.post("/api/strategies", json=create, headers=h)).json()["data"]["id"]
    for fast in range(6, 6 + KEEP_VERSIONS + 2):
        resp = await client.patch(
            f"/api/strategies/{sid}", json={"parameters": {"fast": fast}}, headers=h
        )
        assert resp.status_code == 200, resp.text
    versions = (await client.get(f"/api/strategies/{sid}/versions", headers=h)).json()["data"]
    assert len(versions) == KEEP_VERSIONS and versions[0]["version"] == KEEP_VERSIONS + 3


async def test_ratings_favourites_publish_and_idor(client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    create = {"name": "secret", "body": _dma_body(5, 20), "param_schema": SCHEMA}
    sid = (await client.post("/api/strategies", json=create, headers=alice.headers)).json()["data"][
        "id"
    ]
    await assert_no_idor(
        client,
        alice.headers,
        bob.headers,
        read=f"/api/strategies/{sid}",
        update=("PATCH", f"/api/strategies/{sid}", {"name": "stolen"}),
        delete=f"/api/strategies/{sid}",
        missing=f"/api/strategies/{MISSING}",
    )
    for path in ("versions", "runs", "ratings"):
        assert (
            await client.get(f"/api/strategies/{sid}/{path}", headers=bob.headers)
        ).status_code == 404
    resp = await client.put(f"/api/strategies/{sid}/rating", json={"stars": 5}, headers=bob.headers)
    assert resp.status_code == 404
    pub = await client.post(f"/api/strategies/{sid}/publish", headers=alice.headers)
    assert pub.json()["data"]["is_template"] is True
    gallery = await _templates(client, bob.headers, q="secret")
    assert [t["id"] for t in gallery] == [sid]
    resp = await client.patch(f"/api/strategies/{sid}", json={"name": "x"}, headers=bob.headers)
    assert resp.status_code == 403
    await client.put(f"/api/strategies/{sid}/rating", json={"stars": 4}, headers=alice.headers)
    resp = await client.put(
        f"/api/strategies/{sid}/rating",
        json={"stars": 5, "comment": "solid"},
        headers=alice.headers,
    )
    assert resp.json()["data"] == {"average": 5.0, "count": 1, "mine": 5}  # one per user
    resp = await client.put(f"/api/strategies/{sid}/rating", json={"stars": 2}, headers=bob.headers)
    assert resp.json()["data"] == {"average": 3.5, "count": 2, "mine": 2}
    assert (
        await client.put(f"/api/strategies/{sid}/rating", json={"stars": 6}, headers=bob.headers)
    ).status_code == 422
    ratings = (await client.get(f"/api/strategies/{sid}/ratings", headers=bob.headers)).json()
    assert {r["comment"] for r in ratings["data"]} == {"solid", ""}
    await client.put(f"/api/strategies/{sid}/favourite", headers=bob.headers)
    (row,) = await _templates(client, bob.headers, q="secret")
    assert row["favourite"] is True and row["rating"]["average"] == 3.5
    copy = await client.post(f"/api/strategies/{sid}/copy", json={}, headers=bob.headers)
    assert copy.status_code == 201 and copy.json()["data"]["name"] == "secret (copy)"
    gone = await client.delete(f"/api/strategies/{sid}", headers=alice.headers)
    assert gone.status_code == 200
    assert (await client.get(f"/api/strategies/{sid}", headers=alice.headers)).status_code == 404


async def test_viewers_read_but_do_not_write(client: Any, make_user: Any) -> None:
    viewer = await make_user("viewer")
    items = await _templates(client, viewer.headers)
    resp = await client.post(
        f"/api/strategy-templates/{items[0]['id']}/use", json={}, headers=viewer.headers
    )
    assert resp.status_code == 403


async def test_gallery_pages_are_cached_until_a_write_through_the_api(
    app: Any, client: Any, researcher: Any, make_user: Any
) -> None:
    from sqlalchemy import update

    from quantlab.strategies.models import Strategy

    assert app.state.cache.enabled
    h = researcher.headers
    tid = await _template_id(client, h, "macd_cross")

    def row(items: list[dict[str, Any]]) -> dict[str, Any]:
        return next(t for t in items if t["id"] == tid)

    before = row(await _templates(client, h))
    # a change behind the API's back is not seen while the page is cached ...
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            update(Strategy).where(Strategy.id == tid).values(usage_count=before["usage_count"] + 7)
        )
        await session.commit()
    assert row(await _templates(client, h))["usage_count"] == before["usage_count"]
    # ... and any write through the API makes every caller's pages stale at once
    other = await make_user("researcher")
    resp = await client.put(
        f"/api/strategies/{tid}/rating", json={"stars": 4, "comment": "ok"}, headers=other.headers
    )
    assert resp.status_code == 200, resp.text
    after = row(await _templates(client, h))
    assert after["usage_count"] == before["usage_count"] + 7
    assert after["rating"]["count"] == before["rating"]["count"] + 1
    resp = await client.put(f"/api/strategies/{tid}/favourite", headers=h)
    assert resp.status_code == 200, resp.text
    assert row(await _templates(client, h))["favourite"] is True
    assert row(await _templates(client, other.headers))["favourite"] is False
    popular = (await client.get("/api/strategy-templates/popular", headers=h)).json()["data"]
    assert [p["usage_count"] for p in popular] == sorted(
        (p["usage_count"] for p in popular), reverse=True
    )
