"""The executor pool: concurrency per user, a full pool, replacement of a dead executor."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from quantlab.sandbox.executor import (
    ExecutionRequest,
    ExecutorPool,
    Limits,
    PoolBusy,
    SandboxConfig,
    SandboxUnavailable,
)

SLOW = ExecutionRequest("import time\ntime.sleep(1.5)\nprint('done')", Limits(timeout=5))


async def test_pool_fairness_busy_and_replacement(sandbox_config: SandboxConfig) -> None:
    pool = ExecutorPool(sandbox_config, size=1, per_user=1, queue_timeout=0.3)
    await pool.start()
    try:
        status = pool.status()
        assert (status.size, status.available, status.busy, status.alive) == (1, 1, 0, 1)
        assert status.isolation.level == "full"

        slow = asyncio.create_task(pool.execute(SLOW, user="alice"))
        await asyncio.sleep(0.2)
        assert pool.status().busy == 1
        with pytest.raises(PoolBusy) as same_user:
            await pool.execute(ExecutionRequest("print(1)"), user="alice")
        assert same_user.value.per_user
        with pytest.raises(PoolBusy) as full:
            await pool.execute(ExecutionRequest("print(1)"), user="bob")
        assert not full.value.per_user and full.value.retry_after >= 1
        assert (await slow).stdout == "done\n"

        # The executor process dies under a request: the caller gets SandboxUnavailable,
        # the pool replaces the executor and answers again.
        (victim,) = pool._all
        task = asyncio.create_task(pool.execute(SLOW, user="carol"))
        await asyncio.sleep(0.3)
        victim.kill()
        with pytest.raises(SandboxUnavailable):
            await task
        for _ in range(200):
            if pool.status().available:
                break
            await asyncio.sleep(0.05)
        result = await pool.execute(ExecutionRequest("print(2)"), user="carol")
        assert result.stdout == "2\n"
        assert victim not in pool._all
    finally:
        await pool.close()


async def test_degraded_isolation_is_reported_and_can_be_refused() -> None:
    config = dataclasses.replace(SandboxConfig(), use_bwrap=False)
    with pytest.raises(SandboxUnavailable):
        await ExecutorPool(config, size=1, allow_degraded=False).start()

    pool = ExecutorPool(config, size=1, allow_degraded=True)
    await pool.start()
    try:
        report = pool.status().isolation
        assert report.level == "degraded"
        assert {"namespaces", "read_only_filesystem", "no_network"} <= set(report.missing)
        assert report.layers["seccomp"] and report.layers["fork_per_request"]
        # The remaining layers still apply: no sockets, no new processes.
        result = await pool.execute(ExecutionRequest("import socket\nsocket.socket()"), user="dave")
        assert result.error_type == "PermissionError"
    finally:
        await pool.close()
