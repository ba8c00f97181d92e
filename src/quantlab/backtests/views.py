"""Stored results of a run, read for the API: equity, drawdown, monthly table, trades,
refused orders, positions, diagnostics, comparisons, report files and the log. Every
read is owner-scoped; file reads run off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.backtests import results
from quantlab.backtests.exceptions import BacktestNotReady, DatesOutsideData
from quantlab.backtests.models import Backtest
from quantlab.backtests.service import describe, get_backtest
from quantlab.platform.envelope import PageParams
from quantlab.platform.jsonsafe import json_safe
from quantlab.platform.ownership import Principal
from quantlab.tasks import service as task_service

T = TypeVar("T")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


async def result_path(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> tuple[Backtest, Path]:
    """The row and its results directory (409 ``BACKTEST_NOT_READY`` before results exist)."""
    row = await get_backtest(session, user, backtest_id)
    if not row.result_dir:
        error = f": {row.error}" if row.error else ""
        raise BacktestNotReady(f"backtest {backtest_id} has no results yet{error}")
    return row, data_dir / row.result_dir


async def metrics(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """Every registered metric of a run."""
    _, path = await result_path(session, user, backtest_id, data_dir)
    out: dict[str, Any] = await _off_loop(results.read_json, path, "metrics")
    return out


async def equity(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path
) -> dict[str, Any]:
    """Daily equity, cash and benchmark, also as NAV (1.0 = the initial capital)."""
    row, path = await result_path(session, user, backtest_id, data_dir)
    frame = await _off_loop(results.read_frame, path, "series")
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
    frame = await _off_loop(results.read_frame, path, "series")
    stored = await _off_loop(results.read_json, path, "metrics")
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
    stored = await _off_loop(results.read_json, path, "metrics")
    table: dict[str, list[float | None]] = stored["monthly_returns"]
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
    frame = (await _off_loop(results.read_frame, path, "trades")).reset_index(names="seq")
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
    frame = await _off_loop(results.read_frame, path, "rejected")
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
    pos = await _off_loop(results.read_positions, path)
    series = await _off_loop(results.read_frame, path, "series")
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
    findings: list[dict[str, Any]] = await _off_loop(results.read_json, path, "diagnostics")
    return findings


async def compare(
    session: AsyncSession, user: Principal, ids: list[str], data_dir: Path
) -> dict[str, Any]:
    """NAV overlays and scalar metrics side by side for several of the caller's runs."""
    runs = []
    table: dict[str, dict[str, Any]] = {}
    for backtest_id in dict.fromkeys(ids):
        row, path = await result_path(session, user, backtest_id, data_dir)
        frame = await _off_loop(results.read_frame, path, "series")
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
        for name, value in (await _off_loop(results.read_json, path, "metrics")).items():
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
