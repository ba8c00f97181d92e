"""``/api/security``: run user code in the sandbox, its health, limits and history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Envelope,
    ErrorEnvelope,
    IsoDateTime,
    Page,
    Pagination,
    ok,
    page,
)
from quantlab.platform.ratelimit import RateLimit
from quantlab.sandbox import service
from quantlab.sandbox.executor import Outcome
from quantlab.sandbox.runtime import SandboxRuntime
from quantlab.sandbox.schemas import (
    ExecuteRequest,
    ExecuteResult,
    ExecutionDetail,
    ExecutionOut,
    SandboxHealth,
    SandboxLimits,
)

RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ErrorEnvelope, "description": "CODE_SYNTAX_ERROR: the code does not compile"},
    408: {"model": ErrorEnvelope, "description": "EXECUTION_TIMEOUT: killed at its time limit"},
    429: {"model": ErrorEnvelope, "description": "Rate limit or per-user concurrency reached"},
    500: {"model": ErrorEnvelope, "description": "EXECUTION_ERROR: the code raised (details)"},
    503: {"model": ErrorEnvelope, "description": "Every executor busy, or sandbox unavailable"},
    507: {"model": ErrorEnvelope, "description": "EXECUTION_MEMORY_LIMIT: memory limit hit"},
}

router = APIRouter(prefix="/api/security", tags=["sandbox"], responses=ERROR_RESPONSES)
public_router = APIRouter(prefix="/api/security", tags=["sandbox"])


def _runtime(request: Request) -> SandboxRuntime:
    runtime: SandboxRuntime = request.app.state.sandbox
    return runtime


@router.post(
    "/execute",
    summary="Run Python (numpy, pandas) in the isolated sandbox",
    response_model=Envelope[ExecuteResult],
    responses=RUN_RESPONSES,
    dependencies=[Depends(RateLimit("execute"))],
)
async def execute(
    body: ExecuteRequest, user: WriteUser, request: Request, response: Response
) -> Any:
    """200 with the result; a failed run is its catalogued error with the result in details.

    ``X-Execution-ID`` names the history entry of every run.
    """
    settings = request.app.state.settings
    run = await service.execute(
        request.app.state.sandbox_recorder,
        _runtime(request),
        user,
        body,
        retention_days=settings.sandbox_code_retention_days,
        client=request.client.host if request.client else None,
    )
    response.headers["X-Execution-ID"] = run.execution_id
    return ok(run.result.as_dict())


@public_router.get(
    "/health", summary="Sandbox availability and isolation", response_model=Envelope[SandboxHealth]
)
async def health(request: Request) -> Any:
    """Public: executors available, pool size, busy count, isolation level and missing layers."""
    return ok(_runtime(request).health())


@router.get("/limits", summary="Sandbox limits", response_model=Envelope[SandboxLimits])
async def limits(user: CurrentUser, request: Request) -> Any:
    """Min/max/default timeout and memory, output caps, concurrency and rate limits."""
    return ok(service.limits(request.app.state.settings, _runtime(request)))


@router.get("/executions", summary="Execution history", response_model=Page[ExecutionOut])
async def list_executions(
    user: CurrentUser,
    session: DbSession,
    request: Request,
    pagination: Pagination,
    outcome: Outcome | None = None,
    created_from: IsoDateTime | None = None,
    created_to: IsoDateTime | None = None,
) -> Any:
    """Own runs (admins: everyone's), newest first; filter by outcome and time range."""
    await request.app.state.sandbox_recorder.flush()
    rows, total = await service.list_executions(
        session, user, pagination, outcome=outcome, created_from=created_from, created_to=created_to
    )
    return page([service.execution_view(r) for r in rows], total, pagination)


@router.get(
    "/executions/{execution_id}",
    summary="One execution with its code",
    response_model=Envelope[ExecutionDetail],
)
async def get_execution(
    execution_id: str, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    """The run and its code while retained; 404 unless it is yours (or you are an admin)."""
    await request.app.state.sandbox_recorder.flush()
    row = await service.get_execution(session, user, execution_id)
    return ok(service.execution_view(row, with_code=True))
