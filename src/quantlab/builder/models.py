"""Tables of the builder: drafts (autosaved graphs) and their snapshots.

A draft's ``version`` counts saves (a save naming an older version is refused with 409);
``expires_at`` is 24 h after the last save until the draft is saved as a strategy
(``strategy_id`` set), then None. ``last_result`` is the last quick test's summary and
``results`` the last :data:`KEEP_RESULTS` ones, newest first.

A graph saved as a strategy is kept per strategy version (:class:`BuilderStrategyGraph`),
so the strategy reopens in the builder exactly as drawn (positions and labels included)
rather than as a graph rebuilt from its spec.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin, utcnow

KEEP_RESULTS = 10


class BuilderDraft(IdMixin, TimestampMixin, Base):
    """A graph being edited."""

    __tablename__ = "builder_drafts"

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    graph: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    strategy_id: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_job_id: Mapped[str | None] = mapped_column(String(32))
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # nullable: drafts from before the column have no history (read as [])
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)


class BuilderSnapshot(IdMixin, Base):
    """A named copy of a draft's graph at one version."""

    __tablename__ = "builder_snapshots"

    draft_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("builder_drafts.id", ondelete="CASCADE"), index=True
    )
    draft_version: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500), default="")
    graph: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BuilderStrategyGraph(IdMixin, Base):
    """The graph a strategy version was saved from (the version's spec is its compilation)."""

    __tablename__ = "builder_strategy_graphs"
    __table_args__ = (UniqueConstraint("strategy_id", "strategy_version"),)

    strategy_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("strategies.id", ondelete="CASCADE"), index=True
    )
    strategy_version: Mapped[int] = mapped_column(Integer)
    draft_id: Mapped[str | None] = mapped_column(String(32))
    graph: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
