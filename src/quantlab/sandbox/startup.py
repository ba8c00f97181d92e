"""Start-up hook of the sandbox: the executor pool, its readiness check, the code purge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request

from quantlab.platform.db import Database
from quantlab.platform.logging import get_logger
from quantlab.sandbox import service
from quantlab.sandbox.recorder import ExecutionRecorder
from quantlab.sandbox.runtime import SandboxRuntime

log = get_logger("quantlab.sandbox")

PURGE_INTERVAL_SECONDS = 3600.0


@contextlib.asynccontextmanager
async def sandbox_startup(app: FastAPI) -> AsyncIterator[None]:
    """``app.state.sandbox`` for the app's lifetime; executors are stopped on exit."""
    settings = app.state.settings
    runtime = SandboxRuntime(settings)
    await runtime.start()  # raises when production would run with degraded isolation
    app.state.sandbox = runtime
    recorder = ExecutionRecorder(app.state.db, settings.data_dir)
    await recorder.start()  # first writes what crashed processes journalled
    app.state.sandbox_recorder = recorder
    app.state.extra_readiness_checks["sandbox"] = check_sandbox
    purger = asyncio.create_task(
        purge_loop(app.state.db, settings.sandbox_code_retention_days, PURGE_INTERVAL_SECONDS)
    )
    try:
        yield
    finally:
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger
        await recorder.stop()
        await runtime.close()


async def purge_loop(db: Database, retention_days: int, interval: float) -> None:
    """Clear expired code now and then every ``interval`` seconds."""
    while True:
        try:
            async with db.sessionmaker() as session:
                purged = await service.purge_expired_code(session, retention_days)
            if purged:
                log.info("sandbox_code_purged", executions=purged, retention_days=retention_days)
        except Exception as exc:  # a database hiccup must not end the loop
            log.warning("sandbox_code_purge_failed", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(interval)


async def check_sandbox(request: Request) -> dict[str, Any]:
    """Ready unless the executors failed to start (warming up still counts as ready)."""
    runtime: SandboxRuntime = request.app.state.sandbox
    health = runtime.health()
    if health["state"] == "unavailable":
        raise RuntimeError(f"sandbox unavailable: {runtime.failure or 'not started'}")
    return {
        "state": health["state"],
        "isolation": health["isolation"]["level"],
        "pool_size": health["pool_size"],
        "busy": health["busy"],
    }
