"""Tables of the strategy library.

A :class:`Strategy` row is either a user's saved strategy or a template (``is_template``):
a system template (no owner, ``template_key`` set, seeded from the engine's catalog) or a
user's strategy published as one. Its ``body`` is a run-spec body without the dataset,
dates and capital (those come with each run), with the parameter values written in;
``param_schema`` and ``constraints`` say how it may be tuned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin, utcnow


class Strategy(IdMixin, TimestampMixin, Base):
    """A saved strategy or a template."""

    __tablename__ = "strategies"
    __table_args__ = (
        Index("uq_strategies_template_key", "template_key", unique=True),
        Index("ix_strategies_owner_name", "owner_id", "name"),
    )

    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(20), index=True)
    market: Mapped[str] = mapped_column(String(8), default="any")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_template: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    template_key: Mapped[str | None] = mapped_column(String(60))
    template_version: Mapped[int | None] = mapped_column(Integer)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # bilingual name/desc
    source_id: Mapped[str | None] = mapped_column(String(32), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    param_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    constraints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requires_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    usage_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class StrategyVersion(IdMixin, Base):
    """One saved state of a strategy (the last :data:`KEEP_VERSIONS` are kept)."""

    __tablename__ = "strategy_versions"
    __table_args__ = (Index("uq_strategy_versions_number", "strategy_id", "version", unique=True),)

    strategy_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("strategies.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    param_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    constraints: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StrategyRating(Base):
    """One user's rating (1-5) and comment of a strategy they can read."""

    __tablename__ = "strategy_ratings"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    strategy_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StrategyFavourite(Base):
    """A user's bookmark of a strategy or template."""

    __tablename__ = "strategy_favourites"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    strategy_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StrategyExample(IdMixin, Base):
    """A template's example, computed by running it on a dataset version (never written by
    hand); stale when the dataset version, the template version or the engine changes."""

    __tablename__ = "strategy_examples"
    __table_args__ = (
        Index("uq_strategy_examples_target", "strategy_id", "dataset_id", unique=True),
    )

    strategy_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("strategies.id", ondelete="CASCADE")
    )
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    strategy_version: Mapped[int] = mapped_column(Integer)
    engine_version: Mapped[str] = mapped_column(String(80))
    job_id: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime | None] = mapped_column(default=None)
