"""A pool of warm executors for the API process: asyncio-friendly, fair, self-healing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from quantlab.sandbox.executor.config import ExecutionRequest, SandboxConfig
from quantlab.sandbox.executor.isolation import IsolationReport, isolation_report
from quantlab.sandbox.executor.process import Executor, ExecutorError
from quantlab.sandbox.executor.result import ExecutionResult
from quantlab.sandbox.executor.run import execute_async

log = logging.getLogger(__name__)


class PoolBusy(Exception):
    """No executor became free in time (``per_user`` True: the user's own slots are full)."""

    def __init__(self, retry_after: int, per_user: bool = False) -> None:
        super().__init__("the user's concurrent runs are in use" if per_user else "pool busy")
        self.retry_after = retry_after
        self.per_user = per_user


class SandboxUnavailable(Exception):
    """The pool cannot run code (not started, refused degraded isolation, or executor lost)."""


@dataclass(frozen=True)
class PoolStatus:
    """Snapshot for health checks."""

    size: int
    available: int
    busy: int
    alive: int
    isolation: IsolationReport


class ExecutorPool:
    """``size`` executors (default: CPU cores), at most ``per_user`` concurrent runs each.

    A request waits up to ``queue_timeout`` seconds for a free executor, then PoolBusy.
    An executor that dies or misbehaves is discarded and replaced in the background.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        size: int | None = None,
        per_user: int = 1,
        queue_timeout: float = 2.0,
        allow_degraded: bool = True,
    ) -> None:
        self.config = config or SandboxConfig()
        self.size = size or os.cpu_count() or 1
        self.per_user = per_user
        self.queue_timeout = queue_timeout
        self.allow_degraded = allow_degraded
        self._idle: asyncio.Queue[Executor] = asyncio.Queue()
        self._all: set[Executor] = set()
        self._busy = 0
        self._per_user: Counter[str] = Counter()
        self._replacing: set[asyncio.Task[None]] = set()
        self._report: IsolationReport | None = None
        self._closed = False

    @property
    def isolation(self) -> IsolationReport:
        """Isolation actually in force (seccomp as observed by a running executor)."""
        if self._report is None:
            return isolation_report(self.config)
        return self._report

    async def start(self) -> None:
        """Start every executor; refuse degraded isolation unless allowed."""
        report = await asyncio.to_thread(isolation_report, self.config)
        if report.level != "full":
            log.warning("sandbox isolation degraded: missing %s", ", ".join(report.missing))
            if not self.allow_degraded:
                raise SandboxUnavailable(f"isolation degraded: missing {', '.join(report.missing)}")
        executors = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        seccomp = all(bool(e.hello.get("seccomp")) for e in executors)
        self._report = isolation_report(self.config, seccomp_in_force=seccomp)
        if self._report.level != "full" and not self.allow_degraded:
            await self.close()
            raise SandboxUnavailable(f"isolation degraded: missing {self._report.missing}")
        for executor in executors:
            self._idle.put_nowait(executor)

    async def _spawn(self) -> Executor:
        executor = Executor(self.config)
        await asyncio.to_thread(executor.start)
        self._all.add(executor)
        return executor

    def status(self) -> PoolStatus:
        """Pool size, free and busy executors and the isolation in force."""
        alive = sum(1 for e in self._all if e.alive)
        return PoolStatus(self.size, self._idle.qsize(), self._busy, alive, self.isolation)

    @contextlib.asynccontextmanager
    async def _lease(self, user: str) -> AsyncIterator[Executor]:
        if self._closed:
            raise SandboxUnavailable("sandbox pool is closed")
        if self._per_user[user] >= self.per_user:
            raise PoolBusy(retry_after=1, per_user=True)
        self._per_user[user] += 1
        try:
            try:
                executor = await asyncio.wait_for(self._idle.get(), self.queue_timeout)
            except TimeoutError:
                raise PoolBusy(retry_after=max(1, round(self.queue_timeout))) from None
            self._busy += 1
            healthy = False
            try:
                yield executor
                healthy = executor.alive
            finally:
                self._busy -= 1
                if healthy:
                    self._idle.put_nowait(executor)
                else:
                    self._replace(executor)
        finally:
            self._per_user[user] -= 1
            if not self._per_user[user]:
                del self._per_user[user]

    def _replace(self, dead: Executor) -> None:
        self._all.discard(dead)
        if self._closed:
            dead.close()
            return

        async def replace() -> None:
            await asyncio.to_thread(dead.close)
            try:
                executor = await self._spawn()
            except (OSError, ExecutorError):
                log.exception("could not replace a sandbox executor")
                return
            if self._closed:
                await asyncio.to_thread(executor.close)
            else:
                self._idle.put_nowait(executor)

        task = asyncio.get_running_loop().create_task(replace())
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def execute(self, request: ExecutionRequest, user: str) -> ExecutionResult:
        """Run ``request`` for ``user`` on a free executor."""
        async with self._lease(user) as executor:
            try:
                return await execute_async(executor, request)
            except ExecutorError as exc:
                log.error("sandbox executor failed and is replaced: %s", exc)
                raise SandboxUnavailable("the executor failed; please retry") from exc

    async def call(self, user: str, func: Any, *args: Any) -> Any:
        """Run ``func(executor, *args)`` in a worker thread on a leased executor."""
        async with self._lease(user) as executor:
            return await asyncio.to_thread(func, executor, *args)

    async def close(self) -> None:
        """Stop every executor, including ones being replaced."""
        self._closed = True
        for task in list(self._replacing):
            with contextlib.suppress(Exception):
                await task
        await asyncio.gather(*(asyncio.to_thread(e.close) for e in list(self._all)))
        self._all.clear()
