"""Admin endpoints: accounts, roles, activation, reset, audit log; registration modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from quantlab.api.app import create_app
from tests.conftest import make_settings


async def test_create_user_with_one_time_password(
    fresh_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    c = fresh_client
    name = "new-" + admin_headers["Authorization"][-8:].lower().replace("_", "-")
    resp = await c.post(
        "/api/admin/users", json={"username": name, "role": "viewer"}, headers=admin_headers
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert data["role"] == "viewer" and data["must_change_password"] is True
    otp = data["one_time_password"]
    assert len(otp) >= 16
    dup = await c.post("/api/admin/users", json={"username": name.upper()}, headers=admin_headers)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "ACCOUNT_EXISTS"
    login = await c.post("/api/auth/token", data={"username": name, "password": otp})
    assert login.status_code == 200 and login.json()["password_change_required"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"username": "ab"}, "VALIDATION_ERROR"),
        ({"username": "has space"}, "VALIDATION_ERROR"),
        ({"username": "okname1", "password": "short"}, "WEAK_PASSWORD"),
        ({"username": "okname2", "password": "qwertyuiop123"}, "WEAK_PASSWORD"),
        ({"username": "okname3", "password": "okname3"}, "WEAK_PASSWORD"),
        ({"username": "okname4", "role": "root"}, "VALIDATION_ERROR"),
        ({"username": "okname5", "email": "not-an-email"}, "VALIDATION_ERROR"),
    ],
)
async def test_create_user_validation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    resp = await client.post("/api/admin/users", json=body, headers=admin_headers)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == code


async def test_role_change_takes_effect_immediately(
    client: httpx.AsyncClient, make_user: Any, admin_headers: dict[str, str]
) -> None:
    user = await make_user("researcher")
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["data"]["role"] == "researcher"
    resp = await client.patch(
        f"/api/admin/users/{user.id}", json={"role": "viewer"}, headers=admin_headers
    )
    assert resp.status_code == 200
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["data"]["role"] == "viewer" and me.json()["data"]["can_write"] is False
    bad = await client.patch(
        f"/api/admin/users/{user.id}", json={"role": "owner"}, headers=admin_headers
    )
    assert bad.status_code == 422
    missing = await client.patch(
        f"/api/admin/users/{'0' * 32}", json={"role": "viewer"}, headers=admin_headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "USER_NOT_FOUND"
    forbidden = await client.patch(
        f"/api/admin/users/{user.id}", json={"role": "admin"}, headers=user.headers
    )
    assert forbidden.status_code == 403


async def test_last_admin_cannot_be_removed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    from quantlab.platform import migrate

    await migrate.upgrade_async(settings.db_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        from quantlab.auth.bootstrap import read_bootstrap_password

        password = read_bootstrap_password(tmp_path)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            tok = await c.post("/api/auth/token", data={"username": "admin", "password": password})
            h = {"Authorization": "Bearer " + tok.json()["access_token"]}
            me = (await c.get("/api/auth/me", headers=h)).json()["data"]
            for body in ({"role": "researcher"}, {"is_active": False}):
                resp = await c.patch(f"/api/admin/users/{me['id']}", json=body, headers=h)
                assert resp.status_code == 409 and resp.json()["error"]["code"] == "LAST_ADMIN"
            # registration is admin-only by default
            reg = await c.post(
                "/api/auth/register", json={"username": "selfserve", "password": "x" * 20}
            )
            assert reg.status_code == 403 and reg.json()["error"]["code"] == "REGISTRATION_CLOSED"
    assert (tmp_path / "bootstrap-admin.txt").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", ["open", "disabled"])
async def test_registration_modes(tmp_path: Path, mode: str) -> None:
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'q.db'}",
        registration_mode=mode,
        bootstrap_admin=False,
    )
    from quantlab.platform import migrate

    await migrate.upgrade_async(settings.db_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body = {"username": "Self.Serve", "password": "a long enough passphrase", "email": None}
            resp = await c.post("/api/auth/register", json=body)
            if mode == "disabled":
                assert resp.status_code == 403
                return
            assert resp.status_code == 201, resp.text
            data = resp.json()["data"]
            assert data["username"] == "self.serve" and data["role"] == "researcher"
            assert "password" not in str(data).replace("must_change_password", "")
            again = await c.post("/api/auth/register", json=body)
            assert again.status_code == 409
            login = await c.post(
                "/api/auth/token",
                data={"username": "self.serve", "password": "a long enough passphrase"},
            )
            assert login.status_code == 200
    assert not (tmp_path / "bootstrap-admin.txt").exists()


async def test_audit_log_filters(
    client: httpx.AsyncClient, make_user: Any, admin_headers: dict[str, str]
) -> None:
    user = await make_user()
    cid = "audit-filter-" + user.id[:8]
    await client.put(
        "/api/user/preferences",
        json={"theme": "dark"},
        headers={**user.headers, "X-Correlation-ID": cid},
    )
    resp = await client.get(
        "/api/admin/audit", params={"actor_id": user.id, "action": "user.*"}, headers=admin_headers
    )
    assert resp.status_code == 200
    items = resp.json()["data"]
    assert items and all(i["actor_id"] == user.id for i in items)
    assert all(i["action"].startswith("user.") for i in items)
    by_cid = await client.get(
        "/api/admin/audit", params={"correlation_id": cid}, headers=admin_headers
    )
    [event] = by_cid.json()["data"]
    assert event["action"] == "user.preferences.update"
    assert event["details"] == {"old": {"theme": "light"}, "new": {"theme": "dark"}}
    assert (await client.get("/api/admin/audit", headers=user.headers)).status_code == 403
    bad = await client.get("/api/admin/audit?since=yesterday", headers=admin_headers)
    assert bad.status_code == 422
    users = await client.get(
        "/api/admin/users", params={"q": user.username, "role": "researcher"}, headers=admin_headers
    )
    assert [u["id"] for u in users.json()["data"]] == [user.id]
