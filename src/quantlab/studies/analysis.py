"""What a study found, read from its stored trials: the summary written when it ends (counts,
best trial, Pareto front size, the overfitting report and its findings), the Pareto front,
heat maps, sensitivity curves and parameter importance. Reads stream the columns they need
page by page, never the returns of every trial at once: the overfitting report reduces each
page of daily returns to CSCV block moments as it goes (memory ``O(16 · N)`` floats, not
``T × N``), so studies up to :data:`MAX_RETURNS_TRIALS` trials keep returns and get PBO."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine.backtest import diagnostics as diag
from quantlab.engine.optimise import Goal, cscv_accumulator, overfitting_report_from, pareto_front
from quantlab.platform.jsonsafe import json_safe
from quantlab.studies import store
from quantlab.studies.models import Study, StudyTrial

MAX_RETURNS_TRIALS = 100_000  # studies up to this size keep daily returns for PBO / DSR
PAGE = 5_000
RETURNS_PAGE = 256  # trials' daily returns read at a time (~5 MB for 10 years)


def goal_of(row: Study) -> Goal:
    """The study's objectives and constraints."""
    return Goal.parse(row.objectives, row.constraints)


async def rows(
    session: AsyncSession, study_id: str, *columns: Any, feasible_only: bool = False,
    page_size: int = PAGE,
) -> AsyncIterator[Any]:  # fmt: skip
    """The study's trials (chosen columns), by number, a page at a time."""
    last = -1
    while True:
        stmt = select(StudyTrial.number, *columns).where(
            StudyTrial.study_id == study_id, StudyTrial.number > last
        )
        if feasible_only:
            stmt = stmt.where(StudyTrial.feasible.is_(True))
        page = (await session.execute(stmt.order_by(StudyTrial.number).limit(page_size))).all()
        for r in page:
            yield r
        if len(page) < page_size:
            return
        last = page[-1].number


def _oriented(values: list[Any], goal: Goal) -> list[float]:
    out = []
    for v, o in zip(values, goal.objectives, strict=False):
        x = math.nan if v is None else float(v)
        out.append(x if o.maximize else -x)
    return out


async def pareto_numbers(session: AsyncSession, row: Study) -> list[int]:
    """Trial numbers on the Pareto front of the feasible trials over every objective."""
    goal = goal_of(row)
    numbers, points = [], []
    async for r in rows(session, row.id, StudyTrial.values, feasible_only=True):
        numbers.append(r.number)
        points.append(_oriented(r.values, goal))
    return [numbers[i] for i in pareto_front(points)]


async def overfitting(session: AsyncSession, row: Study, best: int) -> dict[str, Any] | None:
    """PBO (CSCV) and the deflated Sharpe ratio of trial ``best`` over every trial's
    returns, with the diagnostics registry's findings; None without stored returns.

    The returns are read :data:`RETURNS_PAGE` trials at a time and reduced to CSCV block
    moments at once (:func:`~quantlab.engine.optimise.overfitting_report_from`), so
    memory does not grow with the number of trials beyond ``16 · S`` bytes per trial."""
    stmt = select(StudyTrial.returns).where(StudyTrial.study_id == row.id,
                                            StudyTrial.number == best)  # fmt: skip
    raw = await session.scalar(stmt)
    if raw is None:
        return None
    best_returns = np.frombuffer(raw, dtype=np.float64)
    n_obs = len(best_returns)
    if n_obs < 8:
        return None
    acc = cscv_accumulator(n_obs)
    buffer: list[np.ndarray] = []
    async for r in rows(session, row.id, StudyTrial.returns, page_size=RETURNS_PAGE):
        if r.returns is None:
            continue
        series = np.frombuffer(r.returns, dtype=np.float64)
        if len(series) != n_obs:
            return None  # not on one calendar: no CSCV
        buffer.append(series)
        if len(buffer) >= RETURNS_PAGE:
            acc.add(np.column_stack(buffer))
            buffer = []
    if buffer:
        acc.add(np.column_stack(buffer))
    report = overfitting_report_from(acc, best_returns)
    report["best_trial"] = best
    report["findings"] = [f.to_dict() for f in diag.study_overfitting(report)]
    out: dict[str, Any] = json_safe(report)
    return out


async def summarise(session: AsyncSession, row: Study, panel: Any = None) -> dict[str, Any]:
    """The summary stored on the study when its job ends."""
    n_trials = await store.count_trials(session, row.id)
    feasible = 0
    async for _ in rows(session, row.id, feasible_only=True):
        feasible += 1
    best = await store.best_trial(session, row.id)
    goal = goal_of(row)
    out: dict[str, Any] = {
        "n_trials": n_trials,
        "n_planned": row.n_trials,
        "n_feasible": feasible,
        "n_pruned": await store.count_trials(session, row.id, state="pruned"),
        "objectives": [o.label for o in goal.objectives],
        "best": None,
        "pareto_size": len(await pareto_numbers(session, row)) if feasible else 0,
        "overfitting": None,
    }
    if best is not None:
        out["best"] = {"number": best.number, "params": best.params, "values": best.values,
                       "metrics": best.metrics}  # fmt: skip
        report = await overfitting(session, row, best.number)
        if report is not None:
            out["overfitting"] = {k: report[k] for k in ("pbo", "dsr", "n_splits", "n_trials")}
            out["overfitting"]["findings"] = report["findings"]
    return out


async def params_values(
    session: AsyncSession, row: Study, objective: int
) -> list[tuple[dict[str, Any], float]]:
    """Every trial's parameters and objective ``objective`` (NaN when missing or
    infeasible), for heat maps, sensitivity and importance."""
    out = []
    async for r in rows(session, row.id, StudyTrial.params, StudyTrial.values,
                        StudyTrial.feasible):  # fmt: skip
        v = r.values[objective] if objective < len(r.values) else None
        out.append((r.params, math.nan if v is None or not r.feasible else float(v)))
    return out


def importance(
    row: Study, pairs: list[tuple[dict[str, Any], float]], objective: int
) -> dict[str, float]:
    """Parameter importance by Optuna's fANOVA evaluator (seeded) over the trials."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    from quantlab.studies.plan import plan_of

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = plan_of(row).space
    dists: dict[str, Any] = {}
    for d in space.dimensions:
        if d.choices is not None:
            dists[d.name] = CategoricalDistribution(sorted({d._cast(c) for c in d.choices}))
        elif d.type == "int":
            dists[d.name] = IntDistribution(int(d.low or 0), int(d.high or 0), log=d.log)
        else:
            dists[d.name] = FloatDistribution(float(d.low or 0), float(d.high or 0), log=d.log)
    goal = goal_of(row)
    maximize = goal.objectives[objective].maximize
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    trials = [
        optuna.trial.create_trial(params=p, distributions=dists, value=v)
        for p, v in pairs
        if math.isfinite(v)
    ]
    if len(trials) < 2 or len(dists) < 1:
        return {}
    study.add_trials(trials)
    if len(dists) == 1:
        return {next(iter(dists)): 1.0}
    found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    return {k: float(v) for k, v in found.items()}


async def study_findings(session: AsyncSession, backtest: Any) -> list[dict[str, Any]]:
    """The diagnostics registry's ``study_overfitting`` findings of the study a backtest
    came from (PBO, deflated Sharpe ratio), for the backtests domain's findings hook;
    nothing for a run not made from a study, or a study without an overfitting report."""
    if not getattr(backtest, "study_id", None):
        return []
    row = await session.get(Study, backtest.study_id)
    summary: dict[str, Any] = (row.summary if row is not None else None) or {}
    report = summary.get("overfitting")
    if not report:
        return []
    best = (summary.get("best") or {}).get("number")
    out = []
    for finding in diag.study_overfitting(report):
        found = finding.to_dict()
        found["evidence"] = {**found["evidence"], "study_id": backtest.study_id,
                             "study_trial": backtest.study_trial, "best_trial": best}  # fmt: skip
        out.append(found)
    return out
