"""The ``backtests`` table: one row per run, with what reproduces it and its summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin


class Backtest(IdMixin, TimestampMixin, Base):
    """A backtest run. ``request`` is the validated :class:`BacktestRequest` with the dataset
    version pinned; with ``engine_version`` and ``seed`` it reproduces the run exactly.
    Full arrays live as files under ``result_dir`` (relative to the data dir). The run's
    status is its job's (``jobs.status``; no copy here, so the two never disagree);
    ``finished_at`` is set once the run's outcome (results or error) is recorded."""

    __tablename__ = "backtests"

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120), default="")
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    strategy_kind: Mapped[str] = mapped_column(String(20))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    engine_version: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    rerun_of: Mapped[str | None] = mapped_column(String(32))
    # robustness children: the run they vary and how (see quantlab.backtests.robustness)
    parent_id: Mapped[str | None] = mapped_column(String(32), index=True)
    variant: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # a run of a saved strategy: which one and which of its versions
    strategy_id: Mapped[str | None] = mapped_column(String(32), index=True)
    strategy_version: Mapped[int | None] = mapped_column(Integer)
    # a run made from an optimisation study's trial (see quantlab.studies): which one
    study_id: Mapped[str | None] = mapped_column(String(32), index=True)
    study_trial: Mapped[int | None] = mapped_column(Integer)
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    days_run: Mapped[int | None] = mapped_column(Integer)
    n_days: Mapped[int | None] = mapped_column(Integer)
    final_equity: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_dir: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
