"""Request and response shapes of the datasets API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["import", "demo", "preprocess", "qlib", "repair"]
Status = Literal["empty", "importing", "ready", "failed", "deleted"]


def _clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            raise ValueError("tags must not be blank")
        if tag not in out:
            out.append(tag)
    return out


class DatasetCreate(BaseModel):
    """A new, empty dataset (data arrives through an import)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"\S")
    description: str = Field("", max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    is_public: bool = False

    _tags = field_validator("tags")(_clean_tags)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        return value.strip()


class DatasetUpdate(BaseModel):
    """A partial update: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120, pattern=r"\S")
    description: str | None = Field(None, max_length=5000)
    tags: list[str] | None = Field(None, max_length=20)
    is_public: bool | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str | None) -> str | None:
        return None if value is None else value.strip()


class DatasetOut(BaseModel):
    """A dataset as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    owner_id: str
    name: str
    description: str
    tags: list[str]
    source: str
    status: str
    frequency: str | None
    is_public: bool
    latest_version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class VersionOut(BaseModel):
    """One stored version's metadata and lineage."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    parent_version: int | None
    pipeline: list[dict[str, Any]] | None
    symbols_count: int
    start: str | None
    end: str | None
    frequency: str
    fields: list[str]
    rows: int
    missing: dict[str, int]
    adjustment: str
    units: dict[str, Any]
    size_bytes: int
    checksum: str
    note: str
    created_at: datetime


class RowFilter(BaseModel):
    """Which stored rows to read (preview, export, charts)."""

    version: int | None = Field(None, ge=1)
    symbols: list[str] | None = Field(None, max_length=1000)
    start: date | None = None
    end: date | None = None


class RepairRequest(BaseModel):
    """One-click repairs applied to a version, producing a new version."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, ge=1)
    actions: list[Literal["drop_duplicates", "drop_invalid_rows", "mark_gaps_suspended"]] = Field(
        min_length=1, max_length=3
    )


class UniverseMember(BaseModel):
    """One membership span; ``end`` null means still a member."""

    symbol: str
    start: str
    end: str | None


class UniverseSummary(BaseModel):
    """A dated universe of a dataset, without its members."""

    name: str
    source: str
    symbols_count: int
    spans: int
    first_start: str | None
    last_end: str | None
    open_spans: int
    updated_at: datetime


class UniverseOut(UniverseSummary):
    """A dated universe with every membership span."""

    members: list[UniverseMember]
