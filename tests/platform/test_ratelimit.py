"""Rate limits: per user and endpoint group, memory and Redis storage, 429 envelope."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends

from quantlab.api.app import create_app
from quantlab.api.routes import protected
from quantlab.platform import migrate
from quantlab.platform.envelope import ok
from quantlab.platform.ratelimit import RateLimit, RateLimiter, build_storage
from tests.conftest import create_test_user, make_settings

probe = APIRouter(prefix="/api/probe-limits")


@probe.get("/read")
async def read() -> dict[str, Any]:
    return ok("read")


@probe.post("/execute", dependencies=[Depends(RateLimit("execute"))])
async def execute() -> dict[str, Any]:
    return ok("ran")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limited_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    extra: dict[str, Any] = {}
    if request.param == "redis":
        extra = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix") + uuid.uuid4().hex[:6] + ":",
        }
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'q.db'}",
        rate_limits={"default": "5/minute", "execute": "2/minute"},
        bootstrap_admin=False,
        **extra,
    )
    await migrate.upgrade_async(settings.db_url)
    app = create_app(settings)
    protected(app, probe)
    async with app.router.lifespan_context(app):
        yield app


async def test_default_group_is_per_user(limited_app: Any) -> None:
    alice = await create_test_user(limited_app, "researcher")
    bob = await create_test_user(limited_app, "researcher")
    transport = httpx.ASGITransport(app=limited_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        codes = [
            (await c.get("/api/probe-limits/read", headers=alice.headers)).status_code
            for _ in range(5)
        ]
        assert codes == [200] * 5
        over = await c.get("/api/probe-limits/read", headers=alice.headers)
        assert over.status_code == 429
        assert over.json()["status"] == "error"
        assert over.json()["error"]["code"] == "RATE_LIMITED"
        assert over.json()["error"]["correlation_id"]
        assert 1 <= int(over.headers["retry-after"]) <= 60
        assert over.headers["ratelimit-limit"] == "5"
        assert over.headers["ratelimit-remaining"] == "0"
        # another user (same address) is unaffected
        assert (await c.get("/api/probe-limits/read", headers=bob.headers)).status_code == 200
        # anonymous requests are refused by auth before they count
        assert (await c.get("/api/probe-limits/read")).status_code == 401


async def test_execute_group_is_stricter(limited_app: Any) -> None:
    user = await create_test_user(limited_app, "researcher")
    transport = httpx.ASGITransport(app=limited_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        ran = [
            (await c.post("/api/probe-limits/execute", headers=user.headers)).status_code
            for _ in range(3)
        ]
        assert ran == [200, 200, 429]
        # the default group still has room for reads
        assert (await c.get("/api/probe-limits/read", headers=user.headers)).status_code == 200


async def test_limiter_unit_and_disable() -> None:
    limiter = RateLimiter(build_storage(None, "x:"), {"default": "2/second"})
    assert (await limiter.hit("default", "k")).allowed
    assert (await limiter.hit("default", "k")).allowed
    # an unconfigured group gets the default limits, counted on its own
    assert (await limiter.hit("unconfigured", "k")).allowed
    refused = await limiter.hit("default", "k")
    assert not refused.allowed and refused.reset_after >= 1 and refused.limit == 2
    await limiter.clear("default", "k")
    assert (await limiter.hit("default", "k")).allowed
    off = RateLimiter(build_storage(None, "x:"), {"default": "1/hour"}, enabled=False)
    assert all([(await off.hit("default", "k")).allowed for _ in range(5)])


def test_settings_validate_limits() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        make_settings(Path("/tmp"), "sqlite+aiosqlite://", rate_limits={"login": "lots"})
    merged = make_settings(Path("/tmp"), "sqlite+aiosqlite://", rate_limits={"login": "5/minute"})
    assert merged.rate_limits["login"] == "5/minute" and "execute" in merged.rate_limits


@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_generous_groups_count_in_batches_with_bounded_overshoot(
    request: pytest.FixtureRequest, backend: str
) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    prefix = uuid.uuid4().hex[:8] + ":"
    limiter = RateLimiter(
        build_storage(url, prefix), {"default": "200/minute", "strict": "20/minute"}
    )
    assert limiter._batch == {"default": 4, "strict": 1}
    allowed = [(await limiter.hit("default", "u")).allowed for _ in range(300)]
    assert 200 - 4 <= sum(allowed) <= 200 + 4
    assert not any(allowed[210:])  # once refused, refused until the window moves on
    refused = await limiter.hit("default", "u")
    assert not refused.allowed and refused.reset_after >= 1
    strict = [(await limiter.hit("strict", "u")).allowed for _ in range(25)]
    assert strict == [True] * 20 + [False] * 5  # exact
