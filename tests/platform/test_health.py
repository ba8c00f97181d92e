"""Liveness and readiness, including a real failing backend."""

from __future__ import annotations

from pathlib import Path

import httpx

from quantlab.api.app import create_app
from tests.conftest import make_settings


async def test_health_and_ready(client: httpx.AsyncClient, backend: str) -> None:
    assert (await client.get("/api/health")).json()["data"]["status"] == "ok"
    ready = await client.get("/api/ready")
    assert ready.status_code == 200
    assert ready.json()["data"]["checks"]["database"]["backend"] == (
        "sqlite" if backend == "sqlite" else "postgresql"
    )


async def test_ready_is_503_when_database_and_redis_fail(tmp_path: Path) -> None:
    # Nothing listens on these ports: the checks must fail and say which.
    settings = make_settings(
        tmp_path,
        "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/api/health")).status_code == 200
            resp = await c.get("/api/ready")
    assert resp.status_code == 503
    err = resp.json()["error"]
    assert err["code"] == "SERVICE_UNAVAILABLE"
    checks = err["details"]["checks"]
    assert checks["database"]["ok"] is False and checks["redis"]["ok"] is False
