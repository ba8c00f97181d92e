"""The ``jobs`` table (one row per job, the single source of truth for its state) and
``job_logs`` (the bounded log lines a job wrote)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin, utcnow

_LogId = BigInteger().with_variant(Integer(), "sqlite")


class Job(IdMixin, TimestampMixin, Base):
    """A unit of long work: type + params, owned by a user, run by a runner."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_dispatch", "status", "priority", "created_at"),)

    type: Mapped[str] = mapped_column(String(100), index=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(String(500))
    current: Mapped[str | None] = mapped_column(String(100))
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    control: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    result_ref: Mapped[str | None] = mapped_column(String(500))
    checkpoint_ref: Mapped[str | None] = mapped_column(String(500))
    schedule_id: Mapped[str | None] = mapped_column(String(32), index=True)
    log_count: Mapped[int] = mapped_column(Integer, default=0)


class JobLog(Base):
    """One line a job logged; at most ``job_log_limit`` are kept per job."""

    __tablename__ = "job_logs"

    id: Mapped[int] = mapped_column(_LogId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
