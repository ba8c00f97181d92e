"""The sandbox of one API process: its executor pool, started in the background.

The isolation check runs at start-up (production refuses degraded isolation unless
``QUANTLAB_SANDBOX_ALLOW_DEGRADED=1``); the executors themselves warm up in a background
task so the API answers at once, and the first run waits for them (the cold cost).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from quantlab.platform.logging import get_logger
from quantlab.platform.settings import Settings
from quantlab.sandbox.exceptions import SandboxUnavailableError
from quantlab.sandbox.executor import ExecutorPool, SandboxConfig, isolation_report

log = get_logger("quantlab.sandbox")

State = Literal["cold", "starting", "ready", "unavailable"]


def sandbox_config(settings: Settings) -> SandboxConfig:
    """The executor configuration that ``settings`` asks for."""
    return SandboxConfig(output_cap=settings.sandbox_output_cap_bytes)


class SandboxRuntime:
    """Owns the :class:`ExecutorPool` of this process (``app.state.sandbox``)."""

    def __init__(self, settings: Settings, config: SandboxConfig | None = None) -> None:
        self.settings = settings
        self.config = config or sandbox_config(settings)
        self.allow_degraded = settings.sandbox_allow_degraded or not settings.is_production
        self.pool = ExecutorPool(
            self.config,
            size=settings.sandbox_executors,
            per_user=settings.sandbox_per_user_concurrency,
            queue_timeout=settings.sandbox_queue_seconds,
            allow_degraded=self.allow_degraded,
        )
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self.failure: str | None = None

    async def start(self) -> None:
        """Check isolation (RuntimeError when refused); warm the pool in the background unless
        ``sandbox_prewarm`` is off (then the first run starts it)."""
        report = await asyncio.to_thread(isolation_report, self.config)
        if report.level != "full":
            log.warning("sandbox_degraded", missing=list(report.missing), notes=list(report.notes))
            if not self.allow_degraded:
                raise RuntimeError(
                    "refusing to start in production: sandbox isolation is degraded (missing "
                    + ", ".join(report.missing)
                    + "); install bubblewrap with user namespaces or set "
                    "QUANTLAB_SANDBOX_ALLOW_DEGRADED=1"
                )
        self._started = True
        if self.settings.sandbox_prewarm:
            self._task = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await self.pool.start()
        except Exception as exc:  # the API stays up; health and runs report unavailable
            self.failure = f"{type(exc).__name__}: {exc}"
            log.error("sandbox_start_failed", error=self.failure)
            return
        status = self.pool.status()
        log.info("sandbox_ready", executors=status.alive, isolation=status.isolation.level)

    @property
    def state(self) -> State:
        """``cold`` until the first run (no prewarm), ``starting`` while executors warm up,
        ``ready``, or ``unavailable`` (not started, or the start failed)."""
        if not self._started or self.failure is not None:
            return "unavailable"
        if self._task is None:
            return "cold"
        return "ready" if self._task.done() else "starting"

    async def ready_pool(self) -> ExecutorPool:
        """The pool once warm (waits for the start-up); 503 when it cannot run code."""
        if self._started and self._task is None:
            self._task = asyncio.create_task(self._warm())
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.config.start_timeout)
            except TimeoutError:
                raise SandboxUnavailableError(
                    "the sandbox is still starting; retry shortly", headers={"Retry-After": "5"}
                ) from None
        if self.state != "ready":
            raise SandboxUnavailableError(headers={"Retry-After": "30"})
        return self.pool

    def health(self) -> dict[str, Any]:
        """Availability, pool size, busy count and the isolation level in force."""
        status = self.pool.status()
        state = self.state
        return {
            "available": state in ("cold", "starting") or (state == "ready" and status.alive > 0),
            "state": state,
            "pool_size": status.size,
            "busy": status.busy,
            "idle": status.available,
            "alive": status.alive,
            "isolation": status.isolation.as_dict(),
        }

    async def close(self) -> None:
        """Wait for a start in progress (its processes must not leak), then stop everything."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.pool.close()
