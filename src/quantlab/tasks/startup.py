"""Start-up hook of jobs: event bus, runner + dispatcher, scheduler, readiness check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request

from quantlab.platform.events import make_bus
from quantlab.platform.jobs.runtime import JobRuntime
from quantlab.tasks.schedules import run_scheduler


@contextlib.asynccontextmanager
async def jobs_startup(app: FastAPI) -> AsyncIterator[None]:
    """Run the job runtime for the app's lifetime (``app.state.jobs``, ``app.state.events``)."""
    settings = app.state.settings
    app.state.events = make_bus(settings.redis_url, settings.redis_prefix)
    runtime = JobRuntime(settings, app.state.db, app.state.events)
    app.state.jobs = runtime
    await runtime.start()
    app.state.extra_readiness_checks["jobs"] = check_jobs
    scheduler = asyncio.create_task(run_scheduler(app.state.db, runtime.wake))
    try:
        yield
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await runtime.stop()
        await app.state.events.close()


async def check_jobs(request: Request) -> dict[str, Any]:
    """The runner answers: local workers alive, or the Celery broker reachable."""
    runtime: JobRuntime = request.app.state.jobs
    runner: Any = runtime.runner
    if runner.name == "celery":
        await asyncio.to_thread(runner.ping_broker)
        return {"runner": "celery"}
    workers = runner.workers()
    alive = sum(1 for w in workers if w["alive"])
    if alive == 0:
        raise RuntimeError("no local job worker process is alive")
    ready = sum(1 for w in workers if w["alive"] and w["ready"])
    return {"runner": "local", "workers": len(workers), "alive": alive, "ready": ready}
