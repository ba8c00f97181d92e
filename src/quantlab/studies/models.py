"""Tables of the studies domain.

A :class:`Study` is one search: the run spec it varies, the parameter space, objectives,
constraints, method and seed, plus its summary once done. Its status is its job's.
Trials stream into :class:`StudyTrial`, keyed by ``(study_id, number)`` so a trial written
twice (a worker that died after writing) is kept once. A study that fans out splits its
trials into :class:`StudyChunk` rows that the study's jobs claim one at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin


class Study(IdMixin, TimestampMixin, Base):
    """One optimisation study; ``spec`` with ``space``, ``method`` and ``seed`` reproduces
    every trial."""

    __tablename__ = "studies"

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120), default="")
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    strategy_id: Mapped[str | None] = mapped_column(String(32), index=True)
    strategy_version: Mapped[int | None] = mapped_column(Integer)
    template_key: Mapped[str | None] = mapped_column(String(60))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    param_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    space: Mapped[dict[str, Any]] = mapped_column(JSON)
    objectives: Mapped[list[Any]] = mapped_column(JSON)
    constraints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(20))
    n_trials: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    chunk_size: Mapped[int] = mapped_column(Integer)
    keep_returns: Mapped[bool] = mapped_column(Boolean, default=True)
    children: Mapped[int] = mapped_column(Integer, default=0)  # fan-out jobs
    walk_forward: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    early_stopping: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # TPE pruning rule
    engine_version: Mapped[str] = mapped_column(String(60))
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class StudyTrial(Base):
    """One evaluated parameter point: its values (objectives, oriented as asked), scalar
    metrics and, when the study keeps them, daily returns (float64 bytes) for PBO / DSR."""

    __tablename__ = "study_trials"

    study_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    values: Mapped[list[Any]] = mapped_column(JSON)
    objective: Mapped[float | None] = mapped_column(Float)
    feasible: Mapped[bool] = mapped_column(Boolean)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    returns: Mapped[bytes | None] = mapped_column(LargeBinary)
    job_id: Mapped[str | None] = mapped_column(String(32))
    # "complete", or "pruned": stopped early on a time prefix (values are the prefix's)
    state: Mapped[str] = mapped_column(String(10), default="complete", server_default="complete")


class StudyChunk(Base):
    """Trials ``first`` .. ``first + count - 1`` of a study: ``pending``, ``claimed`` by a
    job (``job_id``) or ``done``."""

    __tablename__ = "study_chunks"

    study_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    first: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    job_id: Mapped[str | None] = mapped_column(String(32))
