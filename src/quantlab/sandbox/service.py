"""Sandbox rules: run code on the pool, record every run, list the history, purge old code.

Outcomes the user's code causes (syntax error, timeout, memory limit, an exception) are
recorded and audited like successes, then raised as their catalogued errors; they are
logged as ``sandbox_outcome`` (INFO on success, WARNING otherwise), never as server faults.
Requests refused before a run (busy pool, per-user limit) write nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.db import new_id, paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.logging import correlation_id_var, get_logger, mask_sensitive
from quantlab.platform.ownership import Principal, get_owned, visible
from quantlab.platform.settings import Settings
from quantlab.sandbox.exceptions import (
    ExecutionNotFound,
    SandboxBusy,
    SandboxConcurrencyLimit,
    SandboxUnavailableError,
    error_for,
)
from quantlab.sandbox.executor import (
    ExecutionRequest,
    ExecutionResult,
    Limits,
    Outcome,
    PoolBusy,
    SandboxUnavailable,
)
from quantlab.sandbox.executor.config import (
    CODE_MAX_CHARS,
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)
from quantlab.sandbox.models import SandboxExecution
from quantlab.sandbox.recorder import ExecutionRecorder
from quantlab.sandbox.runtime import SandboxRuntime
from quantlab.sandbox.schemas import ExecuteRequest

log = get_logger("quantlab.sandbox")


@dataclass(frozen=True)
class Run:
    """A successful run: its history row id and the result for the client."""

    execution_id: str
    result: ExecutionResult


def code_hash(code: str) -> str:
    """Hex SHA-256 of the code as UTF-8."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


async def _run_on_pool(
    runtime: SandboxRuntime, user: Principal, body: ExecuteRequest
) -> ExecutionResult:
    pool = await runtime.ready_pool()
    request = ExecutionRequest(
        body.code,
        Limits(body.timeout, body.max_memory_mb),
        globals=body.globals,
        locals=body.locals,
        capture_locals=body.capture_locals,
    )
    try:
        return await pool.execute(request, user.id)
    except PoolBusy as exc:
        retry = {"Retry-After": str(exc.retry_after)}
        log.warning(
            "sandbox_outcome",
            outcome="rejected",
            reason="user_concurrency" if exc.per_user else "pool_busy",
            user_id=user.id,
        )
        if exc.per_user:
            raise SandboxConcurrencyLimit(
                f"at most {pool.per_user} concurrent run(s) per user; retry shortly",
                details={"retry_after": exc.retry_after, "limit": pool.per_user},
                headers=retry,
            ) from None
        raise SandboxBusy(details={"retry_after": exc.retry_after}, headers=retry) from None
    except SandboxUnavailable as exc:
        raise SandboxUnavailableError(str(exc), headers={"Retry-After": "5"}) from None


async def execute(
    recorder: ExecutionRecorder,
    runtime: SandboxRuntime,
    user: Principal,
    body: ExecuteRequest,
    *,
    retention_days: int,
    client: str | None,
) -> Run:
    """Run ``body`` for ``user``; journal the run and its audit event (written to the
    database after the answer, in order, never lost on a crash: see ``recorder``).

    Returns the run on success; raises the outcome's error (400/408/507/500, full result
    in ``details``) after recording a failed one.
    """
    result = await _run_on_pool(runtime, user, body)
    digest = code_hash(body.code)
    now = utcnow()
    execution_id = new_id()
    correlation_id = correlation_id_var.get()
    outcome = str(result.outcome)
    error_type = (result.error_type or None) and result.error_type[:100]
    facts = {
        "code_sha256": digest,
        "code_size": len(body.code),
        "outcome": outcome,
        "error_type": error_type,
        "duration_seconds": result.execution_time,
        "memory_used_mb": result.memory_used_mb,
    }
    recorder.record(
        {
            "id": execution_id,
            "owner_id": user.id,
            "code_sha256": digest,
            "code_size": len(body.code),
            "code": body.code if retention_days > 0 else None,
            "timeout_seconds": body.timeout,
            "max_memory_mb": body.max_memory_mb,
            "outcome": outcome,
            "error_type": error_type,
            "duration_seconds": result.execution_time,
            "memory_used_mb": result.memory_used_mb,
            "correlation_id": correlation_id,
            "created_at": now.isoformat(),
        },
        {
            "occurred_at": now.isoformat(),
            "actor_id": user.id,
            "action": "sandbox.execute",
            "resource_type": "sandbox_execution",
            "resource_id": execution_id,
            "details": mask_sensitive(facts),
            "correlation_id": correlation_id,
            "client_address": client,
        },
    )
    level = log.info if result.outcome is Outcome.SUCCESS else log.warning
    level("sandbox_outcome", execution_id=execution_id, user_id=user.id, **facts)
    error = error_for(result)
    if error is not None:
        error.headers = {"X-Execution-ID": execution_id, "X-Sandbox-Outcome": outcome}
        raise error
    return Run(execution_id, result)


async def list_executions(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    outcome: Outcome | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[list[SandboxExecution], int]:
    """The caller's runs (an admin's: everyone's), newest first, filtered."""
    query = visible(select(SandboxExecution), SandboxExecution, user)
    if outcome is not None:
        query = query.where(SandboxExecution.outcome == outcome.value)
    if created_from is not None:
        query = query.where(SandboxExecution.created_at >= created_from)
    if created_to is not None:
        query = query.where(SandboxExecution.created_at < created_to)
    return await paginate(
        session, query, params, SandboxExecution.created_at.desc(), SandboxExecution.id
    )


async def get_execution(
    session: AsyncSession, user: Principal, execution_id: str
) -> SandboxExecution:
    """One run of the caller (any run for an admin); 404 otherwise."""
    return await get_owned(
        session, SandboxExecution, execution_id, user, not_found=ExecutionNotFound
    )


def execution_view(row: SandboxExecution, *, with_code: bool = False) -> dict[str, Any]:
    """The JSON form of a history row (the code only on request and while retained)."""
    view: dict[str, Any] = {
        "id": row.id,
        "owner_id": row.owner_id,
        "code_sha256": row.code_sha256,
        "code_size": row.code_size,
        "code_retained": row.code is not None,
        "code_purged_at": row.code_purged_at,
        "outcome": row.outcome,
        "error_type": row.error_type,
        "execution_time": row.duration_seconds,
        "memory_used_mb": row.memory_used_mb,
        "timeout": row.timeout_seconds,
        "max_memory_mb": row.max_memory_mb,
        "correlation_id": row.correlation_id,
        "created_at": row.created_at,
    }
    if with_code:
        view["code"] = row.code
    return view


async def purge_expired_code(
    session: AsyncSession, retention_days: int, now: datetime | None = None
) -> int:
    """Clear the code of runs older than the retention; hash, size and audit rows stay."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    result = await session.execute(
        update(SandboxExecution)
        .where(SandboxExecution.code.is_not(None), SandboxExecution.created_at < cutoff)
        .values(code=None, code_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def limits(settings: Settings, runtime: SandboxRuntime) -> dict[str, Any]:
    """What a run may ask for (min/max/default) and the caps, concurrency and rate limits."""
    config = runtime.config
    return {
        "timeout_seconds": {
            "min": TIMEOUT_MIN_S,
            "max": TIMEOUT_MAX_S,
            "default": TIMEOUT_DEFAULT_S,
        },
        "max_memory_mb": {"min": MEMORY_MIN_MB, "max": MEMORY_MAX_MB, "default": MEMORY_DEFAULT_MB},
        "code_max_chars": CODE_MAX_CHARS,
        "stdout_cap_bytes": config.output_cap,
        "stderr_cap_bytes": config.output_cap,
        "locals_cap_bytes": config.locals_cap,
        "per_user_concurrency": runtime.pool.per_user,
        "pool_size": runtime.pool.size,
        "queue_seconds": runtime.pool.queue_timeout,
        "rate_limit": settings.rate_limits.get("execute", settings.rate_limits["default"]),
        "code_retention_days": settings.sandbox_code_retention_days,
    }
