"""Tables of the factors domain: factors, favourites, per-user usage and evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin, utcnow


class Factor(IdMixin, TimestampMixin, Base):
    """A user's factor: a Qlib expression (may reference other factors as ``$$name``),
    Python code run in the sandbox, or a model run's predictions (kind ``model``)."""

    __tablename__ = "factors"
    __table_args__ = (Index("uq_factors_owner_name", "owner_id", "name", unique=True),)

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="expression")
    expression: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # names of the owner's factors referenced as $$name, direct ones only
    dependencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    lookback: Mapped[int | None] = mapped_column(Integer)
    cloned_from: Mapped[str | None] = mapped_column(String(32))
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    # kind "model": the model run whose stored predictions are the factor's values
    model_run_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)


class FactorFavourite(Base):
    """A user's bookmark of a factor they can read."""

    __tablename__ = "factor_favourites"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    factor_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("factors.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FactorUsage(Base):
    """How often, and when last, a user computed or evaluated a factor (recently used)."""

    __tablename__ = "factor_usage"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    factor_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("factors.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FactorEvaluation(IdMixin, TimestampMixin, Base):
    """One IC analysis of a factor, expression or feature set on a dataset version. Its
    status is its job's (``jobs.status``; no copy here, so the two never disagree)."""

    __tablename__ = "factor_evaluations"

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    factor_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("factors.id", ondelete="SET NULL"), index=True
    )
    feature_set: Mapped[str | None] = mapped_column(String(40))
    expression: Mapped[str | None] = mapped_column(Text)
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_ref: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
