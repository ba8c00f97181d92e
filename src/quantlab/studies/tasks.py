"""The study jobs.

``studies.run`` carries out one study. Grid and random studies are split into chunks of
trial numbers (``study_chunks``); the job claims chunks one at a time, runs each through
:func:`quantlab.engine.optimise.evaluate` (``engine.run_batch`` underneath) and streams every
batch of trials to ``study_trials`` at once, so memory stays flat in the number of trials.
A large study (or ``run_as: jobs``) also enqueues ``studies.chunk`` child jobs of the same
owner that claim chunks the same way, on the local pool or on Celery workers; the parent
takes whatever is left and waits for the rest, re-opening chunks held by a job that stopped
running (a killed worker), so no trial is lost. A trial's number keys its row, so a trial
written twice is kept once. TPE studies run in the parent with Optuna's study stored in a
journal file under the data directory, so a paused or crashed study resumes where it was.

The checkpoint is the trials done: the table itself (the job's checkpoint file records
the count so the job API shows one). The study's status is its job's.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth import service as auth_service
from quantlab.backtests import tasks as backtest_tasks
from quantlab.engine.data import Panel
from quantlab.engine.optimise import (
    EarlyStopping,
    Trial,
    evaluate,
    prefix_trials,
    tpe_search,
    walk_forward,
)
from quantlab.platform.db import utcnow
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.context import JobCancelled, JobContext, JobPaused, write_atomic
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.jsonsafe import json_safe
from quantlab.studies import analysis, store
from quantlab.studies.models import Study
from quantlab.studies.plan import TPE_METHODS, Plan, plan_of

JOB_TYPE = "studies.run"
CHUNK_JOB_TYPE = "studies.chunk"
RESULTS_DIR = "studies"
WAIT_S = 0.25  # how often a parent with nothing to claim looks at the other jobs
WRITE_BATCH = 64  # trials per insert (and per progress report / pause check)
TPE_BATCH = 32  # most TPE trials asked at a time (fewer: chunk_size)


class RunParams(BaseModel):
    """Parameters of ``studies.run``: the study to carry out."""

    study_id: str = Field(min_length=1, max_length=32)


class ChunkParams(BaseModel):
    """Parameters of ``studies.chunk``: the study whose chunks to claim."""

    study_id: str = Field(min_length=1, max_length=32)


def result_dir(data_dir: Path, study_id: str) -> Path:
    """Where a study's files live (Optuna journal, walk-forward result)."""
    return data_dir / RESULTS_DIR / study_id


class _Run:
    """A study as a job sees it: the row's fields, its plan and the loaded panel."""

    def __init__(self, ctx: JobContext, study_id: str) -> None:
        self.ctx, self.study_id = ctx, study_id
        self.timings = {"load": 0.0, "engine": 0.0, "store": 0.0}
        t0 = time.perf_counter()
        self.row, owner = ctx.run_db(lambda s: _load(s, study_id))
        self.plan: Plan = plan_of(self.row)
        ctx.report(0.0, stage="loading", message="loading the dataset")
        self.panel: Panel = backtest_tasks.load_panel(ctx, self.plan.spec, owner)
        self.total = int(self.row.n_trials)
        self.timings["load"] = time.perf_counter() - t0

    def log_timings(self, **more: float) -> None:
        """Where the job's time went (seconds), as one log line."""
        parts = {**self.timings, **more}
        self.ctx.log("INFO", "timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in parts.items()))

    def run_chunk(self, first: int, count: int) -> int:
        """Run the trials of ``[first, first + count)`` not stored yet; returns how many."""
        ctx, sid = self.ctx, self.study_id
        have = ctx.run_db(lambda s: store.numbers_in(s, sid, first, count))
        todo = [(n, p) for n, p in enumerate(self.plan.points(first, count), start=first)
                if n not in have]  # fmt: skip
        if not todo:
            return 0
        numbers = [n for n, _ in todo]
        # the whole chunk is one engine batch (run_batch shares data and expressions over
        # it and yields results one at a time); trials are written WRITE_BATCH at a time,
        # so memory is bounded by one result and one write batch, not by the trial count
        size = min(int(self.row.chunk_size), WRITE_BATCH)
        trials = evaluate(
            self.plan.spec, [p for _, p in todo], self.panel, self.plan.goal,
            params=self.plan.params, chunk_size=len(todo),
            keep_returns=bool(self.row.keep_returns),
        )  # fmt: skip
        buffer: list[dict[str, Any]] = []
        done = 0
        t0 = time.perf_counter()
        for number, t in zip(numbers, trials, strict=True):
            t = Trial(number, t.params, t.values, t.feasible, t.metrics, t.seconds, t.returns)
            buffer.append(store.trial_row(sid, t, self.plan.goal, ctx.job_id))
            if len(buffer) >= size:
                self.timings["engine"] += time.perf_counter() - t0
                done += self._flush(buffer)
                t0 = time.perf_counter()
        self.timings["engine"] += time.perf_counter() - t0
        done += self._flush(buffer)
        return done

    def _flush(self, buffer: list[dict[str, Any]]) -> int:
        t0 = time.perf_counter()
        rows = list(buffer)
        buffer.clear()
        self.ctx.run_db(lambda s: store.write_trials(s, rows))
        self.progress()
        self.ctx.checkpoint({"trials_written": len(rows)})  # pause / cancel between batches
        self.timings["store"] += time.perf_counter() - t0
        return len(rows)

    def progress(self) -> None:
        """Trials done, best so far and the ETA (from the job's progress)."""
        ctx, sid = self.ctx, self.study_id
        done, best = ctx.run_db(lambda s: _progress(s, sid))
        label = self.plan.goal.objectives[0].label
        message = f"{done} of {self.total} trials"
        if best is not None:
            message += f"; best {label} {best['values'][0]:.4g} at {best['params']}"
        ctx.report(0.02 + 0.93 * done / max(self.total, 1), stage="searching",
                   current=f"{done}/{self.total}", message=message)  # fmt: skip
        ctx.metrics({"trials_done": done, "trials_total": self.total, "best": best})

    def claim_loop(self) -> int:
        """Claim and run chunks until none is left to claim; returns trials run."""
        ran = 0
        ctx, sid = self.ctx, self.study_id
        while True:
            got = ctx.run_db(lambda s: store.claim(s, sid, ctx.job_id))
            if got is None:
                return ran
            index, first, count = got
            ran += self.run_chunk(first, count)
            ctx.run_db(lambda s, i=index: store.mark_done(s, sid, i, ctx.job_id))  # type: ignore[misc]


async def _load(session: AsyncSession, study_id: str) -> tuple[Study, auth_service.Owner]:
    row = await session.get(Study, study_id)
    if row is None:
        raise LookupError(f"study {study_id} is gone")
    owner = await auth_service.owner_of(session, row.owner_id)
    session.expunge(row)
    return row, owner


async def _progress(session: AsyncSession, study_id: str) -> tuple[int, dict[str, Any] | None]:
    done = await store.count_trials(session, study_id)
    best = await store.best_trial(session, study_id)
    view = None if best is None else {"number": best.number, "params": best.params,
                                      "values": best.values}  # fmt: skip
    return done, view


# --- studies.run ------------------------------------------------------------------------------


def run_study(ctx: JobContext, params: RunParams) -> dict[str, Any]:
    """Search the study's space, store every trial, then summarise (and walk forward)."""
    sid = params.study_id
    ctx.run_db(lambda s: _started(s, sid))
    cancelled = False
    try:
        run = _Run(ctx, sid)
        try:
            if run.plan.method in TPE_METHODS:
                _tpe(run)
            else:
                _chunks(run)
        except JobCancelled:
            cancelled = True  # keep what was done: summarise the trials stored so far
            ctx.run_db(lambda s: _signal_children(s, sid, "cancel"))
        ctx.report(0.96, stage="analysing", message="summary and overfitting report")
        t0 = time.perf_counter()
        summary = ctx.run_db(lambda s: analysis.summarise(s, run.row, run.panel))
        run.log_timings(summary=time.perf_counter() - t0)
        if run.row.walk_forward and not cancelled:
            ctx.report(0.97, stage="walk-forward", message="walk-forward optimisation")
            summary["walk_forward"] = _walk_forward(run)
    except JobPaused:
        ctx.run_db(lambda s: _signal_children(s, sid, "pause"))
        raise
    except BaseException as exc:
        if not isinstance(exc, JobCancelled):
            message = f"{type(exc).__name__}: {exc}"[:2000]
            ctx.run_db(lambda s: _finish(s, sid, error=message))
            ctx.run_db(lambda s: _signal_children(s, sid, "cancel"))
        raise
    ctx.run_db(lambda s: _finish(s, sid, summary=summary))
    if cancelled:
        ctx.log("WARNING", f"cancelled after {summary['n_trials']} trials; they are kept")
        raise JobCancelled
    ctx.report(1.0, stage="done")
    return {"study_id": sid, "n_trials": summary["n_trials"], "best": summary["best"]}


async def _started(session: AsyncSession, study_id: str) -> None:
    row = await session.get(Study, study_id)
    if row is not None:
        row.started_at = row.started_at or utcnow()
        await session.commit()


async def _finish(session: AsyncSession, study_id: str, **values: Any) -> None:
    row = await session.get(Study, study_id)
    if row is None:
        return
    for key, value in values.items():
        setattr(row, key, json_safe(value) if key == "summary" else value)
    row.finished_at = utcnow()
    await session.commit()


def _chunks(run: _Run) -> None:
    ctx, sid, row = run.ctx, run.study_id, run.row
    size = max(int(row.chunk_size), math.ceil(run.total / 256))
    ctx.run_db(lambda s: store.plan_chunks(s, sid, run.total, size))
    fan_out = int(row.children or 0)
    if fan_out:
        ctx.run_db(lambda s: _children(s, row, fan_out))
    run.progress()
    while True:
        run.claim_loop()
        left = ctx.run_db(lambda s: store.outstanding(s, sid, ctx.job_id))
        if left == 0:
            break
        run.progress()
        ctx.checkpoint({"waiting_for_chunks": left})
        time.sleep(WAIT_S)
    ctx.run_db(lambda s: _signal_children(s, sid, "done"))
    run.progress()


async def _children(session: AsyncSession, row: Study, count: int) -> None:
    """Enqueue the fan-out jobs once, or resume the ones paused with the study."""
    existing = list(await session.scalars(_children_stmt(row.id)))
    if not existing:
        for _ in range(count):
            await job_service.enqueue(
                session, job_type=CHUNK_JOB_TYPE, params={"study_id": row.id},
                owner_id=row.owner_id,
            )  # fmt: skip
    else:
        await session.execute(
            update(Job)
            .where(Job.id.in_([j.id for j in existing]), Job.status == "paused")
            .values(status="pending", dispatched_at=None, control=None)
            .execution_options(synchronize_session=False)
        )
    await session.commit()


def _children_stmt(study_id: str) -> Any:
    return select(Job).where(
        Job.type == CHUNK_JOB_TYPE, Job.params["study_id"].as_string() == study_id
    )


async def _signal_children(session: AsyncSession, study_id: str, action: str) -> None:
    """Pass the parent's pause or cancel on to its fan-out jobs; ``done``: cancel the
    ones that never started (there is nothing left for them)."""
    for job in await session.scalars(_children_stmt(study_id)):
        if job.status == "running" and action in ("pause", "cancel"):
            job.control = action
        elif job.status == "pending" or (job.status == "paused" and action != "pause"):
            if action == "pause":
                job.status, job.dispatched_at = "paused", None
            else:
                job.status, job.finished_at, job.control = "cancelled", utcnow(), None
    await session.commit()


def _tpe(run: _Run) -> None:
    """Optuna TPE (several objectives: multi-objective TPE), stored in a journal file so a
    resumed job continues the same study; trials are stored a batch at a time, and a trial
    Optuna has but the table lacks (a crash between the two) is evaluated again on resume."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    ctx, sid, plan = run.ctx, run.study_id, run.plan
    folder = result_dir(ctx.data_dir, sid)
    folder.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(folder / "optuna.journal")))
    _reconcile(run, storage)
    stop: list[str] = []
    buffer: list[dict[str, Any]] = []
    batch = max(1, min(int(run.row.chunk_size), TPE_BATCH))

    def on_trial(t: Trial) -> None:
        buffer.append(store.trial_row(sid, t, plan.goal, ctx.job_id))
        if len(buffer) >= batch:
            rows = list(buffer)
            buffer.clear()
            ctx.run_db(lambda s: store.write_trials(s, rows))
            run.progress()

    def should_stop() -> bool:
        try:
            ctx.check()
        except JobPaused:
            stop.append("pause")
        except JobCancelled:
            stop.append("cancel")
        return bool(stop)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    early = run.row.early_stopping
    tpe_search(
        plan.spec, plan.space, run.panel, plan.goal, n_trials=run.total, seed=plan.seed,
        params=plan.params, on_trial=on_trial, batch=batch, storage=storage, study_name=sid,
        should_stop=should_stop, keep_returns=bool(run.row.keep_returns),
        early_stopping=EarlyStopping(**early) if early else None,
    )  # fmt: skip
    rows = list(buffer)
    ctx.run_db(lambda s: store.write_trials(s, rows))
    run.progress()
    if stop == ["pause"]:
        ctx.save_checkpoint({"trials_done": ctx.run_db(lambda s: store.count_trials(s, sid))})
        raise JobPaused
    if stop:
        raise JobCancelled


def _reconcile(run: _Run, storage: Any) -> None:
    import optuna

    ctx, sid = run.ctx, run.study_id
    try:
        study = optuna.load_study(study_name=sid, storage=storage)
    except KeyError:
        return
    state = optuna.trial.TrialState
    told = {t.number: t.params for t in study.get_trials(deepcopy=False, states=(state.COMPLETE,))}
    # pruned after a prefix run (it reported step 0); a broken linked constraint is pruned
    # unrun and never stored
    early = {t.number: t.params for t in study.get_trials(deepcopy=False, states=(state.PRUNED,))
             if t.intermediate_values}  # fmt: skip
    top = max(max(told, default=-1), max(early, default=-1)) + 1
    have = ctx.run_db(lambda s: store.numbers_in(s, sid, 0, top))
    dims = run.plan.space.dimensions

    def unstored(found: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        return {n: {d.name: p[d.name] for d in dims} for n, p in sorted(found.items())
                if n not in have}  # fmt: skip

    missing, stopped = unstored(told), unstored(early)
    if not missing and not stopped:
        return
    ctx.log("INFO", f"re-evaluating {len(missing) + len(stopped)} trials told to Optuna but "
                    "not stored")  # fmt: skip
    plan = run.plan
    runs = evaluate(plan.spec, list(missing.values()), run.panel, plan.goal,
                    params=plan.params, keep_returns=bool(run.row.keep_returns))  # fmt: skip
    trials = [Trial(n, t.params, t.values, t.feasible, t.metrics, t.seconds, t.returns)
              for n, t in zip(missing, runs, strict=True)]  # fmt: skip
    if stopped:
        rule = EarlyStopping(**(run.row.early_stopping or {}))
        trials += prefix_trials(plan.spec, stopped, run.panel, plan.goal, rule, params=plan.params)
    rows = [store.trial_row(sid, t, plan.goal, ctx.job_id) for t in trials]
    ctx.run_db(lambda s: store.write_trials(s, rows))


def _walk_forward(run: _Run) -> dict[str, Any]:
    cfg = dict(run.row.walk_forward or {})
    plan, panel = run.plan, run.panel
    train, test = int(cfg["train_days"]), int(cfg["test_days"])
    cal = panel.calendar
    lo = 0 if plan.spec.start is None else int(np.searchsorted(cal, np.datetime64(plan.spec.start)))
    hi = len(cal) if plan.spec.end is None else int(
        np.searchsorted(cal, np.datetime64(plan.spec.end), "right"))  # fmt: skip
    span = train + test * int(cfg.get("max_windows", 24))
    start = cal[max(lo, hi - span)] if hi - lo > span and not cfg.get("anchored") else None
    method = "tpe" if plan.method in TPE_METHODS else plan.method
    n = min(run.total, 200) if method != "grid" else None
    wf = walk_forward(
        plan.spec, plan.space, panel, plan.goal, train_days=train, test_days=test,
        anchored=bool(cfg.get("anchored")), method=method, params=plan.params,
        start=start if start is not None else plan.spec.start, end=plan.spec.end,
        n_trials=n, seed=plan.seed, chunk_size=int(run.row.chunk_size),
    )  # fmt: skip
    out = {
        "windows": [
            {
                "train_start": str(w.window.train_start),
                "train_end": str(w.window.train_end),
                "test_start": str(w.window.test_start),
                "test_end": str(w.window.test_end),
                "params": w.params,
                "in_sample": w.in_sample,
                "out_of_sample": w.out_of_sample,
            }
            for w in wf.windows
        ],
        "dates": [str(d) for d in wf.dates.astype("datetime64[D]")],
        "equity": wf.equity.tolist(),
        "metrics": wf.metrics,
        "stability": wf.stability,
    }
    path = result_dir(run.ctx.data_dir, run.study_id) / "walk_forward.json"
    write_atomic(path, json.dumps(json_safe(out), allow_nan=False).encode())
    return {"windows": len(wf.windows), "metrics": json_safe(wf.metrics)}


async def on_study_final(session: AsyncSession, job: Any, data_dir: Path) -> None:
    """Whatever ended the study's job (a crash found on restart, a cancel while queued),
    the study is finished and its fan-out jobs stop."""
    study_id = (job.params or {}).get("study_id")
    row = await session.get(Study, study_id) if study_id else None
    if row is None:
        return
    if row.finished_at is None:
        row.finished_at = utcnow()
        if job.status == "failed" and not row.error:
            row.error = job.error_message or "the study's job failed"
    await _signal_children(session, row.id, "cancel")


# --- studies.chunk ----------------------------------------------------------------------------


def run_chunks(ctx: JobContext, params: ChunkParams) -> dict[str, Any]:
    """Claim and run chunks of a fanned-out study until none is left."""
    run = _Run(ctx, params.study_id)
    ran = run.claim_loop()
    ctx.report(1.0, stage="done")
    return {"study_id": params.study_id, "trials_run": ran}


# a backtest made from a study's trial gets the study's overfitting findings
backtest_tasks.register_findings(analysis.study_findings)

register_job_type(
    name=JOB_TYPE,
    params=RunParams,
    fn=run_study,
    checkpointable=True,
    finish_on_cancel=True,
    on_final=on_study_final,
    description="Run an optimisation study: every trial stored, then the summary.",
)
register_job_type(
    name=CHUNK_JOB_TYPE,
    params=ChunkParams,
    fn=run_chunks,
    checkpointable=True,
    description="Run chunks of trials of a study that fans out over workers.",
)
