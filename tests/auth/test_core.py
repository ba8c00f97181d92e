"""Sign-in, /me, role dependencies and auth-by-default on both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import client_from

PUBLIC_PATHS = {
    "/api/health",
    "/api/ready",
    "/api/meta/error-codes",
    "/api/auth/token",
    "/api/auth/refresh",
    "/api/auth/register",
    "/api/security/health",  # the sandbox's own health probe
}


async def test_every_non_public_route_requires_auth(app: Any, client: httpx.AsyncClient) -> None:
    checked = 0
    # The OpenAPI document lists every mounted route, whichever router it came from.
    for route_path, operations in app.openapi()["paths"].items():
        if route_path in PUBLIC_PATHS:
            continue
        path = route_path.replace("{", "x").replace("}", "")
        for method in operations:
            resp = await client.request(method.upper(), path)
            assert resp.status_code == 401, f"{method} {route_path} answered {resp.status_code}"
            assert resp.headers["www-authenticate"].startswith("Bearer")
            assert resp.json()["error"]["code"] == "UNAUTHORIZED"
            checked += 1
    assert checked >= 10


async def test_routes_are_mounted_flat_behind_sign_in_and_the_default_limit(app: Any) -> None:
    """Each route is an entry of the app's own list (no nested router to walk into on every
    request), and a protected one depends first on the signed-in user, then on the limit."""
    from fastapi.routing import APIRoute, APIWebSocketRoute
    from starlette.routing import Mount, Route

    from quantlab.auth.dependencies import authenticate, current_user
    from quantlab.platform.ratelimit import RateLimit

    assert all(isinstance(r, Route | Mount | APIWebSocketRoute) for r in app.router.routes)
    api = [r for r in app.router.routes if isinstance(r, APIRoute)]
    protected = [r for r in api if r.path not in PUBLIC_PATHS]
    assert len(protected) > 150
    for route in protected:
        who, limit = (d.dependency for d in route.dependencies[:2])
        assert who in (authenticate, current_user), route.path
        assert isinstance(limit, RateLimit) and limit.group == "default", route.path
    password_change = {r.path for r in protected if r.dependencies[0].dependency is authenticate}
    assert password_change == {"/api/auth/me", "/api/auth/password", "/api/auth/logout"}


async def test_password_sign_in_and_me(app: Any, make_user: Any) -> None:
    user = await make_user("researcher", email="R.Someone@Example.org")
    async with client_from(app, "10.1.0.1") as c:
        resp = await c.post(
            "/api/auth/token", data={"username": user.username.upper(), "password": user.password}
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert resp.headers["cache-control"] == "no-store"
        assert body["token_type"] == "bearer" and body["status"] == "success"
        assert body["expires_in"] == 15 * 60
        assert body["data"]["access_token"] == body["access_token"]
        me = await c.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200
        data = me.json()["data"]
        assert data["id"] == user.id and data["role"] == "researcher" and data["can_write"]
        assert user.password not in me.text and "argon2" not in me.text
        # sign-in by email works too
        by_mail = await c.post(
            "/api/auth/token", data={"username": "r.someone@example.org", "password": user.password}
        )
        assert by_mail.status_code == 200


async def test_unknown_user_and_wrong_password_look_the_same(app: Any, make_user: Any) -> None:
    user = await make_user()
    async with client_from(app, "10.1.0.2") as c:
        wrong = await c.post(
            "/api/auth/token", data={"username": user.username, "password": "not the password!"}
        )
        unknown = await c.post(
            "/api/auth/token", data={"username": "nobody-" + user.username, "password": "x" * 12}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert "www-authenticate" in wrong.headers


async def test_roles(client: httpx.AsyncClient, make_user: Any) -> None:
    viewer = await make_user("viewer")
    researcher = await make_user("researcher")
    admin = await make_user("admin")
    # admin-only route
    assert (await client.get("/api/admin/users", headers=viewer.headers)).status_code == 403
    assert (await client.get("/api/admin/users", headers=researcher.headers)).status_code == 403
    resp = await client.get("/api/admin/users", headers=admin.headers)
    assert resp.status_code == 200 and resp.json()["meta"]["total"] >= 3
    forbidden = await client.get("/api/admin/users", headers=viewer.headers)
    assert forbidden.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    me = await client.get("/api/auth/me", headers=viewer.headers)
    assert me.json()["data"]["can_write"] is False


async def test_malformed_authorization_headers(client: httpx.AsyncClient) -> None:
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "Bearer qlp_nope", ""):
        resp = await client.get("/api/auth/me", headers={"Authorization": value})
        assert resp.status_code == 401, value
        assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_failed_sign_in_is_audited_without_the_typed_name(app: Any, make_user: Any) -> None:
    from sqlalchemy import select

    from quantlab.platform.audit import AuditEvent

    user = await make_user()
    cid = "failed-login-" + user.id[:8]
    async with client_from(app, "10.1.0.3") as c:
        huge = await c.post(
            "/api/auth/token",
            data={"username": user.username, "password": user.password + "x" * 2000},
            headers={"X-Correlation-ID": cid},
        )
        typo = await c.post(
            "/api/auth/token",
            data={"username": "MySecretPassw0rd", "password": "whatever12345"},
            headers={"X-Correlation-ID": cid},
        )
    assert huge.status_code == typo.status_code == 401
    async with app.state.db.sessionmaker() as session:
        rows = (
            (await session.execute(select(AuditEvent).where(AuditEvent.correlation_id == cid)))
            .scalars()
            .all()
        )
    assert [r.action for r in rows] == ["auth.login.failed"] * 2
    # both rows share the correlation id and may come back in either order
    known = [r for r in rows if r.actor_id is not None]
    unknown = [r for r in rows if r.actor_id is None]
    assert len(known) == len(unknown) == 1
    assert known[0].actor_id == user.id and known[0].details == {"known_account": True}
    assert "MySecretPassw0rd" not in str(unknown[0].details)
