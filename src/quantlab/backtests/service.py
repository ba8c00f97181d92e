"""Backtest rules and transactions: validate and enqueue runs, reproduce them, read and
compare stored results. Every read and write is owner-scoped (admins see all)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab import __version__
from quantlab.backtests import compile as spec_compile
from quantlab.backtests import results, robustness
from quantlab.backtests.exceptions import (
    BacktestNotFound,
    BacktestNotReady,
    BacktestRunning,
    DatesOutsideData,
    MissingPriceFields,
    UnknownBacktestSymbols,
)
from quantlab.backtests.models import Backtest
from quantlab.backtests.schemas import BacktestOut, BacktestRequest
from quantlab.backtests.tasks import JOB_TYPE
from quantlab.datasets import service as dataset_service
from quantlab.engine.backtest.config import CONFIG_VERSION
from quantlab.engine.backtest.enums import PriceMode
from quantlab.engine.backtest.metrics import json_safe
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.ownership import Principal, get_owned
from quantlab.tasks import service as task_service

ENGINE_VERSION = f"quantlab {__version__}; config v{CONFIG_VERSION}"
TERMINAL = ("completed", "failed", "cancelled")


def _parse_day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


async def _check_request(
    session: AsyncSession, user: Principal, req: BacktestRequest, data_dir: Path
) -> BacktestRequest:
    """Every check that needs no simulation; returns the request with the version pinned."""
    dataset = await dataset_service.get_dataset(session, user, req.dataset_id)
    version = await dataset_service.get_version(session, dataset, req.dataset_version)
    fields = list(version.fields)
    needed = ["close"] + (["open"] if req.execution.price == PriceMode.NEXT_OPEN else [])
    if req.execution.price is None and req.preset != "rules_off":
        needed.append("open")  # the presets fill at the next open
    missing = [f for f in dict.fromkeys(needed) if f not in fields]
    if missing:
        raise MissingPriceFields(
            f"the dataset version has no {', '.join(missing)} field", details={"missing": missing}
        )
    first, last = _parse_day(version.start), _parse_day(version.end)
    problems = []
    if req.start and req.end and req.start > req.end:
        problems.append("start is after end")
    for name, value in (("start", req.start), ("end", req.end)):
        if value is not None and first and last and not first <= value <= last:
            problems.append(f"{name} {value} is outside the data ({first} to {last})")
    if problems:
        raise DatesOutsideData(
            "; ".join(problems),
            details={"data_start": str(first), "data_end": str(last), "problems": problems},
        )
    known = set(dataset_service.load_panel_symbols(data_dir / version.path))
    wanted = [] if req.universe == "all" else list(req.universe)
    wanted += [req.benchmark] if req.benchmark else []
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise UnknownBacktestSymbols(
            f"{len(unknown)} symbol(s) not in the dataset version: {', '.join(unknown[:10])}",
            details={"unknown": unknown[:100]},
        )
    spec_compile.validate_spec(req, fields)
    return req.model_copy(update={"dataset_version": version.version})


async def create_backtest(
    session: AsyncSession,
    user: Principal,
    req: BacktestRequest,
    data_dir: Path,
    client: str | None = None,
    *,
    rerun_of: str | None = None,
) -> tuple[Backtest, Job]:
    """Validate (404/422 now rather than in the job), record the run and enqueue
    ``backtests.run``. The caller wakes the job runner."""
    pinned = await _check_request(session, user, req, data_dir)
    assert pinned.dataset_version is not None
    row = Backtest(
        owner_id=user.id,
        name=pinned.name or f"{pinned.strategy.kind} backtest",
        status="pending",
        dataset_id=pinned.dataset_id,
        dataset_version=pinned.dataset_version,
        strategy_kind=pinned.strategy.kind,
        request=pinned.model_dump(mode="json"),
        engine_version=ENGINE_VERSION,
        seed=pinned.seed,
        rerun_of=rerun_of,
        incomplete=False,
    )
    session.add(row)
    await session.flush()
    job = await job_service.enqueue(
        session, job_type=JOB_TYPE, params={"backtest_id": row.id}, owner_id=user.id
    )
    row.job_id = job.id
    audit.record(
        session,
        "backtest.rerun" if rerun_of else "backtest.create",
        actor_id=user.id,
        resource_type="backtest",
        resource_id=row.id,
        details={
            "dataset_id": row.dataset_id,
            "version": row.dataset_version,
            "strategy": row.strategy_kind,
            "job_id": job.id,
            "rerun_of": rerun_of,
        },
        client_address=client,
    )
    await session.commit()
    return row, job


async def get_backtest(session: AsyncSession, user: Principal, backtest_id: str) -> Backtest:
    """One of the caller's backtests (404 ``BACKTEST_NOT_FOUND`` otherwise)."""
    return await get_owned(session, Backtest, backtest_id, user, not_found=BacktestNotFound)


def _status(row: Backtest, job: Job | None) -> str:
    """The row's status once final; before that the job's (paused, cancelled while queued)."""
    if row.status in TERMINAL or job is None:
        return row.status
    return job.status if job.status != "completed" else row.status


def backtest_view(row: Backtest, job: Job | None) -> dict[str, Any]:
    """A backtest as listed (no request, no results)."""
    out = BacktestOut.model_validate(row).model_dump(mode="json")
    out["status"] = _status(row, job)
    return out


async def _job(session: AsyncSession, row: Backtest) -> Job | None:
    return await session.get(Job, row.job_id) if row.job_id else None


async def describe(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path | None = None
) -> dict[str, Any]:
    """Config, status, progress, reproducibility facts and (with ``data_dir``, once stored)
    every metric of one backtest."""
    row = await get_backtest(session, user, backtest_id)
    job = await _job(session, row)
    out = backtest_view(row, job)
    out["request"] = row.request
    out["reproducibility"] = {
        "dataset_id": row.dataset_id,
        "dataset_version": row.dataset_version,
        "engine_version": row.engine_version,
        "seed": row.seed,
        "schema_version": row.request.get("schema_version"),
    }
    out["job"] = None
    if job is not None:
        out["job"] = {
            "id": job.id,
            "status": job.status,
            "progress": job.progress,
            "stage": job.stage,
            "current": job.current,
            "eta_seconds": job.eta_seconds,
            "running_metrics": job.metrics,
            "error": job.error_message,
        }
    out["metrics"] = None
    if data_dir is not None and row.result_dir:
        out["metrics"] = results.read_json(data_dir / row.result_dir, "metrics")
    out["parent_id"], out["variant"] = row.parent_id, row.variant
    out["robustness"] = await _robustness_view(session, row)
    return out


async def _robustness_view(session: AsyncSession, row: Backtest) -> dict[str, Any] | None:
    """The requested checks and each child's status; ``complete`` once findings are in."""
    if not row.request.get("robustness"):
        return None
    children = await robustness.children_of(session, row.id)
    return {
        "requested": row.request["robustness"],
        "complete": bool(children) and all(c.status in TERMINAL for c in children),
        "children": [
            {"id": c.id, "job_id": c.job_id, "status": c.status, "variant": c.variant}
            for c in children
        ],
    }


async def list_backtests(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    status: str | None = None,
    dataset_id: str | None = None,
    strategy_kind: str | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's own backtests, newest first (robustness children are listed
    under their parent instead)."""
    stmt = select(Backtest).where(Backtest.owner_id == user.id, Backtest.parent_id.is_(None))
    if status:
        stmt = stmt.where(Backtest.status == status)
    if dataset_id:
        stmt = stmt.where(Backtest.dataset_id == dataset_id)
    if strategy_kind:
        stmt = stmt.where(Backtest.strategy_kind == strategy_kind)
    if q:
        stmt = stmt.where(Backtest.name.contains(q, autoescape=True))
    rows, total = await paginate(session, stmt, params, Backtest.created_at.desc(), Backtest.id)
    job_ids = [r.job_id for r in rows if r.job_id]
    jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    return [backtest_view(r, jobs.get(r.job_id or "")) for r in rows], total


async def delete_backtest(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path, client: str | None
) -> None:
    """Delete a finished backtest and its files (409 while its job may still run)."""
    row = await get_backtest(session, user, backtest_id)
    if _status(row, await _job(session, row)) not in TERMINAL:
        raise BacktestRunning(f"backtest {backtest_id} is still {row.status}; cancel it first")
    children = await robustness.children_of(session, row.id)
    busy = [c.id for c in children if _status(c, await _job(session, c)) not in TERMINAL]
    if busy:
        raise BacktestRunning(
            f"{len(busy)} robustness run(s) of backtest {backtest_id} are still going",
            details={"children": busy},
        )
    audit.record(
        session,
        "backtest.delete",
        actor_id=user.id,
        resource_type="backtest",
        resource_id=row.id,
        details={"name": row.name, "job_id": row.job_id},
        client_address=client,
    )
    for child in children:
        await session.delete(child)
    await session.delete(row)
    await session.commit()
    for gone in (*(c.id for c in children), backtest_id):
        results.remove(data_dir, gone)


async def rerun(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path, client: str | None
) -> tuple[Backtest, Job]:
    """A new run of the stored request (same dataset version, spec, config and seed)."""
    row = await get_backtest(session, user, backtest_id)
    req = BacktestRequest.model_validate(row.request)
    return await create_backtest(session, user, req, data_dir, client, rerun_of=row.id)


# --- results ------------------------------------------------------------------------------


async def result_path(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> tuple[Backtest, Path]:
    """The row and its results directory (409 ``BACKTEST_NOT_READY`` before results exist)."""
    row = await get_backtest(session, user, backtest_id)
    if not row.result_dir:
        raise BacktestNotReady(f"backtest {backtest_id} has no results (status {row.status})")
    return row, data_dir / row.result_dir


async def metrics(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """Every registered metric of a run."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    out: dict[str, Any] = results.read_json(path, "metrics")
    return out


async def equity(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """Daily equity, cash and benchmark, also as NAV (1.0 = the initial capital)."""
    row, path = await result_path(session, user, backtest_id, data_dir)
    frame = results.read_frame(path, "series")
    capital = float(row.request["initial_capital"])
    frame["nav"] = frame["equity"] / capital
    frame["benchmark_nav"] = frame["benchmark"] / capital
    cols = ["date", "equity", "cash", "benchmark", "nav", "benchmark_nav"]
    return {
        "initial_capital": capital,
        "benchmark_symbol": row.request.get("benchmark"),
        "incomplete": row.incomplete,
        "points": results.json_records(frame, cols),
    }


async def drawdown(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """The daily drawdown series and the maximum drawdown's dates."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    frame = results.read_frame(path, "series")
    stored = results.read_json(path, "metrics")
    return {
        "max_drawdown": stored.get("max_drawdown"),
        "details": stored.get("max_drawdown_details"),
        "points": results.json_records(frame, ["date", "drawdown"]),
    }


async def monthly_returns(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """Monthly returns as a year × month table, plus each year's compounded return."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    table: dict[str, list[float | None]] = results.read_json(path, "metrics")["monthly_returns"]
    years = {}
    for year, months in table.items():
        vals = [v for v in months if v is not None]
        years[year] = float(np.prod([1.0 + v for v in vals]) - 1.0) if vals else None
    return {"table": table, "yearly": years}


TRADE_SORTS = {"date": ("date", True), "-date": ("date", False), "pnl": ("pnl", True),
               "-pnl": ("pnl", False)}  # fmt: skip


async def trades(
    session: AsyncSession,
    user: Principal,
    backtest_id: str,
    data_dir: Path,
    params: PageParams,
    *,
    symbol: str | None = None,
    side: str | None = None,
    sort: str = "date",
) -> tuple[list[dict[str, Any]], int]:
    """A page of fills, filtered by symbol/side, sorted by date or realised P&L."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    frame = results.read_frame(path, "trades").reset_index(names="seq")
    if symbol:
        frame = frame[frame["symbol"] == symbol]
    if side:
        frame = frame[frame["side"] == side.upper()]
    column, ascending = TRADE_SORTS[sort]
    frame = frame.sort_values([column, "seq"], ascending=[ascending, True], kind="stable")
    chunk = frame.iloc[params.offset : params.offset + params.size]
    return results.json_records(chunk), len(frame)


async def rejected_orders(
    session: AsyncSession,
    user: Principal,
    backtest_id: str,
    data_dir: Path,
    params: PageParams,
    *,
    reason: str | None = None,
    symbol: str | None = None,
) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    """A page of refused orders with each reason's count over the whole run."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    frame = results.read_frame(path, "rejected")
    counts = {str(k): int(v) for k, v in frame["reason"].value_counts().items()}
    if reason:
        frame = frame[frame["reason"] == reason]
    if symbol:
        frame = frame[frame["symbol"] == symbol]
    chunk = frame.iloc[params.offset : params.offset + params.size]
    return results.json_records(chunk), len(frame), counts


async def positions(
    session: AsyncSession,
    user: Principal,
    backtest_id: str,
    data_dir: Path,
    *,
    day: date | None = None,
    group_by: str = "symbol",
) -> dict[str, Any]:
    """Holdings at the close of ``day`` (default: the last day run), by symbol or industry."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    pos = results.read_positions(path)
    series = results.read_frame(path, "series")
    if len(pos.calendar) == 0:
        return {"date": None, "group_by": group_by, "items": []}
    t = len(pos.calendar) - 1
    if day is not None:
        t = int(np.searchsorted(pos.calendar, np.datetime64(day, "D"), side="right")) - 1
        if t < 0:
            raise DatesOutsideData(f"{day} is before the first simulated day {pos.calendar[0]}")
    equity_today = float(series["equity"].iloc[t])
    held = np.flatnonzero(pos.quantity[t] != 0)
    items: list[dict[str, Any]] = [
        {
            "symbol": pos.instruments[j],
            "industry": pos.industries[j] or None,
            "quantity": float(pos.quantity[t, j]),
            "value": float(pos.value[t, j]),
            "weight": float(pos.value[t, j] / equity_today) if equity_today else None,
        }
        for j in held
    ]
    if group_by == "industry":
        groups: dict[str, dict[str, Any]] = {}
        for item in items:
            key = str(item["industry"] or "unknown")
            g = groups.setdefault(key, {"industry": key, "value": 0.0, "weight": 0.0, "count": 0})
            g["value"] += item["value"]
            g["weight"] += item["weight"] or 0.0
            g["count"] += 1
        items = sorted(groups.values(), key=lambda g: -g["value"])
    else:
        items.sort(key=lambda i: -i["value"])
    cash = float(series["cash"].iloc[t])
    return {
        "date": str(pos.calendar[t]),
        "group_by": group_by,
        "equity": equity_today,
        "cash": cash,
        "industry_known": any(pos.industries),
        "items": items,
    }


async def diagnostics(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> list[dict[str, Any]]:
    """The stored diagnostic findings (severity, evidence, suggestion)."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    findings: list[dict[str, Any]] = results.read_json(path, "diagnostics")
    return findings


async def compare(
    session: AsyncSession, user: Principal, ids: list[str], data_dir: Path
) -> dict[str, Any]:
    """NAV overlays and scalar metrics side by side for several of the caller's runs."""
    runs = []
    table: dict[str, dict[str, Any]] = {}
    for backtest_id in dict.fromkeys(ids):
        row, path = await result_path(session, user, backtest_id, data_dir)
        frame = results.read_frame(path, "series")
        capital = float(row.request["initial_capital"])
        runs.append(
            {
                "id": row.id,
                "name": row.name,
                "incomplete": row.incomplete,
                "dates": frame["date"].tolist(),
                "nav": json_safe((frame["equity"] / capital).to_numpy()),
            }
        )
        for name, value in results.read_json(path, "metrics").items():
            if isinstance(value, int | float) or value is None:
                table.setdefault(name, {})[row.id] = value
    metrics_rows = [{"metric": name, "values": values} for name, values in table.items()]
    return {"runs": runs, "metrics": metrics_rows}


async def export(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path, fmt: str
) -> tuple[bytes, str, str]:
    """A report file of a run: its bytes, media type and file name."""
    from quantlab.backtests import exports

    _, path = await result_path(session, user, backtest_id, data_dir)
    view = await describe(session, user, backtest_id)
    render, media, ext = exports.FORMATS[fmt]
    # matplotlib and the writers are CPU-bound: keep the event loop free.
    data = await asyncio.to_thread(lambda: render(exports.Report(view, path)))
    return data, media, f"backtest-{backtest_id}.{ext}"


async def logs(
    session: AsyncSession,
    user: Principal,
    backtest_id: str,
    params: PageParams | None,
    level: str | None = None,
    text: str | None = None,
) -> tuple[list[Any], int]:
    """The run's job log (trade lines, resume and cancel notes), filtered like job logs."""
    row = await get_backtest(session, user, backtest_id)
    if row.job_id is None:
        return [], 0
    return await task_service.logs(session, user, row.job_id, params, level, text)


async def job_id_of(session: AsyncSession, backtest_id: str) -> str | None:
    """The job of a backtest (for the WebSocket alias; access is checked on the job)."""
    row = await session.get(Backtest, backtest_id)
    return row.job_id if row is not None else None
