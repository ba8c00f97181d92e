"""Refresh rotation, reuse detection, logout, password change and forced change."""

from __future__ import annotations

from typing import Any

import httpx

NEW_PASSWORD = "a much better passphrase 7"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _me(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/auth/me", headers=bearer(token))).status_code


async def test_refresh_rotates_and_reuse_revokes_the_family(
    fresh_client: httpx.AsyncClient, researcher: Any
) -> None:
    c = fresh_client
    first = await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    assert first.status_code == 200, first.text
    pair1 = first.json()
    assert pair1["refresh_token"] != researcher.refresh_token
    assert first.headers["cache-control"] == "no-store"
    second = await c.post("/api/auth/refresh", json={"refresh_token": pair1["refresh_token"]})
    assert second.status_code == 200
    pair2 = second.json()
    assert await _me(c, pair2["access_token"]) == 200
    # the first, already-used refresh token comes back: theft is assumed
    reuse = await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "INVALID_TOKEN"
    assert "www-authenticate" in reuse.headers
    # every token of the family is dead now, including the newest ones
    assert await _me(c, pair2["access_token"]) == 401
    assert await _me(c, researcher.access_token) == 401
    latest = await c.post("/api/auth/refresh", json={"refresh_token": pair2["refresh_token"]})
    assert latest.status_code == 401


async def test_refresh_rejects_garbage(fresh_client: httpx.AsyncClient) -> None:
    bad = await fresh_client.post("/api/auth/refresh", json={"refresh_token": "qlr_nope"})
    assert bad.status_code == 401
    assert (await fresh_client.post("/api/auth/refresh", json={})).status_code == 422


async def test_other_sessions_survive_a_reuse(
    app: Any, fresh_client: httpx.AsyncClient, researcher: Any
) -> None:
    c = fresh_client
    login = await c.post(
        "/api/auth/token", data={"username": researcher.username, "password": researcher.password}
    )
    other = login.json()
    await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    assert await _me(c, researcher.access_token) == 401
    assert await _me(c, other["access_token"]) == 200


async def test_logout_ends_the_session_at_once(
    fresh_client: httpx.AsyncClient, researcher: Any
) -> None:
    c = fresh_client
    assert await _me(c, researcher.access_token) == 200
    out = await c.post(
        "/api/auth/logout",
        json={"refresh_token": researcher.refresh_token},
        headers=researcher.headers,
    )
    assert out.status_code == 200 and out.json()["data"]["sessions_ended"] == 1
    assert await _me(c, researcher.access_token) == 401
    again = await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    assert again.status_code == 401
    assert (await c.post("/api/auth/logout", json={})).status_code == 401


async def test_logout_everywhere(fresh_client: httpx.AsyncClient, researcher: Any) -> None:
    c = fresh_client
    other = (
        await c.post(
            "/api/auth/token",
            data={"username": researcher.username, "password": researcher.password},
        )
    ).json()
    out = await c.post("/api/auth/logout", json={"everywhere": True}, headers=researcher.headers)
    assert out.status_code == 200
    assert out.json()["data"]["sessions_ended"] == 2  # the true count, not 0
    assert await _me(c, researcher.access_token) == 401
    assert await _me(c, other["access_token"]) == 401


async def test_read_only_token_cannot_end_sessions(
    fresh_client: httpx.AsyncClient, researcher: Any
) -> None:
    c = fresh_client
    pat = await c.post(
        "/api/auth/tokens", json={"name": "ro", "read_only": True}, headers=researcher.headers
    )
    assert pat.status_code == 201, pat.text
    ro = {"Authorization": f"Bearer {pat.json()['data']['token']}"}
    for body in ({"everywhere": True}, {"refresh_token": researcher.refresh_token}, {}):
        out = await c.post("/api/auth/logout", json=body, headers=ro)
        assert out.status_code == 403, out.text
        assert out.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    assert await _me(c, researcher.access_token) == 200  # every session still open
    ok = await c.post("/api/auth/refresh", json={"refresh_token": researcher.refresh_token})
    assert ok.status_code == 200


async def test_password_change_revokes_every_session(
    fresh_client: httpx.AsyncClient, researcher: Any
) -> None:
    c = fresh_client
    other = (
        await c.post(
            "/api/auth/token",
            data={"username": researcher.username, "password": researcher.password},
        )
    ).json()
    wrong = await c.post(
        "/api/auth/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=researcher.headers,
    )
    assert wrong.status_code == 401
    weak = await c.post(
        "/api/auth/password",
        json={"current_password": researcher.password, "new_password": "password123"},
        headers=researcher.headers,
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "WEAK_PASSWORD"
    changed = await c.post(
        "/api/auth/password",
        json={"current_password": researcher.password, "new_password": NEW_PASSWORD},
        headers=researcher.headers,
    )
    assert changed.status_code == 200, changed.text
    assert await _me(c, researcher.access_token) == 401
    assert await _me(c, other["access_token"]) == 401
    old_refresh = await c.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert old_refresh.status_code == 401
    assert await _me(c, changed.json()["access_token"]) == 200
    old = await c.post(
        "/api/auth/token", data={"username": researcher.username, "password": researcher.password}
    )
    assert old.status_code == 401
    new = await c.post(
        "/api/auth/token", data={"username": researcher.username, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200


async def test_admin_reset_forces_a_password_change(
    fresh_client: httpx.AsyncClient, make_user: Any, admin_headers: dict[str, str]
) -> None:
    c = fresh_client
    user = await make_user()
    reset = await c.post(f"/api/admin/users/{user.id}/reset-password", headers=admin_headers)
    assert reset.status_code == 200
    otp = reset.json()["data"]["one_time_password"]
    assert await _me(c, user.access_token) == 401
    login = await c.post("/api/auth/token", data={"username": user.username, "password": otp})
    assert login.status_code == 200 and login.json()["password_change_required"] is True
    token = login.json()["access_token"]
    assert await _me(c, token) == 200  # /me is allowed
    blocked = await c.get("/api/user/preferences", headers=bearer(token))
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "PASSWORD_CHANGE_REQUIRED"
    changed = await c.post(
        "/api/auth/password",
        json={"current_password": otp, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    assert changed.status_code == 200
    fresh = changed.json()["access_token"]
    assert (await c.get("/api/user/preferences", headers=bearer(fresh))).status_code == 200
