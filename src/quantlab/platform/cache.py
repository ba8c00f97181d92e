"""A small cache with an in-memory TTL backend and a Redis backend behind one interface.

Reads that may be cached go through :meth:`Cache.get_or_load`; every write calls
:meth:`Cache.invalidate` *after* its transaction commits. Each key has a generation
counter: a loader records the generation before it reads the database and its value is
stored under that generation, so a value loaded before an invalidation is never served
after it (the classic "slow reader re-fills the cache with the old row" race).

The memory backend is per process. With several workers and no Redis it cannot see
other workers' invalidations, so :func:`build_cache` then returns a :class:`NullCache`:
correctness first, speed through Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Protocol

# Generation counters outlive every value (bounded by max_ttl), so a forgotten counter
# can never make an old value current again.
_GEN_TTL_S = 7 * 24 * 3600
_MISSING = object()

Loader = Callable[[], Awaitable[Any]]
KeysFor = Callable[[str], list[str]]

# Values read ahead for the current request: key -> (value or None, generation).
_prefetched: ContextVar[dict[str, tuple[Any, str]] | None] = ContextVar(
    "cache_prefetched", default=None
)


def prefetch(keys: KeysFor) -> Callable[[Any], Any]:
    """Mark a route whose cache reads follow from the caller's user id, so authentication
    fetches them in its own round trip (``@prefetch(lambda uid: [f"prefs:{uid}"])``)."""

    def mark(endpoint: Any) -> Any:
        endpoint.__cache_prefetch__ = keys
        return endpoint

    return mark


def prefetch_keys_of(scope: Any) -> KeysFor | None:
    """The prefetch hint of the route matched for ``scope``, if any."""
    route = scope.get("route")
    return getattr(getattr(route, "endpoint", None), "__cache_prefetch__", None)


def remember_prefetched(entries: dict[str, tuple[Any, str]]) -> None:
    """Keep values read ahead for this request (each is used at most once)."""
    _prefetched.set(entries)


class CacheBackend(Protocol):
    """Raw storage: values and generation counters."""

    async def mget(self, keys: Sequence[str]) -> list[str | None]: ...
    async def set(self, key: str, value: str, ttl: float) -> None: ...
    async def bump(self, keys: Sequence[str]) -> None: ...


class MemoryBackend:
    """A dict with expiry times; bounded, evicting the oldest entries first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self.max_entries = max_entries

    async def mget(self, keys: Sequence[str]) -> list[str | None]:
        now = time.monotonic()
        out: list[str | None] = []
        for key in keys:
            item = self._data.get(key)
            if item is None or item[0] < now:
                self._data.pop(key, None)
                out.append(None)
            else:
                out.append(item[1])
        return out

    async def set(self, key: str, value: str, ttl: float) -> None:
        if len(self._data) >= self.max_entries:
            self._evict()
        self._data[key] = (time.monotonic() + ttl, value)

    async def bump(self, keys: Sequence[str]) -> None:
        now = time.monotonic()
        for key in keys:
            item = self._data.get(key)
            current = int(item[1]) if item is not None and item[0] >= now else 0
            self._data[key] = (now + _GEN_TTL_S, str(current + 1))

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._data.items() if exp < now]:
            del self._data[key]
        while len(self._data) >= self.max_entries:
            # dicts keep insertion order: drop the oldest tenth
            for key in list(self._data)[: max(1, self.max_entries // 10)]:
                del self._data[key]


class RedisBackend:
    """Redis strings under a prefix; counters via INCR so every process agrees."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def mget(self, keys: Sequence[str]) -> list[str | None]:
        raw = await self.client.mget([self.prefix + k for k in keys])
        return [v.decode() if isinstance(v, bytes) else v for v in raw]

    async def set(self, key: str, value: str, ttl: float) -> None:
        await self.client.set(self.prefix + key, value, px=max(1, int(ttl * 1000)))

    async def bump(self, keys: Sequence[str]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(self.prefix + key)
                pipe.expire(self.prefix + key, _GEN_TTL_S)
            await pipe.execute()


class Cache:
    """JSON values with a TTL, generation-checked so invalidation always wins."""

    enabled = True

    def __init__(self, backend: CacheBackend, default_ttl: float = 60.0) -> None:
        self.backend = backend
        self.default_ttl = default_ttl

    @staticmethod
    def _gen(key: str) -> str:
        return f"gen:{key}"

    @staticmethod
    def _val(key: str) -> str:
        return f"val:{key}"

    async def get_many(self, keys: Sequence[str]) -> tuple[list[Any], list[str]]:
        """Cached values (``None`` for a miss) and the generations to store fills under."""
        ahead = _prefetched.get()
        if ahead and all(k in ahead for k in keys):
            taken = [ahead.pop(k) for k in keys]
            return [t[0] for t in taken], [t[1] for t in taken]
        flat: list[str] = []
        for key in keys:
            flat += [self._val(key), self._gen(key)]
        raw = await self.backend.mget(flat)
        values: list[Any] = []
        gens: list[str] = []
        for i in range(len(keys)):
            value, gen = raw[2 * i], raw[2 * i + 1] or "0"
            gens.append(gen)
            if value is None:
                values.append(None)
                continue
            stored_gen, _, payload = value.partition("|")
            values.append(json.loads(payload) if stored_gen == gen else None)
        return values, gens

    async def fill(self, key: str, value: Any, gen: str, ttl: float | None = None) -> None:
        """Store ``value`` loaded under generation ``gen`` (ignored later if it moved on)."""
        payload = json.dumps(value, default=str, separators=(",", ":"))
        await self.backend.set(self._val(key), f"{gen}|{payload}", ttl or self.default_ttl)

    async def get_or_load(self, key: str, loader: Loader, ttl: float | None = None) -> Any:
        """The cached value of ``key``, or ``await loader()`` stored for next time.

        ``None`` results are not cached (a missing row is looked up again).
        """
        (value,), (gen,) = await self.get_many([key])
        if value is not None:
            return value
        value = await loader()
        if value is not None:
            await self.fill(key, value, gen, ttl)
        return value

    async def invalidate(self, *keys: str) -> None:
        """Make every cached value of ``keys`` stale; call after the write has committed."""
        if keys:
            await self.backend.bump([self._gen(k) for k in keys])


class NullCache(Cache):
    """Caches nothing; used when a per-process cache could serve stale data."""

    enabled = False

    def __init__(self) -> None:
        super().__init__(MemoryBackend(1))

    async def get_many(self, keys: Sequence[str]) -> tuple[list[Any], list[str]]:
        return [None] * len(keys), ["0"] * len(keys)

    async def fill(self, key: str, value: Any, gen: str, ttl: float | None = None) -> None:
        return None

    async def invalidate(self, *keys: str) -> None:
        return None


def build_cache(
    redis_client: Any, prefix: str, default_ttl: float, workers: int, enabled: bool = True
) -> Cache:
    """Redis when a client is given; memory for a single process; otherwise no cache."""
    if not enabled:
        return NullCache()
    if redis_client is not None:
        return Cache(RedisBackend(redis_client, prefix + "cache:"), default_ttl)
    if workers > 1:
        return NullCache()
    return Cache(MemoryBackend(), default_ttl)


@asynccontextmanager
async def cache_startup(app: Any) -> AsyncIterator[None]:
    """Start-up hook: ``app.state.cache`` for the configured backend."""
    s = app.state.settings
    app.state.cache = build_cache(
        getattr(app.state, "redis", None),
        s.redis_prefix,
        s.cache_ttl_seconds,
        s.workers,
        s.cache_enabled,
    )
    yield
