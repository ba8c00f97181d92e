"""The event bus: publish JSON messages on named channels; subscribers get them in order.

In-process by default; with ``QUANTLAB_REDIS_URL`` set, Redis pub/sub, so that any API
process can serve any job's events and worker processes can publish directly."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from quantlab.platform.logging import get_logger

log = get_logger("quantlab.events")

QUEUE_SIZE = 1000


class EventBus(Protocol):
    """Fan-out of messages to every current subscriber of a channel."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to the channel's subscribers (no-op without any)."""
        ...

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Start receiving the channel's messages until the context exits."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class Subscription:
    """An ordered stream of one channel's messages."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def put(self, message: dict[str, Any]) -> None:
        """Queue a message; a subscriber too slow to keep up loses the oldest ones."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self, wait_s: float | None = None) -> dict[str, Any] | None:
        """The next message, or None after ``wait_s`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return None

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class InProcessBus:
    """Subscribers in this process only (the embedded default)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for sub in list(self._subscribers.get(channel, ())):
            sub.put(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        sub = Subscription()
        self._subscribers.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Redis pub/sub; channels carry the configured key prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self.prefix = prefix

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self.prefix + channel, json.dumps(message, default=str))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        sub = Subscription()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.prefix + channel)

        async def pump() -> None:
            async for raw in pubsub.listen():
                try:
                    sub.put(json.loads(raw["data"]))
                except (ValueError, TypeError):
                    log.warning("bad_event", channel=channel)

        task = asyncio.create_task(pump())
        try:
            yield sub
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()

    async def close(self) -> None:
        await self._redis.aclose()


class SyncRedisPublisher:
    """Publishing from synchronous worker code (Celery jobs) onto a :class:`RedisBus`."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Publish ``message``; a Redis hiccup loses the event, never the job."""
        try:
            self._redis.publish(self.prefix + channel, json.dumps(message, default=str))
        except Exception as exc:
            log.warning("event_publish_failed", channel=channel, error=str(exc))


def make_bus(redis_url: str | None, prefix: str) -> EventBus:
    """The bus for this configuration."""
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()


def job_channel(job_id: str) -> str:
    """The channel of one job's events."""
    return f"jobs:{job_id}"
