"""The cache on both backends: TTL, invalidation, and no stale read after a write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from quantlab.platform.cache import Cache, MemoryBackend, NullCache, RedisBackend, build_cache


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield Cache(MemoryBackend(), default_ttl=60)
        return
    from redis.asyncio import Redis

    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    client = Redis.from_url(url)
    yield Cache(RedisBackend(client, prefix + "cache:"), default_ttl=60)
    await client.aclose()


def _key() -> str:
    return "t:" + uuid.uuid4().hex


async def test_get_or_load_caches_and_invalidate_reloads(cache: Cache) -> None:
    store = {"v": 1}
    calls = 0

    async def load() -> dict[str, int]:
        nonlocal calls
        calls += 1
        return dict(store)

    key = _key()
    assert await cache.get_or_load(key, load) == {"v": 1}
    assert await cache.get_or_load(key, load) == {"v": 1}
    assert calls == 1
    store["v"] = 2
    await cache.invalidate(key)
    assert await cache.get_or_load(key, load) == {"v": 2}
    assert calls == 2


async def test_ttl_expires(cache: Cache) -> None:
    key = _key()
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await cache.get_or_load(key, load, ttl=0.2) == 1
    await asyncio.sleep(0.35)
    assert await cache.get_or_load(key, load, ttl=0.2) == 2


async def test_none_is_not_cached(cache: Cache) -> None:
    key = _key()
    results: list[Any] = [None, "found"]

    async def load() -> Any:
        return results.pop(0)

    assert await cache.get_or_load(key, load) is None
    assert await cache.get_or_load(key, load) == "found"


async def test_slow_reader_never_hides_a_write(cache: Cache) -> None:
    """A reader loads the old row, a writer commits and invalidates, then the reader stores
    its old value: the next read must still see the write."""
    key = _key()
    db = {"theme": "light"}
    loaded = asyncio.Event()
    written = asyncio.Event()

    async def slow_load() -> dict[str, str]:
        snapshot = dict(db)  # reads the old row...
        loaded.set()
        await written.wait()  # ...and is overtaken by the write
        return snapshot

    async def writer() -> None:
        await loaded.wait()
        db["theme"] = "dark"  # commit
        await cache.invalidate(key)  # then invalidate
        written.set()

    stale, _ = await asyncio.gather(cache.get_or_load(key, slow_load), writer())
    assert stale == {"theme": "light"}  # the racing reader itself saw the old row

    async def load() -> dict[str, str]:
        return dict(db)

    assert await cache.get_or_load(key, load) == {"theme": "dark"}


async def test_many_interleavings_never_stale(cache: Cache) -> None:
    key = _key()
    db = {"n": 0}

    async def load() -> dict[str, int]:
        snapshot = dict(db)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return snapshot

    async def write(n: int) -> None:
        db["n"] = n
        await cache.invalidate(key)

    for n in range(1, 40):
        await asyncio.gather(cache.get_or_load(key, load), write(n), cache.get_or_load(key, load))
        assert (await cache.get_or_load(key, load))["n"] == n


def test_build_cache_choices() -> None:
    assert isinstance(build_cache(None, "p:", 60, workers=1), Cache)
    assert isinstance(build_cache(None, "p:", 60, workers=1).backend, MemoryBackend)
    # several processes without Redis: a per-process cache could serve stale data
    assert isinstance(build_cache(None, "p:", 60, workers=2), NullCache)
    assert isinstance(build_cache(None, "p:", 60, workers=1, enabled=False), NullCache)


async def test_memory_backend_is_bounded() -> None:
    backend = MemoryBackend(max_entries=10)
    for i in range(25):
        await backend.set(f"k{i}", str(i), 60)
    assert len(backend._data) <= 10
    assert await backend.mget(["k24"]) == ["24"]


async def test_prefetched_values_are_used_once(cache: Cache) -> None:
    from quantlab.platform.cache import remember_prefetched

    key = _key()
    await cache.fill(key, {"v": 1}, "0")
    values, gens = await cache.get_many([key])
    remember_prefetched({key: (values[0], gens[0])})
    await cache.invalidate(key)  # a write after the read-ahead...
    assert (await cache.get_many([key]))[0] == [{"v": 1}]  # ...the request's own snapshot
    assert (await cache.get_many([key]))[0] == [None]  # later reads see the invalidation
