"""The ``backtests.run`` job: load the panel (with the history before ``start``), then one
:func:`quantlab.engine.runner` run with this job's progress, trade log, running metrics and
checkpoints between chunks, then store the results. A cancelled run keeps what it
simulated, marked incomplete; a paused one resumes from its checkpoint on any worker, and
cancelling it while paused runs it once more from the checkpoint just to store those
partial results. Robustness variants of a small run are run here, in process.

The run's status is its job's; this module records results, errors and ``finished_at``
on the backtest row."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth import service as auth_service
from quantlab.backtests import results, robustness
from quantlab.backtests.model_scores import add_model_scores, check_model_scores
from quantlab.backtests.models import Backtest
from quantlab.datasets import service as dataset_service
from quantlab.datasets import universes
from quantlab.engine import runner
from quantlab.engine.backtest.analysis import trade_line
from quantlab.engine.backtest.compile import UNIVERSES_META
from quantlab.engine.backtest.simulate_nb import TR_DAY, TR_PRICE, TR_QTY, TR_SIDE, TR_SYMBOL
from quantlab.engine.backtest.state import SimState
from quantlab.engine.data import Panel
from quantlab.engine.spec import RunSpec, model_runs
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import (
    CHECKPOINT_INTERVAL_S,
    JobCancelled,
    JobContext,
    JobPaused,
    write_atomic,
)
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.jsonsafe import json_safe

JOB_TYPE = "backtests.run"
CHUNK_DAYS = runner.CHUNK_DAYS


class RunParams(BaseModel):
    """Parameters of ``backtests.run``: the backtest row to carry out."""

    backtest_id: str = Field(min_length=1, max_length=32)


async def _start(
    session: AsyncSession, backtest_id: str
) -> tuple[dict[str, Any], auth_service.Owner, str | None]:
    row = await session.get(Backtest, backtest_id)
    if row is None:
        raise LookupError(f"backtest {backtest_id} is gone")
    owner = await auth_service.owner_of(session, row.owner_id)
    row.started_at = row.started_at or utcnow()
    await session.commit()
    return dict(row.request), owner, row.parent_id


async def _update(session: AsyncSession, backtest_id: str, **values: Any) -> None:
    row = await session.get(Backtest, backtest_id)
    if row is None:
        return
    for key, value in values.items():
        setattr(row, key, value)
    await session.commit()


def load_panel(ctx: JobContext, spec: RunSpec, owner: auth_service.Owner) -> Panel:
    """The pinned dataset version up to ``end``: the universe and benchmark columns, every
    day from the data's start (the engine keeps the warm-up it needs), with the spec's
    dated universe in ``meta["universes"]`` and the predictions of a model score as the
    field ``model_<run id>`` (:func:`quantlab.engine.ml.with_scores`; the run is checked
    again: it may have been deleted since the request)."""
    load_symbols = None
    if spec.universe != "all":
        extra = [spec.benchmark] if spec.benchmark else []
        load_symbols = list(dict.fromkeys([*spec.universe, *extra]))

    async def load(session: AsyncSession) -> Panel:
        panel, _ = await dataset_service.load_dataset_panel(
            session, owner, spec.dataset_id, ctx.data_dir, version=spec.dataset_version,
            symbols=load_symbols, end=spec.end,
        )  # fmt: skip
        if spec.dated_universe is None:
            return panel
        spans = await universes.load_membership(
            session, owner, spec.dataset_id, spec.dated_universe
        )
        meta = {**panel.meta, UNIVERSES_META: {spec.dated_universe: spans}}
        return dataclasses.replace(panel, meta=meta)

    panel = ctx.run_db(load)
    for run_id in model_runs(spec):

        async def check(session: AsyncSession, run_id: str = run_id) -> str | None:
            run = await check_model_scores(session, owner, run_id, spec.dataset_id)
            return run.result_dir

        folder = ctx.run_db(check)
        assert folder is not None
        panel = add_model_scores(panel, run_id, ctx.data_dir / folder)
    return panel


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


class _JobHooks:
    """The engine's progress and checkpoint callbacks, speaking to the job."""

    def __init__(self, ctx: JobContext, init_cash: float) -> None:
        self.ctx = ctx
        self.init_cash = init_cash
        self.log_budget = ctx.settings.job_log_limit
        self.last_saved = time.monotonic()

    def progress(self, p: runner.RunProgress) -> bool:
        ctx = self.ctx
        if p.stage != "simulating" or p.state is None:
            return False
        st, trades = p.state, p.trades
        if trades is not None and len(trades) and self.log_budget > 0:
            assert p.calendar is not None and p.instruments is not None
            lo = int(st.counts[0]) - len(trades)
            hi = lo + min(len(trades), self.log_budget)
            ti, tf = st.trades_i, st.trades_f
            lines = [
                trade_line(
                    p.calendar[ti[k, TR_DAY]],
                    int(ti[k, TR_SIDE]),
                    str(p.instruments[ti[k, TR_SYMBOL]]),
                    float(tf[k, TR_QTY]),
                    float(tf[k, TR_PRICE]),
                )
                for k in range(lo, hi)
            ]
            ctx.log_many("INFO", lines)
        if trades is not None:
            self.log_budget -= len(trades)
        ctx.report(
            0.05 + 0.85 * p.fraction,
            stage="simulating",
            current=p.date,
            message=f"simulated to {p.date}",
        )
        ctx.metrics(_running_metrics(st, self.init_cash, str(p.date)))
        try:
            ctx.check()
        except JobPaused:
            ctx.save_checkpoint(st.to_bytes())
            raise
        except JobCancelled:
            return True
        if time.monotonic() - self.last_saved >= CHECKPOINT_INTERVAL_S:
            ctx.save_checkpoint(st.to_bytes())
            self.last_saved = time.monotonic()
        return False


def _resume_state(ctx: JobContext, prep: runner.Prepared) -> SimState:
    blob = ctx.load_checkpoint()
    if not isinstance(blob, bytes):
        return prep.simulator.initial_state()
    state = SimState.from_bytes(blob)
    if state.t:
        day = prep.simulator.panel.calendar[state.t - 1]
        ctx.log("INFO", f"resumed at {day} (day {state.t})")
        try:  # a paused run that was cancelled comes back only to keep what it simulated
            ctx.check()
        except JobCancelled:
            state.cancelled = not state.done
    return state


def run_backtest(ctx: JobContext, params: RunParams) -> dict[str, Any]:
    """Run one stored backtest request end to end."""
    backtest_id = params.backtest_id
    raw, owner, parent_id = ctx.run_db(lambda s: _start(s, backtest_id))
    try:
        return _run(ctx, backtest_id, raw, owner)
    finally:
        if parent_id is not None:  # a robustness child job: the last one to end reports
            ctx.run_db(lambda s: robustness.collect(s, ctx.data_dir, parent_id))


def _run(
    ctx: JobContext, backtest_id: str, raw: dict[str, Any], owner: auth_service.Owner
) -> dict[str, Any]:
    try:
        spec = RunSpec.from_stored(raw)
        ctx.report(0.01, stage="loading", message="loading the dataset")
        panel = load_panel(ctx, spec, owner)
        ctx.report(0.05, stage="compiling", message="evaluating the strategy")
        prep = runner.prepare(spec, panel, code_runner=_sandbox_runner())
        hooks = _JobHooks(ctx, spec.initial_capital)
        state = runner.simulate(
            prep, state=_resume_state(ctx, prep), progress=hooks.progress, chunk_days=CHUNK_DAYS
        )
        if state.cancelled:
            fraction = 0.05 + 0.85 * state.t / max(state.n_days, 1)
            note = f"cancelled after {state.t} of {state.n_days} days; keeping them"
            ctx.report(fraction, stage="cancelled", message=note)
        else:
            ctx.report(0.92, stage="analysing", message="metrics and diagnostics")
        result = runner.finish(prep, state)
        cancelled_late = not state.cancelled and _honour_pause(ctx, state)
        summary = _store(ctx, backtest_id, result)
        if spec.robustness is not None and not (state.cancelled or cancelled_late):
            summary["robustness"] = _robustness(ctx, backtest_id, spec, panel, result)
    except JobPaused:
        raise
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"[:2000]
        ctx.run_db(lambda s: _update(s, backtest_id, error=message, finished_at=utcnow()))
        raise
    if state.cancelled:
        ctx.log("WARNING", f"cancelled after {state.t} of {state.n_days} days; results kept")
        raise JobCancelled
    if cancelled_late:
        ctx.log("WARNING", "cancelled while analysing; the complete run's results are kept")
        raise JobCancelled
    ctx.report(1.0, stage="done")
    return summary


def _honour_pause(ctx: JobContext, state: SimState) -> bool:
    """A pause asked for while analysing is honoured: the finished state is checkpointed
    and the resumed run analyses it again (analysis is pure, so nothing is lost). Returns
    whether a cancel was asked for: the run is complete, so its results are stored (not
    marked incomplete, no robustness variants started) and the job ends cancelled, as the
    accepted cancel said it would."""
    try:
        ctx.check(force=True)
    except JobPaused:
        ctx.save_checkpoint(state.to_bytes())
        raise
    except JobCancelled:
        return True
    return False


def _sandbox_runner() -> Any:
    def run_code(code: str, inputs: dict[str, Any]) -> dict[str, Any]:
        from quantlab.sandbox.executor import run_array_code

        out: dict[str, Any] = run_array_code(code, inputs)
        return out

    return run_code


FindingsHook = Callable[[AsyncSession, Backtest], Awaitable[list[dict[str, Any]]]]
_FINDINGS_HOOKS: list[FindingsHook] = []


def register_findings(hook: FindingsHook) -> FindingsHook:
    """Register a source of diagnostic findings that other domains know about a run (e.g.
    the overfitting report of the study it came from); each hook is awaited with the run's
    row when its results are stored and returns findings (``Finding.to_dict()`` form) that
    join ``diagnostics.json``."""
    _FINDINGS_HOOKS.append(hook)
    return hook


async def _linked_findings(session: AsyncSession, backtest_id: str) -> list[dict[str, Any]]:
    row = await session.get(Backtest, backtest_id)
    out: list[dict[str, Any]] = []
    if row is not None:
        for hook in _FINDINGS_HOOKS:
            out.extend(await hook(session, row))
    return out


def _store(ctx: JobContext, backtest_id: str, result: runner.RunResult) -> dict[str, Any]:
    path = results.result_dir(ctx.data_dir, backtest_id)
    results.save(path, result)
    linked = ctx.run_db(lambda s: _linked_findings(s, backtest_id))
    if linked:
        findings = [*results.read_json(path, "diagnostics"), *linked]
        write_atomic(path / "diagnostics.json",
                     json.dumps(json_safe(findings), allow_nan=False).encode())  # fmt: skip
    for warning in result.warnings:
        ctx.log("WARNING", warning)
    values = {
        "incomplete": result.incomplete,
        "days_run": result.simulation.days_run,
        "n_days": result.state.n_days,
        "final_equity": result.summary["final_equity"],
        "summary": result.summary,
        "result_dir": str(path.relative_to(ctx.data_dir)),
        "finished_at": utcnow(),
        "error": None,
    }
    ctx.run_db(lambda s: _update(s, backtest_id, **values))
    return {
        "backtest_id": backtest_id,
        "status": "cancelled" if result.incomplete else "completed",
        "final_equity": result.summary["final_equity"],
        "summary": result.summary,
        "warnings": result.warnings,
    }


def _robustness(
    ctx: JobContext, backtest_id: str, spec: RunSpec, panel: Panel, result: runner.RunResult
) -> dict[str, Any]:
    """Variants in process when the run is small, else as child jobs."""
    calendar = result.dates
    if robustness.small_enough(spec, calendar, result.simulation.instruments):
        ctx.report(0.95, stage="robustness", message="parameter and walk-forward variants")
        path = results.result_dir(ctx.data_dir, backtest_id)
        count = robustness.run_in_process(path, spec, panel, calendar, result)
        ctx.log("INFO", f"robustness: {count} variants run in process")
        return {"in_process": count}

    async def enqueue(session: AsyncSession) -> int:
        row = await session.get(Backtest, backtest_id)
        if row is None:
            return 0
        job_ids = await robustness.enqueue_children(session, row, calendar)
        await session.commit()
        return len(job_ids)

    count = ctx.run_db(enqueue)
    ctx.log("INFO", f"robustness: {count} child runs enqueued")
    return {"children": count}


register_job_type(
    name=JOB_TYPE,
    params=RunParams,
    fn=run_backtest,
    checkpointable=True,
    finish_on_cancel=True,
    description="Simulate a backtest request and store its results, metrics and diagnostics.",
)
