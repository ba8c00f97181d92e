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
    """Named groups of limits over one storage.

    Strict groups (every limit below ``BATCH_DIVISOR`` requests per window, such as login
    and code execution) count every request in the shared storage. Generous groups count
    locally and flush in batches of ``limit // BATCH_DIVISOR`` with one storage call, so a
    busy API does not pay a storage round trip per request; a process can then overshoot
    a limit by at most one batch (2 % of it) before it refuses.
    """

    BATCH_DIVISOR = 50
    MAX_TRACKED = 100_000

    def __init__(self, storage: Storage, groups: dict[str, str], enabled: bool = True) -> None:
        self.storage = storage
        self.enabled = enabled
        self.strategy = SlidingWindowCounterRateLimiter(storage)
        self.groups: dict[str, list[RateLimitItem]] = {
            name: list(parse_many(spec)) for name, spec in groups.items()
        }
        self._batch = {
            name: max(1, min(item.amount for item in items) // self.BATCH_DIVISOR)
            for name, items in self.groups.items()
        }
        self._pending: dict[tuple[str, str], int] = {}
        self._refused_until: dict[tuple[str, str], tuple[float, Decision]] = {}

    async def hit(self, group: str, identity: str) -> Decision:
        """Count one request of ``identity`` in ``group``; refuse if any limit is exhausted."""
        name = group if group in self.groups else "default"
        items = self.groups.get(name) or []
        if not self.enabled or not items:
            return Decision(True, 0, 0, 0)
        batch = self._batch[name]
        if batch == 1:
            return await self._count(items, group, identity, 1)
        key = (group, identity)
        refused = self._refused_until.get(key)
        if refused is not None:
            until, decision = refused
            if time.monotonic() < until:
                left = max(1, math.ceil(until - time.monotonic()))
                return Decision(False, decision.limit, 0, left)
            del self._refused_until[key]
        pending = self._pending.get(key, 0) + 1
        if pending < batch:
            self._pending[key] = pending
            return Decision(True, items[0].amount, -1, 0)
        if len(self._pending) > self.MAX_TRACKED:
            self._pending.clear()
        self._pending[key] = 0
        decision = await self._count(items, group, identity, pending)
        if not decision.allowed:
            self._refused_until[key] = (time.monotonic() + decision.reset_after, decision)
        return decision

    async def _count(
        self, items: list[RateLimitItem], group: str, identity: str, cost: int
    ) -> Decision:
        for item in items:
            if not await self.strategy.hit(item, group, identity, cost=cost):
                stats = await self.strategy.get_window_stats(item, group, identity)
                reset_after = max(1, math.ceil(stats.reset_time - time.time()))
                return Decision(False, item.amount, 0, reset_after)
        return Decision(True, items[0].amount, -1, 0)

    async def clear(self, group: str, identity: str) -> None:
        """Forget the counts of ``identity`` in ``group`` (tests, admin unlocks)."""
        self._pending.pop((group, identity), None)
        self._refused_until.pop((group, identity), None)
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
