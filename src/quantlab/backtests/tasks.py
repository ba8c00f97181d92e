"""The ``backtests.run`` job: load the panel with the strategy's look-back, compile the spec
to arrays, simulate in chunks (progress, trade log, running metrics, checkpoints between
chunks), then analyse and store the results. A cancelled run keeps what it simulated,
marked incomplete; a paused one resumes from its checkpoint on any worker, and cancelling
it while paused runs it once more from the checkpoint just to store those partial results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth.models import User
from quantlab.backtests import compile as spec_compile
from quantlab.backtests import results, robustness
from quantlab.backtests.models import Backtest
from quantlab.backtests.schemas import BacktestRequest
from quantlab.datasets import service as dataset_service
from quantlab.engine.backtest.simulate_nb import TR_DAY, TR_PRICE, TR_QTY, TR_SIDE, TR_SYMBOL
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.state import SimState
from quantlab.engine.data import Panel
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import (
    CHECKPOINT_INTERVAL_S,
    JobCancelled,
    JobContext,
    JobPaused,
)
from quantlab.platform.jobs.registry import register_job_type

JOB_TYPE = "backtests.run"
CHUNK_DAYS = 60  # trading days simulated between progress reports and pause/cancel checks
INDUSTRY_FIELD = "industry"


class RunParams(BaseModel):
    """Parameters of ``backtests.run``: the backtest row to carry out."""

    backtest_id: str = Field(min_length=1, max_length=32)


@dataclass(frozen=True, slots=True)
class _Owner:
    id: str
    is_admin: bool


@dataclass
class Prepared:
    """The inputs of a run, ready for the simulator."""

    request: BacktestRequest
    panel: Panel  # the simulated days and traded instruments
    simulator: Simulator
    industries: dict[str, str]


async def _start(
    session: AsyncSession, backtest_id: str
) -> tuple[dict[str, Any], _Owner, str | None]:
    row = await session.get(Backtest, backtest_id)
    if row is None:
        raise LookupError(f"backtest {backtest_id} is gone")
    owner = await session.get(User, row.owner_id)
    row.status = "running"
    row.started_at = row.started_at or utcnow()
    await session.commit()
    is_admin = bool(owner and owner.role == "admin")
    return dict(row.request), _Owner(row.owner_id, is_admin), row.parent_id


async def _enqueue_children(session: AsyncSession, backtest_id: str, calendar: Any) -> int:
    row = await session.get(Backtest, backtest_id)
    if row is None:
        return 0
    job_ids = await robustness.enqueue_children(session, row, calendar)
    await session.commit()
    return len(job_ids)


async def _update(session: AsyncSession, backtest_id: str, **values: Any) -> None:
    row = await session.get(Backtest, backtest_id)
    if row is None:
        return
    for key, value in values.items():
        setattr(row, key, value)
    await session.commit()


def _day(value: date | None) -> np.datetime64 | None:
    return None if value is None else np.datetime64(value, "D")


def _industries(panel: Panel) -> dict[str, str]:
    """Each instrument's last known industry code, when the dataset has that field."""
    codes = panel.fields.get(INDUSTRY_FIELD)
    if codes is None:
        return {}
    out: dict[str, str] = {}
    for j, symbol in enumerate(panel.instruments):
        valid = codes[:, j][~np.isnan(codes[:, j])]
        if valid.size:
            value = float(valid[-1])
            out[str(symbol)] = str(int(value)) if value.is_integer() else str(value)
    return out


def prepare(ctx: JobContext, req: BacktestRequest, owner: _Owner) -> Prepared:
    """Load the pinned dataset version with the look-back margin and compile the spec."""
    symbols = None if req.universe == "all" else list(req.universe)
    load_symbols = None
    if symbols is not None:
        load_symbols = list(dict.fromkeys([*symbols, *([req.benchmark] if req.benchmark else [])]))

    async def load(session: AsyncSession) -> Panel:
        panel, _ = await dataset_service.load_dataset_panel(
            session,
            owner,
            req.dataset_id,
            ctx.data_dir,
            version=req.dataset_version,
            symbols=load_symbols,
            end=req.end,
        )
        return panel

    full = ctx.run_db(load)
    start = _day(req.start)
    first = 0 if start is None else int(np.searchsorted(full.calendar, start))
    back = spec_compile.lookback(req)
    lo_row = 0 if back is None else max(0, first - back)
    panel = full.select(start=full.calendar[lo_row]) if lo_row else full
    lo = first - lo_row
    names = [str(s) for s in panel.instruments]
    traded = names if symbols is None else symbols
    if symbols is None and req.benchmark and req.benchmark in names:
        traded = [s for s in names if s != req.benchmark]
    pos = {s: i for i, s in enumerate(names)}
    cols = np.array([pos[s] for s in traded], dtype=np.int64)
    ctx.report(0.05, stage="compiling", message="evaluating the strategy")
    compiled = spec_compile.compile_strategy(req, panel, lo, cols)
    sim_panel = panel.select(instruments=traded, start=panel.calendar[lo])
    benchmark = None
    if req.benchmark:
        benchmark = np.asarray(panel["close"][lo:, pos[req.benchmark]], dtype=np.float64)
        benchmark = _ffill(benchmark)
    config = spec_compile.engine_config(req)
    sim = Simulator(sim_panel, compiled.strategy, config, benchmark)
    return Prepared(req, sim_panel, sim, _industries(sim_panel))


def _ffill(a: np.ndarray) -> np.ndarray:
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    return a[idx]


def _running_metrics(state: SimState, init_cash: float, date_text: str) -> dict[str, Any]:
    equity = state.equity[: state.t].sum(axis=1)
    peak = np.maximum.accumulate(np.concatenate([[init_cash], equity]))[1:]
    final = float(equity[-1])
    return {
        "date": date_text,
        "equity": round(final, 2),
        "total_return": final / init_cash - 1.0,
        "max_drawdown": float(np.min(equity / peak - 1.0)),
        "trades": int(state.counts[0]),
        "rejected_orders": int(state.counts[1]),
    }


def simulate(ctx: JobContext, prep: Prepared, backtest_id: str) -> SimState:
    """Walk the calendar in chunks from the checkpoint (if any); pause/cancel between chunks."""
    sim, panel = prep.simulator, prep.panel
    init_cash = prep.request.initial_capital
    blob = ctx.load_checkpoint()
    state = SimState.from_bytes(blob) if isinstance(blob, bytes) else sim.initial_state()
    if state.t:
        ctx.log("INFO", f"resumed at {panel.calendar[state.t - 1]} (day {state.t})")
        try:  # a paused run that was cancelled comes back only to keep what it simulated
            ctx.check()
        except JobCancelled:
            state.cancelled = not state.done
            return state
    log_budget = ctx.settings.job_log_limit
    last_saved = time.monotonic()
    while not state.done:
        before = int(state.counts[0])
        sim.run_chunk(state, CHUNK_DAYS)
        after = int(state.counts[0])
        for k in range(before, min(after, before + max(log_budget, 0))):
            ti, tf = state.trades_i[k], state.trades_f[k]
            line = results.trade_line(
                panel.calendar[ti[TR_DAY]],
                int(ti[TR_SIDE]),
                str(panel.instruments[ti[TR_SYMBOL]]),
                float(tf[TR_QTY]),
                float(tf[TR_PRICE]),
            )
            ctx.log("INFO", line)
        log_budget -= max(0, after - before)
        date_text = str(panel.calendar[state.t - 1])
        ctx.report(
            0.05 + 0.85 * state.t / state.n_days,
            stage="simulating",
            current=date_text,
            message=f"simulated to {date_text}",
        )
        ctx.metrics(_running_metrics(state, init_cash, date_text))
        try:
            ctx.check()
        except JobPaused:
            ctx.save_checkpoint(state.to_bytes())
            raise
        except JobCancelled:
            state.cancelled = not state.done
            return state
        if time.monotonic() - last_saved >= CHECKPOINT_INTERVAL_S:
            ctx.save_checkpoint(state.to_bytes())
            last_saved = time.monotonic()
    return state


def finish(ctx: JobContext, prep: Prepared, state: SimState, backtest_id: str) -> dict[str, Any]:
    """Analyse and store the results, then record the summary on the row."""
    ctx.report(0.92, stage="analysing", message="metrics and diagnostics")
    result = prep.simulator.result(state)
    req = prep.request
    analysis = results.analyse(
        result,
        req.initial_capital,
        seed=req.seed,
        n_parameters=spec_compile.n_parameters(req),
        industries=prep.industries,
    )
    path = results.result_dir(ctx.data_dir, backtest_id)
    results.save(path, result, analysis, prep.industries)
    status = "cancelled" if result.incomplete else "completed"
    values = {
        "status": status,
        "incomplete": result.incomplete,
        "days_run": result.days_run,
        "n_days": state.n_days,
        "final_equity": analysis.summary["final_equity"],
        "summary": analysis.summary,
        "result_dir": str(path.relative_to(ctx.data_dir)),
        "finished_at": utcnow(),
        "error": None,
    }
    ctx.run_db(lambda s: _update(s, backtest_id, **values))
    return {
        "backtest_id": backtest_id,
        "status": status,
        "final_equity": analysis.summary["final_equity"],
        "summary": analysis.summary,
    }


def run_backtest(ctx: JobContext, params: RunParams) -> dict[str, Any]:
    """Run one stored backtest request end to end."""
    backtest_id = params.backtest_id
    raw, owner, parent_id = ctx.run_db(lambda s: _start(s, backtest_id))
    try:
        return _run(ctx, backtest_id, raw, owner)
    finally:
        if parent_id is not None:  # a robustness child: the last one to end reports
            ctx.run_db(lambda s: robustness.collect(s, ctx.data_dir, parent_id))


def _run(ctx: JobContext, backtest_id: str, raw: dict[str, Any], owner: _Owner) -> dict[str, Any]:
    try:
        req = BacktestRequest.model_validate(raw)
        ctx.report(0.01, stage="loading", message="loading the dataset")
        prep = prepare(ctx, req, owner)
        state = simulate(ctx, prep, backtest_id)
        summary = finish(ctx, prep, state, backtest_id)
    except JobPaused:
        ctx.run_db(lambda s: _update(s, backtest_id, status="paused"))
        raise
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, JobCancelled) else "failed"
        message = f"{type(exc).__name__}: {exc}"[:2000]
        ctx.run_db(
            lambda s: _update(s, backtest_id, status=status, error=message, finished_at=utcnow())
        )
        raise
    if state.cancelled:
        ctx.log("WARNING", f"cancelled after {state.t} of {state.n_days} days; results kept")
        raise JobCancelled
    if req.robustness is not None:
        calendar = prep.panel.calendar[: state.t]
        count = ctx.run_db(lambda s: _enqueue_children(s, backtest_id, calendar))
        ctx.log("INFO", f"robustness: {count} child runs enqueued")
        summary["robustness_children"] = count
    ctx.report(1.0, stage="done")
    return summary


register_job_type(
    name=JOB_TYPE,
    params=RunParams,
    fn=run_backtest,
    checkpointable=True,
    finish_on_cancel=True,
    description="Simulate a backtest request and store its results, metrics and diagnostics.",
)
