"""The Celery runner: the server publishes job ids to a broker queue; ``quantlab worker``
processes run them. Job state lives in quantlab's database (no result backend); late
acknowledgement plus reject-on-worker-lost make a job whose worker is killed mid-run go
back to the queue, and the guarded claim makes sure it never runs (or completes) twice."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from quantlab.platform.settings import Settings, get_settings

TASK_NAME = "quantlab.run_job"
FINISHED_CHANNEL = "jobs:finished"  # workers announce each end of a job here


def queue_name(settings: Settings) -> str:
    """The broker queue of this installation (prefixed like every Redis key)."""
    return f"{settings.redis_prefix}jobs"


def make_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings`` with at-least-once delivery and prefetch 1."""
    app = Celery("quantlab", broker=settings.celery_broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_default_queue=queue_name(settings),
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_transport_options={"visibility_timeout": 6 * 3600},
    )

    @app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)
    def run_job(job_id: str) -> str | None:
        from quantlab.platform.jobs.execute import execute_job

        sink = _sink(settings)
        status = execute_job(job_id, settings, sink)
        if status is not None:  # a free slot: dispatchers need not wait for their next poll
            sink({"type": "finished", "job_id": job_id, "status": status}, FINISHED_CHANNEL)
        return status

    return app


def _sink(settings: Settings) -> Any:
    from quantlab.platform.events import SyncRedisPublisher, job_channel

    if not settings.redis_url:
        return lambda message, channel=None: None  # clients still see the database state
    publisher = SyncRedisPublisher(settings.redis_url, settings.redis_prefix)

    def sink(message: dict[str, Any], channel: str | None = None) -> None:
        publisher.publish(channel or job_channel(message["job_id"]), message)

    return sink


@worker_process_init.connect
def _warm_child(**_: Any) -> None:
    """Each forked pool child opens its own database connection before its first job."""
    from quantlab.platform.jobs.registry import load_job_types
    from quantlab.platform.jobs.store import get_store

    load_job_types()
    store = get_store(get_settings())
    store.call(store.warm())


def worker_main(settings: Settings, concurrency: int, loglevel: str = "INFO") -> None:
    """Run a Celery worker in this process (``quantlab worker``)."""
    app = make_celery(settings)
    app.worker_main(
        argv=[
            "worker",
            "--queues",
            queue_name(settings),
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            loglevel,
            "--hostname",
            f"quantlab-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


class CeleryRunner:
    """Publishes dispatched job ids to the broker."""

    name = "celery"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = make_celery(settings)
        self.queue = queue_name(settings)

    async def start(self) -> None:
        """Nothing to start: workers are separate processes."""

    async def stop(self) -> None:
        """Release broker connections."""
        await asyncio.to_thread(self.app.close)

    def capacity(self) -> int | None:
        """Unbounded here; the database limits decide."""
        return None

    async def submit(self, job_id: str) -> bool:
        """Publish ``job_id`` to the queue."""
        await asyncio.to_thread(self.app.send_task, TASK_NAME, args=[job_id], queue=self.queue)
        return True

    def workers(self) -> list[dict[str, Any]]:
        """Workers are not tracked here (see ``celery inspect``)."""
        return []

    def ping_broker(self) -> None:
        """Raise unless the broker accepts a connection."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
