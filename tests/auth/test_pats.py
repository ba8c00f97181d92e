"""Personal access tokens: shown once, hashed, scoped, expiring, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from quantlab.auth.models import PersonalAccessToken
from quantlab.auth.tokens import digest


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_list_use_revoke(app: Any, client: httpx.AsyncClient, researcher: Any) -> None:
    h = researcher.headers
    created = await client.post("/api/auth/tokens", json={"name": "notebook"}, headers=h)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    secret = data["token"]
    assert secret.startswith("qlp_") and data["prefix"] == secret[:10]
    async with app.state.db.sessionmaker() as session:
        row = (
            await session.execute(
                select(PersonalAccessToken).where(PersonalAccessToken.id == data["id"])
            )
        ).scalar_one()
    assert row.token_hash == digest(secret) and secret not in row.token_hash
    listed = await client.get("/api/auth/tokens", headers=h)
    assert listed.json()["meta"]["total"] == 1
    assert "token" not in listed.json()["data"][0] and secret not in listed.text
    me = await client.get("/api/auth/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["data"]["token_kind"] == "pat"
    assert me.json()["data"]["can_write"] is True
    # a PAT cannot mint further tokens
    breed = await client.post("/api/auth/tokens", json={"name": "x"}, headers=bearer(secret))
    assert breed.status_code == 403
    revoked = await client.delete(f"/api/auth/tokens/{data['id']}", headers=h)
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked_at"]
    assert (await client.get("/api/auth/me", headers=bearer(secret))).status_code == 401


async def test_read_only_scope(client: httpx.AsyncClient, researcher: Any) -> None:
    created = await client.post(
        "/api/auth/tokens", json={"name": "ro", "read_only": True}, headers=researcher.headers
    )
    secret = created.json()["data"]["token"]
    me = await client.get("/api/auth/me", headers=bearer(secret))
    assert me.json()["data"]["read_only"] is True and me.json()["data"]["can_write"] is False
    put = await client.put("/api/user/preferences", json={"theme": "dark"}, headers=bearer(secret))
    assert put.status_code == 403 and put.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    delete = await client.delete(
        f"/api/auth/tokens/{created.json()['data']['id']}", headers=bearer(secret)
    )
    assert delete.status_code == 403


async def test_expiry(client: httpx.AsyncClient, researcher: Any) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    bad = await client.post(
        "/api/auth/tokens", json={"name": "old", "expires_at": past}, headers=researcher.headers
    )
    assert bad.status_code == 422
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    ok = await client.post(
        "/api/auth/tokens", json={"name": "day", "expires_at": soon}, headers=researcher.headers
    )
    assert ok.status_code == 201 and ok.json()["data"]["expires_at"]


async def test_expired_token_is_401(app: Any, client: httpx.AsyncClient, researcher: Any) -> None:
    created = await client.post(
        "/api/auth/tokens", json={"name": "short"}, headers=researcher.headers
    )
    data = created.json()["data"]
    async with app.state.db.sessionmaker() as session:
        pat = await session.get(PersonalAccessToken, data["id"])
        assert pat is not None
        pat.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.commit()
    await app.state.cache.invalidate(f"auth:pat:{digest(data['token'])}")
    resp = await client.get("/api/auth/me", headers=bearer(data["token"]))
    assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]


async def test_cannot_revoke_another_users_token(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    bob = await make_user()
    created = await client.post("/api/auth/tokens", json={"name": "a"}, headers=alice.headers)
    token_id = created.json()["data"]["id"]
    resp = await client.delete(f"/api/auth/tokens/{token_id}", headers=bob.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "TOKEN_NOT_FOUND"
    listed = await client.get("/api/auth/tokens", headers=bob.headers)
    assert listed.json()["meta"]["total"] == 0
    secret = created.json()["data"]["token"]
    assert (await client.get("/api/auth/me", headers=bearer(secret))).status_code == 200
