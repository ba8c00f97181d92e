"""Rate limits per caller and endpoint group, on the ``limits`` library.

Storage is in-process memory by default and Redis when ``QUANTLAB_REDIS_URL`` is set (then
every worker shares the counters). Groups and their limits come from
``settings.rate_limits`` (``{"default": "600/minute", "login": "10/minute;50/hour", ...}``).

Routes opt in with a dependency::

    @router.post("/run", dependencies=[Depends(RateLimit("execute"))])

The caller is the signed-in user when authentication ran before (``request.state.user_id``),
else the client address. A refusal is a 429 in the error envelope with ``Retry-After`` and
the ``RateLimit-Limit/-Remaining/-Reset`` headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from quantlab.platform.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, and the facts for the headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int


class RateLimiter:
    """Named groups of limits over one storage."""

    def __init__(self, storage: Storage, groups: dict[str, str], enabled: bool = True) -> None:
        self.storage = storage
        self.enabled = enabled
        self.strategy = SlidingWindowCounterRateLimiter(storage)
        self.groups: dict[str, list[RateLimitItem]] = {
            name: list(parse_many(spec)) for name, spec in groups.items()
        }

    async def hit(self, group: str, identity: str) -> Decision:
        """Count one request of ``identity`` in ``group``; refuse if any limit is exhausted."""
        items = self.groups.get(group) or self.groups.get("default") or []
        if not self.enabled or not items:
            return Decision(True, 0, 0, 0)
        for item in items:
            if not await self.strategy.hit(item, group, identity):
                stats = await self.strategy.get_window_stats(item, group, identity)
                reset_after = max(1, math.ceil(stats.reset_time - time.time()))
                return Decision(False, item.amount, 0, reset_after)
        return Decision(True, items[0].amount, -1, 0)

    async def clear(self, group: str, identity: str) -> None:
        """Forget the counts of ``identity`` in ``group`` (tests, admin unlocks)."""
        for item in self.groups.get(group, []):
            await self.strategy.clear(item, group, identity)


def build_storage(redis_url: str | None, prefix: str) -> Storage:
    """Redis storage when a URL is given (``redis://`` or ``rediss://``), else memory."""
    if redis_url:
        uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
        return RedisStorage(uri, implementation="redispy", key_prefix=prefix + "limits")
    return MemoryStorage()


def client_address(request: Request) -> str:
    """The peer address (uvicorn resolves trusted proxy headers before this)."""
    return request.client.host if request.client else "unknown"


def too_many(decision: Decision, message: str | None = None) -> RateLimited:
    """The 429 error for a refused ``decision`` with its standard headers."""
    return RateLimited(
        message or f"rate limit exceeded; retry in {decision.reset_after} s",
        details={"retry_after": decision.reset_after, "limit": decision.limit},
        headers={
            "Retry-After": str(decision.reset_after),
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(decision.reset_after),
        },
    )


class RateLimit:
    """Dependency enforcing the limits of one endpoint group for the current caller."""

    def __init__(self, group: str, *, per: str = "user") -> None:
        self.group = group
        self.per = per  # "user" (falls back to address when anonymous) or "address"

    async def __call__(self, request: Request) -> None:
        limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
        if limiter is None:
            return
        user_id: Any = getattr(request.state, "user_id", None)
        if self.per == "user" and user_id:
            identity = f"user:{user_id}"
        else:
            identity = f"addr:{client_address(request)}"
        decision = await limiter.hit(self.group, identity)
        if not decision.allowed:
            raise too_many(decision)


@asynccontextmanager
async def ratelimit_startup(app: Any) -> AsyncIterator[None]:
    """Start-up hook: ``app.state.limiter`` over memory or Redis storage."""
    s = app.state.settings
    storage = build_storage(s.redis_url, s.redis_prefix)
    app.state.limiter = RateLimiter(storage, s.rate_limits, s.rate_limit_enabled)
    yield
