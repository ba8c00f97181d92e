"""The event bus: in-process and Redis pub/sub deliver in order, only to subscribers of the
channel, across bus instances (processes) sharing a prefix, and from synchronous workers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from quantlab.platform.events import InProcessBus, RedisBus, SyncRedisPublisher, make_bus


async def test_in_process_bus_orders_and_isolates() -> None:
    bus = make_bus(None, "x:")
    assert isinstance(bus, InProcessBus)
    async with bus.subscribe("a") as a, bus.subscribe("b") as b:
        for i in range(50):
            await bus.publish("a", {"i": i})
        await bus.publish("b", {"other": True})
        got = [await a.get(1) for _ in range(50)]
        assert got == [{"i": i} for i in range(50)]
        assert await b.get(1) == {"other": True}
        assert await a.get(0.05) is None
    await bus.publish("a", {"late": True})  # nobody listens: dropped, no error


@pytest.mark.redis
async def test_redis_bus_crosses_instances_and_sync_publishers(redis_url: str) -> None:
    prefix = f"quantlab-test-{uuid.uuid4().hex[:8]}:"
    server_a, server_b = RedisBus(redis_url, prefix), RedisBus(redis_url, prefix)
    stranger = RedisBus(redis_url, "another-install:")
    try:
        async with server_b.subscribe("jobs:1") as sub, stranger.subscribe("jobs:1") as foreign:
            await asyncio.sleep(0.1)  # SUBSCRIBE reaches the server
            for i in range(20):
                await server_a.publish("jobs:1", {"i": i})
            SyncRedisPublisher(redis_url, prefix).publish("jobs:1", {"from": "worker"})
            got = [await sub.get(2) for _ in range(21)]
            assert got == [{"i": i} for i in range(20)] + [{"from": "worker"}]
            assert await foreign.get(0.2) is None
    finally:
        for bus in (server_a, server_b, stranger):
            await bus.close()
