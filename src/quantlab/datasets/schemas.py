"""Request and response shapes of the datasets API."""

from __future__ import annotations

from datetime import date, datetime
from datetime import date as Date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from quantlab.platform.envelope import VersionNumber

Tag = Annotated[str, Field(max_length=40, pattern=r"\S", description="not blank")]

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
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    is_public: StrictBool = False

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
    tags: list[Tag] | None = Field(None, max_length=20)
    is_public: StrictBool | None = None

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

    version: VersionNumber | None = None
    symbols: list[str] | None = Field(None, max_length=1000)
    start: date | None = None
    end: date | None = None


class RepairRequest(BaseModel):
    """One-click repairs applied to a version, producing a new version."""

    model_config = ConfigDict(extra="forbid")

    version: VersionNumber | None = None
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


# --- response shapes ---------------------------------------------------------------------

Cell = str | int | float | bool | date | datetime | None
"""One cell of stored data as JSON (dates as ISO text, missing values as null)."""


class DatasetDeleted(BaseModel):
    """A deleted dataset."""

    id: str
    deleted: Literal["soft", "hard"]


class RowsMeta(BaseModel):
    """Pagination of a preview, with the version the rows were read from."""

    total: int
    page: int
    size: int
    version: int


class RowsPage(BaseModel):
    """A page of stored rows (``field → value``)."""

    status: Literal["success"] = "success"
    data: list[dict[str, Cell]]
    meta: RowsMeta


class FieldStats(BaseModel):
    """Statistics of one numeric field (null when there are no values)."""

    count: int
    missing: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    quantiles: dict[str, float | None] | None = Field(description="p1, p25, p50, p75, p99")


class SymbolCoverage(BaseModel):
    """How completely one symbol covers the calendar between its first and last date."""

    symbol: str
    first: str | None
    last: str | None
    rows: int
    expected_rows: int
    coverage: float | None
    missing_cells: int


class DatasetSummary(BaseModel):
    """Per-field statistics and per-symbol coverage of a version."""

    version: int
    rows: int
    symbols: int
    calendar_days: int
    fields: dict[str, FieldStats]
    coverage: list[SymbolCoverage]


class SavedFile(BaseModel):
    """A received upload."""

    name: str
    original_name: str | None
    size_bytes: int


class InspectOut(BaseModel):
    """What inspecting one file found: format, encoding, first rows, types, mapping."""

    file: SavedFile
    format: str
    path: str | None = None
    size_bytes: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    headers: list[str] = Field(default_factory=list)
    rows: list[list[str | None]] = Field(default_factory=list)
    column_types: dict[str, str] = Field(default_factory=dict)
    mapping: dict[str, str]
    layout: str | None = None
    frequency: str | None = None
    problems: list[str]
    units: dict[str, Any] | None = Field(
        None, description="suggested volume/amount multipliers with the reason"
    )
    members: int | None = Field(None, description="zip: data files it holds")
    member_names: list[str] | None = Field(None, description="zip: the first 50 of them")
    inspected_member: str | None = Field(None, description="zip: the file inspected")


class ImportOut(BaseModel):
    """An import: its files, options, job and validation report."""

    id: str
    dataset_id: str | None
    job_id: str | None
    status: str
    files: list[dict[str, Any]]
    options: dict[str, Any]
    report: dict[str, Any] | None
    error: str | None
    version: int | None
    created_at: datetime | None
    updated_at: datetime | None


class ChartConfigOut(BaseModel):
    """A saved chart layout."""

    id: str
    name: str
    config: dict[str, Any] = Field(description="free-form JSON saved by the client")
    created_at: datetime
    updated_at: datetime


class AnnotationOut(BaseModel):
    """A note on a symbol's chart."""

    id: str
    dataset_id: str
    symbol: str
    date: str
    price: float | None
    text: str
    created_at: datetime
    updated_at: datetime


class Candle(BaseModel):
    """One (possibly aggregated) bar."""

    date: datetime | Date | str
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None = None
    amount: float | None = None


class OhlcvOut(BaseModel):
    """Chart data: candles, moving-average overlays and indicator panes, aligned by index."""

    symbol: str
    points: int
    bars: int
    aggregated: bool
    candles: list[Candle]
    overlays: dict[str, list[float | None]]
    panes: dict[str, dict[str, list[float | None]]]


class TemplateOut(BaseModel):
    """A saved preprocessing pipeline."""

    id: str
    name: str
    description: str
    pipeline: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class PipelinePreview(BaseModel):
    """Before/after samples, per-step counts and distributions of a pipeline."""

    version: int
    note: str | None
    rows_before: int
    rows_after: int
    uses_future_information: bool
    steps: list[dict[str, Any]]
    sample: dict[str, Any]
    distributions: dict[str, Any]
