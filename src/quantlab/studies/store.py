"""Trial and chunk storage shared by the study jobs: idempotent trial writes keyed by
``(study_id, number)``, atomic chunk claims, and reads of what a study has found."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine.optimise import Goal, Trial
from quantlab.platform.jobs.models import Job
from quantlab.platform.jsonsafe import json_safe
from quantlab.studies.models import StudyChunk, StudyTrial

RUNNING = "running"


def trial_row(study_id: str, t: Trial, goal: Goal, job_id: str | None) -> dict[str, Any]:
    """The ``study_trials`` row of an engine trial."""
    score = -math.inf
    if t.values and not math.isnan(t.values[0]) and t.state == "complete":
        score = t.values[0] if goal.objectives[0].maximize else -t.values[0]
    return {
        "study_id": study_id,
        "number": int(t.number),
        "params": json_safe(t.params),
        "values": json_safe([float(v) for v in t.values]),
        "objective": None if not math.isfinite(score) else float(score),
        "feasible": bool(t.feasible),
        "metrics": json_safe(t.metrics),
        "seconds": float(t.seconds),
        "returns": None if t.returns is None else np.asarray(t.returns, np.float64).tobytes(),
        "job_id": job_id,
        "state": t.state,
    }


async def write_trials(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert trials, keeping the first write of a number (a re-run after a crash is a
    no-op), and commit."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert(StudyTrial).values(rows)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["study_id", "number"]))
    await session.commit()


async def numbers_in(session: AsyncSession, study_id: str, first: int, count: int) -> set[int]:
    """Trial numbers already stored in ``[first, first + count)``."""
    rows = await session.scalars(
        select(StudyTrial.number).where(
            StudyTrial.study_id == study_id,
            StudyTrial.number >= first,
            StudyTrial.number < first + count,
        )
    )
    return set(rows.all())


async def count_trials(session: AsyncSession, study_id: str, state: str | None = None) -> int:
    """Trials stored so far (in ``state``: ``complete`` or ``pruned``, when given)."""
    stmt = select(func.count()).where(StudyTrial.study_id == study_id)
    if state is not None:
        stmt = stmt.where(StudyTrial.state == state)
    return int(await session.scalar(stmt) or 0)


def best_stmt(study_id: str) -> Select[Any]:
    """The best feasible trial by the first objective (lowest number on ties)."""
    return (
        select(StudyTrial)
        .where(
            StudyTrial.study_id == study_id,
            StudyTrial.feasible.is_(True),
            StudyTrial.objective.is_not(None),
        )
        .order_by(StudyTrial.objective.desc(), StudyTrial.number)
        .limit(1)
    )


async def best_trial(session: AsyncSession, study_id: str) -> StudyTrial | None:
    """The best feasible trial, or None."""
    return (await session.scalars(best_stmt(study_id))).first()


# --- chunks -----------------------------------------------------------------------------------


async def plan_chunks(session: AsyncSession, study_id: str, total: int, size: int) -> int:
    """Create the study's chunks once (idempotent); returns how many there are."""
    existing = await session.scalar(select(func.count()).where(StudyChunk.study_id == study_id))
    if existing:
        return int(existing)
    n = 0
    for n, first in enumerate(range(0, total, size), start=1):
        session.add(
            StudyChunk(study_id=study_id, index=n - 1, first=first,
                       count=min(size, total - first), state="pending")
        )  # fmt: skip
    await session.commit()
    return n


async def claim(session: AsyncSession, study_id: str, job_id: str) -> tuple[int, int, int] | None:
    """The next chunk for ``job_id``: one it claimed before (a resumed job), else the first
    pending one, claimed atomically. Returns ``(index, first, count)`` or None."""
    mine = (
        await session.scalars(
            select(StudyChunk)
            .where(
                StudyChunk.study_id == study_id,
                StudyChunk.state == "claimed",
                StudyChunk.job_id == job_id,
            )
            .order_by(StudyChunk.index)
            .limit(1)
        )
    ).first()
    if mine is not None:
        return mine.index, mine.first, mine.count
    while True:
        row = (
            await session.execute(
                select(StudyChunk.index, StudyChunk.first, StudyChunk.count)
                .where(StudyChunk.study_id == study_id, StudyChunk.state == "pending")
                .order_by(StudyChunk.index)
                .limit(1)
            )
        ).first()
        if row is None:
            await session.commit()
            return None
        index, first, count = int(row[0]), int(row[1]), int(row[2])
        result = await session.execute(
            update(StudyChunk)
            .where(StudyChunk.study_id == study_id, StudyChunk.index == index,
                   StudyChunk.state == "pending")
            .values(state="claimed", job_id=job_id)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        await session.commit()
        if result.rowcount:  # type: ignore[attr-defined]
            return index, first, count


async def mark_done(session: AsyncSession, study_id: str, index: int, job_id: str) -> None:
    """Mark a chunk this job holds as done."""
    await session.execute(
        update(StudyChunk)
        .where(StudyChunk.study_id == study_id, StudyChunk.index == index,
               StudyChunk.job_id == job_id)
        .values(state="done")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.commit()


async def outstanding(session: AsyncSession, study_id: str, job_id: str) -> int:
    """Chunks not done. Chunks claimed by a job that is no longer running (killed and
    requeued, paused, failed, cancelled) go back to pending, so another job takes them;
    the trials it wrote stay and are not run again."""
    rows = (
        await session.execute(
            select(StudyChunk.index, StudyChunk.job_id, Job.status)
            .join(Job, Job.id == StudyChunk.job_id, isouter=True)
            .where(
                StudyChunk.study_id == study_id,
                StudyChunk.state == "claimed",
                StudyChunk.job_id != job_id,
            )
        )
    ).all()
    for index, holder, status in rows:
        if status != RUNNING:
            await session.execute(
                update(StudyChunk)
                .where(StudyChunk.study_id == study_id, StudyChunk.index == index,
                       StudyChunk.job_id == holder, StudyChunk.state == "claimed")
                .values(state="pending", job_id=None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    left = await session.scalar(
        select(func.count()).where(StudyChunk.study_id == study_id, StudyChunk.state != "done")
    )
    await session.commit()
    return int(left or 0)
