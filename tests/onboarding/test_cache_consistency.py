"""Two workers sharing Redis: a preferences write in one is never hidden by a cached read
in the other, and deactivation in one is honoured by the other at once."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from quantlab.api.app import create_app
from quantlab.platform import migrate
from tests.conftest import create_test_user, make_settings

pytestmark = pytest.mark.redis


async def test_write_in_one_worker_is_seen_by_the_other(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    await migrate.upgrade_async(url)
    common = {
        "redis_url": redis_url,
        "redis_prefix": f"{redis_prefix}{uuid.uuid4().hex[:6]}:",
        "bootstrap_admin": False,
        "secret_key": "x" * 40,
    }
    apps = [create_app(make_settings(tmp_path / f"w{i}", url, **common)) for i in range(2)]
    async with apps[0].router.lifespan_context(apps[0]):
        async with apps[1].router.lifespan_context(apps[1]):
            user = await create_test_user(apps[0])
            admin = await create_test_user(apps[0], "admin")
            clients = [
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=a, raise_app_exceptions=False),
                    base_url="http://t",
                )
                for a in apps
            ]
            w1, w2 = clients
            try:
                first = await w1.get("/api/user/preferences", headers=user.headers)
                assert first.json()["data"]["theme"] == "light"  # now cached in Redis
                for theme in ("dark", "light", "dark"):
                    put = await w2.put(
                        "/api/user/preferences", json={"theme": theme}, headers=user.headers
                    )
                    assert put.status_code == 200
                    seen = await w1.get("/api/user/preferences", headers=user.headers)
                    assert seen.json()["data"]["theme"] == theme
                assert (await w1.get("/api/auth/me", headers=user.headers)).status_code == 200
                off = await w2.patch(
                    f"/api/admin/users/{user.id}", json={"is_active": False}, headers=admin.headers
                )
                assert off.status_code == 200
                assert (await w1.get("/api/auth/me", headers=user.headers)).status_code == 401
            finally:
                for c in clients:
                    await c.aclose()
