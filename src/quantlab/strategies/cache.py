"""Cached gallery reads.

The template gallery is the most read page of the strategy library and each row costs a
plain-language description (a spec validation and a render), the caller's favourites and
everyone's ratings. A page is cached per caller and query under a family token: any write
through the strategies API replaces the token, so every cached page of every caller goes
stale at once (in this process and, with Redis, in every other). Writes that bypass the API
(another domain creating a version) are bounded by ``TTL_S``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from quantlab.platform.cache import Cache
from quantlab.platform.jsonsafe import json_safe
from quantlab.platform.ownership import Principal

FAMILY = "strategies:gallery"
TTL_S = 30.0


async def _token(cache: Cache) -> str:
    async def new() -> str:
        return uuid.uuid4().hex

    token: str = await cache.get_or_load(FAMILY, new, ttl=24 * 3600.0)
    return token


async def read(
    cache: Cache,
    user: Principal,
    query: dict[str, Any],
    loader: Callable[[], Awaitable[Any]],
) -> Any:
    """The cached result of ``loader`` for this caller and query (JSON-safe values)."""
    if not cache.enabled:
        return await loader()
    scope = "admin" if user.is_admin else "user"
    key = f"{FAMILY}:{await _token(cache)}:{user.id}:{scope}:" + json.dumps(
        query, sort_keys=True, default=str
    )

    async def load() -> Any:
        return json_safe(await loader())

    return await cache.get_or_load(key, load, ttl=TTL_S)


async def changed(cache: Cache) -> None:
    """Make every cached gallery page stale; call after a strategies write has committed."""
    await cache.invalidate(FAMILY)
