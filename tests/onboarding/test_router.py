"""The onboarding API (fixed contract): mode, preferences, guides, FAQ, audit, IDOR."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from quantlab.platform.audit import AuditEvent
from tests.helpers.idor import assert_user_scoped


async def test_defaults_created_on_first_read(client: httpx.AsyncClient, researcher: Any) -> None:
    resp = await client.get("/api/user/preferences", headers=researcher.headers)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert {k: data[k] for k in ("mode", "language", "show_tooltips", "theme")} == {
        "mode": "beginner",
        "language": "zh-CN",
        "show_tooltips": True,
        "theme": "light",
    }
    assert data["completed_guides"] == [] and data["created_at"] and data["updated_at"]
    mode = await client.get("/api/user/mode", headers=researcher.headers)
    assert mode.json()["data"]["mode"] == "beginner"


async def test_mode_is_case_insensitive_and_validated(
    client: httpx.AsyncClient, researcher: Any
) -> None:
    h = researcher.headers
    resp = await client.post("/api/user/mode", json={"mode": "  EXPERT "}, headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["mode"] == "expert"
    assert (await client.get("/api/user/mode", headers=h)).json()["data"]["mode"] == "expert"
    for bad in ("advanced", "", 3, None):
        bad_resp = await client.post("/api/user/mode", json={"mode": bad}, headers=h)
        assert bad_resp.status_code == 422, bad
        assert bad_resp.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.post("/api/user/mode", json={}, headers=h)).status_code == 422


async def test_partial_update_and_validation(client: httpx.AsyncClient, researcher: Any) -> None:
    h = researcher.headers
    first = await client.put("/api/user/preferences", json={"theme": "dark"}, headers=h)
    assert first.status_code == 200, first.text
    second = await client.put(
        "/api/user/preferences", json={"language": "en-US", "mode": "Expert"}, headers=h
    )
    data = second.json()["data"]
    assert (data["theme"], data["language"], data["mode"], data["show_tooltips"]) == (
        "dark",
        "en-US",
        "expert",
        True,
    )
    assert data["updated_at"] >= first.json()["data"]["updated_at"]
    for bad in (
        {"theme": "blue"},
        {"language": "fr-FR"},
        {"completed_guides": ["nope"]},
        {"theme": None},
        {"user_id": researcher.id},
        {"show_tooltips": "maybe"},
    ):
        resp = await client.put("/api/user/preferences", json=bad, headers=h)
        assert resp.status_code == 422, (bad, resp.text)
    after = (await client.get("/api/user/preferences", headers=h)).json()["data"]
    assert after["theme"] == "dark" and after["language"] == "en-US"
    assert after == second.json()["data"]  # cached reads look exactly like write responses
    assert after["updated_at"].endswith("Z")


async def test_changes_are_audited_with_old_new_and_correlation_id(
    app: Any, client: httpx.AsyncClient, researcher: Any
) -> None:
    h = {**researcher.headers, "X-Correlation-ID": "onb-audit-" + researcher.id[:8]}
    await client.get("/api/user/preferences", headers=researcher.headers)
    resp = await client.put("/api/user/preferences", json={"show_tooltips": False}, headers=h)
    assert resp.status_code == 200
    await client.post("/api/user/mode", json={"mode": "expert"}, headers=h)
    async with app.state.db.sessionmaker() as session:
        rows = (
            (
                await session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.resource_id == researcher.id)
                    .where(AuditEvent.resource_type == "user_preferences")
                    .order_by(AuditEvent.id)
                )
            )
            .scalars()
            .all()
        )
    assert [r.action for r in rows] == ["user.preferences.update", "user.mode.update"]
    assert rows[0].details == {"old": {"show_tooltips": True}, "new": {"show_tooltips": False}}
    assert rows[1].details == {"old": {"mode": "beginner"}, "new": {"mode": "expert"}}
    assert {r.correlation_id for r in rows} == {h["X-Correlation-ID"]}
    assert all(r.actor_id == researcher.id for r in rows)


async def test_guides_progress(client: httpx.AsyncClient, researcher: Any) -> None:
    h = researcher.headers
    view = (await client.get("/api/user/guides", headers=h)).json()["data"]
    assert [g["id"] for g in view["guides"]] == ["import_data", "build_strategy", "run_backtest"]
    assert view["completed"] == 0 and view["total"] == 3 and view["next_guide"] == "import_data"
    assert view["guides"][0]["title"] == "导入行情数据"
    done = await client.post("/api/user/guides/import_data/complete", headers=h)
    assert done.status_code == 200
    again = await client.post("/api/user/guides/import_data/complete", headers=h)
    data = again.json()["data"]
    assert data["completed"] == 1 and data["next_guide"] == "build_strategy"
    prefs = (await client.get("/api/user/preferences", headers=h)).json()["data"]
    assert prefs["completed_guides"] == ["import_data"]
    missing = await client.post("/api/user/guides/nope/complete", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "GUIDE_NOT_FOUND"
    await client.put("/api/user/preferences", json={"language": "en-US"}, headers=h)
    view = (await client.get("/api/user/guides", headers=h)).json()["data"]
    assert view["guides"][0]["title"] == "Import market data"


async def test_faq_in_both_languages(client: httpx.AsyncClient, researcher: Any) -> None:
    h = researcher.headers
    zh = (await client.get("/api/help/faq?lang=zh-CN", headers=h)).json()["data"]
    en = (await client.get("/api/help/faq?lang=en-US", headers=h)).json()["data"]
    assert zh["language"] == "zh-CN" and en["language"] == "en-US"
    assert [i["id"] for i in zh["items"]] == [i["id"] for i in en["items"]]
    assert len(en["items"]) >= 5 and "quantlab" in en["items"][0]["question"]
    default = (await client.get("/api/help/faq", headers=h)).json()["data"]
    assert default["language"] == "zh-CN"  # the user's preferred language
    assert (await client.get("/api/help/faq?lang=fr", headers=h)).status_code == 422
    assert (await client.get("/api/help/faq?lang=en-US")).status_code == 401


async def test_viewer_may_set_own_preferences_but_read_only_token_may_not(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    viewer = await make_user("viewer")
    ok = await client.put("/api/user/preferences", json={"theme": "dark"}, headers=viewer.headers)
    assert ok.status_code == 200
    created = await client.post(
        "/api/auth/tokens", json={"name": "ro", "read_only": True}, headers=viewer.headers
    )
    ro = {"Authorization": "Bearer " + created.json()["data"]["token"]}
    assert (await client.get("/api/user/preferences", headers=ro)).status_code == 200
    denied = await client.put("/api/user/preferences", json={"theme": "light"}, headers=ro)
    assert denied.status_code == 403
    assert (
        await client.post("/api/user/mode", json={"mode": "expert"}, headers=ro)
    ).status_code == 403


async def test_no_user_can_read_or_change_another_users_onboarding(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    bob = await make_user()
    await client.put(
        "/api/user/preferences", json={"theme": "dark", "language": "en-US"}, headers=alice.headers
    )
    await client.post("/api/user/mode", json={"mode": "expert"}, headers=alice.headers)
    await assert_user_scoped(
        client,
        alice,
        bob,
        read="/api/user/preferences",
        writes=[
            ("PUT", "/api/user/preferences", {"theme": "light", "language": "zh-CN"}),
            ("POST", "/api/user/mode", {"mode": "beginner"}),
            ("POST", "/api/user/guides/run_backtest/complete", None),
        ],
    )
    for path in ("/api/user/mode", "/api/user/guides"):
        mine = await client.get(path, headers=alice.headers)
        peek = await client.get(f"{path}?user_id={alice.id}", headers=bob.headers)
        assert peek.json()["data"] != mine.json()["data"]
    bob_prefs = (await client.get("/api/user/preferences", headers=bob.headers)).json()["data"]
    assert bob_prefs["theme"] == "light" and bob_prefs["completed_guides"] == ["run_backtest"]
