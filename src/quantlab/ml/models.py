"""The ``model_runs`` table: one row per training run, what reproduces it, and its summary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin


class ModelRun(IdMixin, TimestampMixin, Base):
    """A model run. ``request`` is the validated request with the dataset version pinned;
    with ``engine_version``, ``seed`` and ``threads`` (in the request) it reproduces the
    predictions bit for bit. Arrays and model files live under ``result_dir``."""

    __tablename__ = "model_runs"

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(40))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    engine_version: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_dir: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
