"""HTTP routes of backtests (thin: parse, call one service function, wrap) and the
``/ws/backtests/{id}`` alias of the job WebSocket."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, WebSocket, status
from fastapi.responses import PlainTextResponse

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.backtests import service, views
from quantlab.backtests.schemas import (
    BacktestDetail,
    BacktestOut,
    BacktestRequest,
    BacktestStarted,
    CatalogItem,
    CompareRequest,
    CompareView,
    DrawdownView,
    EquityView,
    FindingOut,
    LogLine,
    MonthlyView,
    PositionsView,
    RejectedPage,
    TradeOut,
    request_schema,
)
from quantlab.engine.backtest.diagnostics import list_diagnostics
from quantlab.engine.backtest.metrics import list_metrics
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Envelope,
    Page,
    Pagination,
    file_responses,
    ok,
    page,
)
from quantlab.platform.ratelimit import client_address
from quantlab.tasks import ws as tasks_ws

router = APIRouter(prefix="/api/backtests", tags=["backtests"], responses=ERROR_RESPONSES)
ws_router = APIRouter(tags=["backtests"])

Id = Annotated[str, "backtest id"]
Status = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
Kind = Literal["signals", "scores", "weights", "code"]
ExportFormat = Literal["csv", "json", "xlsx", "html", "pdf"]


def _data_dir(request: Request) -> Any:
    return request.app.state.settings.data_dir


def _started(row: Any, job: Any) -> dict[str, Any]:
    return {"id": row.id, "job_id": job.id, "status": job.status, "name": row.name,
            "ws": f"/ws/backtests/{row.id}"}  # fmt: skip


# --- catalogs -----------------------------------------------------------------------------


@router.get(
    "/schema",
    summary="JSON Schema of a backtest request (the run spec, versioned)",
    response_model=Envelope[dict[str, Any]],
)
async def schema() -> dict[str, Any]:
    return ok(request_schema())


@router.get("/metrics", summary="The metric registry", response_model=Envelope[list[CatalogItem]])
async def metrics_catalog() -> dict[str, Any]:
    return ok(list_metrics())


@router.get(
    "/diagnostics/catalog",
    summary="The diagnostic registry",
    response_model=Envelope[list[CatalogItem]],
)
async def diagnostics_catalog() -> dict[str, Any]:
    return ok(list_diagnostics())


# --- runs ---------------------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a backtest",
    response_model=Envelope[BacktestStarted],
)
async def create(
    body: BacktestRequest, user: WriteUser, session: DbSession, request: Request
) -> dict[str, Any]:
    """Validated now (dates, symbols, expressions with positions); runs as ``backtests.run``."""
    row, job = await service.create_backtest(
        session, user, body, _data_dir(request), client_address(request)
    )
    request.app.state.jobs.wake()
    return ok(_started(row, job))


@router.get("", summary="Your backtests", response_model=Page[BacktestOut])
async def list_backtests(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    dataset_id: Annotated[str | None, Query(max_length=32)] = None,
    strategy_kind: Kind | None = None,
    q: Annotated[str | None, Query(max_length=120, description="text in the name")] = None,
) -> dict[str, Any]:
    items, total = await service.list_backtests(
        session, user, params, status=status_, dataset_id=dataset_id,
        strategy_kind=strategy_kind, q=q,
    )  # fmt: skip
    return page(items, total, params)


@router.post(
    "/compare",
    summary="Compare runs: NAV overlay and metrics side by side",
    response_model=Envelope[CompareView],
)
async def compare(
    body: CompareRequest, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await views.compare(session, user, body.ids, _data_dir(request)))


@router.get(
    "/{backtest_id}",
    summary="A backtest: config, status, progress and metrics",
    response_model=Envelope[BacktestDetail],
)
async def get_backtest(
    backtest_id: Id, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await service.describe(session, user, backtest_id, _data_dir(request)))


@router.delete("/{backtest_id}", status_code=204, summary="Delete a finished backtest")
async def delete(
    backtest_id: Id, user: WriteUser, session: DbSession, request: Request
) -> Response:
    await service.delete_backtest(
        session, user, backtest_id, _data_dir(request), client_address(request)
    )
    return Response(status_code=204)


@router.post(
    "/{backtest_id}/rerun",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run again with the stored dataset version, spec, config and seed",
    response_model=Envelope[BacktestStarted],
)
async def rerun(
    backtest_id: Id, user: WriteUser, session: DbSession, request: Request
) -> dict[str, Any]:
    row, job = await service.rerun(
        session, user, backtest_id, _data_dir(request), client_address(request)
    )
    request.app.state.jobs.wake()
    return ok(_started(row, job))


# --- results ------------------------------------------------------------------------------


@router.get(
    "/{backtest_id}/equity",
    summary="Daily equity and NAV with the benchmark",
    response_model=Envelope[EquityView],
)
async def equity(
    backtest_id: Id, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await views.equity(session, user, backtest_id, _data_dir(request)))


@router.get(
    "/{backtest_id}/drawdown",
    summary="Daily drawdown and the maximum's dates",
    response_model=Envelope[DrawdownView],
)
async def drawdown(
    backtest_id: Id, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await views.drawdown(session, user, backtest_id, _data_dir(request)))


@router.get(
    "/{backtest_id}/monthly-returns",
    summary="Year × month return table",
    response_model=Envelope[MonthlyView],
)
async def monthly_returns(
    backtest_id: Id, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await views.monthly_returns(session, user, backtest_id, _data_dir(request)))


@router.get(
    "/{backtest_id}/trades",
    summary="Fills: filter by symbol/side, sort by P&L or date",
    response_model=Page[TradeOut],
)
async def trades(
    backtest_id: Id,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    params: Pagination,
    symbol: Annotated[str | None, Query(max_length=40)] = None,
    side: Literal["buy", "sell", "BUY", "SELL"] | None = None,
    sort: Literal["date", "-date", "pnl", "-pnl"] = "date",
) -> dict[str, Any]:
    items, total = await views.trades(
        session, user, backtest_id, _data_dir(request), params, symbol=symbol, side=side,
        sort=sort,
    )  # fmt: skip
    return page(items, total, params)


@router.get(
    "/{backtest_id}/positions",
    summary="Holdings on a day, by symbol or industry",
    response_model=Envelope[PositionsView],
)
async def positions(
    backtest_id: Id,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    day: Annotated[date | None, Query(alias="date")] = None,
    group_by: Literal["symbol", "industry"] = "symbol",
) -> dict[str, Any]:
    return ok(
        await views.positions(
            session, user, backtest_id, _data_dir(request), day=day, group_by=group_by
        )
    )


@router.get(
    "/{backtest_id}/orders/rejected",
    summary="Refused orders with their reasons",
    response_model=RejectedPage,
)
async def rejected(
    backtest_id: Id,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    params: Pagination,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    symbol: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    items, total, counts = await views.rejected_orders(
        session, user, backtest_id, _data_dir(request), params, reason=reason, symbol=symbol
    )
    body = page(items, total, params)
    body["meta"]["by_reason"] = counts
    return body


@router.get(
    "/{backtest_id}/logs",
    summary="The run's log: filter, search, or TXT export (format=txt: text/plain)",
    response_model=Page[LogLine],
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def logs(
    backtest_id: Id,
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    level: Annotated[str | None, Query(pattern="^(?i)(debug|info|warning|error)$")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text contained")] = None,
    format: Literal["json", "txt"] = "json",
) -> Any:
    if format == "txt":
        rows, _ = await views.logs(session, user, backtest_id, None, level, q)
        text = "".join(f"{r.ts.isoformat()} {r.level} {r.message}\n" for r in rows)
        headers = {"Content-Disposition": f'attachment; filename="backtest-{backtest_id}.log"'}
        return PlainTextResponse(text, headers=headers)
    rows, total = await views.logs(session, user, backtest_id, params, level, q)
    items = [{"ts": r.ts, "level": r.level, "message": r.message} for r in rows]
    return page(items, total, params)


@router.get(
    "/{backtest_id}/diagnostics",
    summary="Diagnostic findings with suggestions",
    response_model=Envelope[list[FindingOut]],
)
async def diagnostics(
    backtest_id: Id, user: CurrentUser, session: DbSession, request: Request
) -> dict[str, Any]:
    return ok(await views.diagnostics(session, user, backtest_id, _data_dir(request)))


@router.get(
    "/{backtest_id}/export/{fmt}",
    summary="Download a report: csv (zip), json, xlsx, html or pdf",
    response_class=Response,
    responses=file_responses(
        "the report file",
        "application/zip",
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/html",
        "application/pdf",
    ),
)
async def export(
    backtest_id: Id, fmt: ExportFormat, user: CurrentUser, session: DbSession, request: Request
) -> Response:
    data, media, filename = await views.export(session, user, backtest_id, _data_dir(request), fmt)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(data, media_type=media, headers=headers)


# --- live progress ------------------------------------------------------------------------


@ws_router.websocket("/ws/backtests/{backtest_id}")
async def backtest_events(ws: WebSocket, backtest_id: str) -> None:
    """``/ws/tasks/{job_id}`` for the backtest's job (same authentication and messages);
    an unknown backtest closes with 4404 like an unknown job."""
    async with ws.app.state.db.sessionmaker() as session:
        job_id = await views.job_id_of(session, backtest_id)
    await tasks_ws.job_events(ws, job_id or backtest_id)
