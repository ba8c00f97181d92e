"""Tables of the datasets domain: datasets, their versions, imports, templates, charts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, TimestampMixin


class Dataset(IdMixin, TimestampMixin, Base):
    """A named collection of market data owned by a user; its data lives in versions."""

    __tablename__ = "datasets"
    __table_args__ = (
        # Unique per owner among live datasets; soft-deleted ones free their name.
        Index(
            "uq_datasets_owner_name_live",
            "owner_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    owner_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(20), default="import")
    status: Mapped[str] = mapped_column(String(20), default="empty", index=True)
    frequency: Mapped[str | None] = mapped_column(String(10))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class DatasetVersion(IdMixin, Base):
    """One immutable stored version of a dataset, with its lineage and summary."""

    __tablename__ = "dataset_versions"

    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    parent_version: Mapped[int | None] = mapped_column(Integer)
    pipeline: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    path: Mapped[str] = mapped_column(String(500))
    symbols_count: Mapped[int] = mapped_column(Integer, default=0)
    start: Mapped[str | None] = mapped_column(String(32))
    end: Mapped[str | None] = mapped_column(String(32))
    frequency: Mapped[str] = mapped_column(String(10), default="day")
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    missing: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    adjustment: Mapped[str] = mapped_column(String(20), default="none")
    units: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("uq_dataset_versions_dataset_version", "dataset_id", "version", unique=True),
    )


class DataImport(IdMixin, TimestampMixin, Base):
    """An import batch: uploaded files, options, its job and its validation report. Its
    status is its job's (``jobs.status``; no copy here, so the two never disagree)."""

    __tablename__ = "data_imports"

    owner_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    dataset_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)


class PreprocessTemplate(IdMixin, TimestampMixin, Base):
    """A saved preprocessing pipeline (at most 20 per user)."""

    __tablename__ = "preprocess_templates"
    __table_args__ = (Index("uq_preprocess_templates_owner_name", "owner_id", "name", unique=True),)

    owner_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    pipeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ChartConfig(IdMixin, TimestampMixin, Base):
    """A user's saved chart layout (overlays, indicator panes, ranges)."""

    __tablename__ = "chart_configs"

    owner_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChartAnnotation(IdMixin, TimestampMixin, Base):
    """A text note pinned to a date (and optionally a price) on a symbol's chart."""

    __tablename__ = "chart_annotations"

    owner_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    symbol: Mapped[str] = mapped_column(String(40))
    date: Mapped[str] = mapped_column(String(32))
    price: Mapped[float | None] = mapped_column()
    text: Mapped[str] = mapped_column(String(500))


class DatasetUniverse(IdMixin, TimestampMixin, Base):
    """A named, dated universe of a dataset: ``members`` are ``{symbol, start, end}`` spans
    (``end`` null: still a member), as Qlib's ``instruments/<market>.txt`` holds them."""

    __tablename__ = "dataset_universes"
    __table_args__ = (
        Index("uq_dataset_universes_dataset_name", "dataset_id", "name", unique=True),
    )

    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(20), default="csv")
    symbols_count: Mapped[int] = mapped_column(Integer, default=0)
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
