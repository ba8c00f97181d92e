"""Request and response bodies of the builder routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantlab.engine.builder import Graph
from quantlab.engine.spec import MAX_CAPITAL, MIN_CAPITAL

Period = Literal["1M", "3M", "6M", "1Y"]
PERIOD_DAYS: dict[str, int] = {"1M": 31, "3M": 92, "6M": 183, "1Y": 366}
Symbol = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GraphBody(_Strict):
    """A graph to check, compile or translate."""

    graph: Graph


class IssueOut(BaseModel):
    """One problem of a graph, with the node/edge it concerns and a suggested fix."""

    code: str
    message: str
    fix: str
    node_id: str | None = None
    edge_id: str | None = None
    port: str | None = None
    param: str | None = None
    severity: Literal["error", "warning"]


class ValidationOut(BaseModel):
    """Whether the graph compiles, and every issue found."""

    valid: bool
    issues: list[IssueOut]


class CompiledOut(BaseModel):
    """The compiled run-spec body (no dataset or dates), its expressions and the blocks that
    feed several others (computed once)."""

    body: dict[str, Any]
    expressions: dict[str, str]
    shared: list[str]
    warnings: list[IssueOut]


class PythonOut(BaseModel):
    """Generated Python and the code strategy to run it (``strategy`` is a CodeStrategy;
    ``indicators`` goes in the same spec, so the run gives the code those inputs)."""

    code: str
    strategy: dict[str, Any]
    indicators: dict[str, Any] = Field(default_factory=dict)


class FromSpecBody(_Strict):
    """A run spec (or a strategy body without data) to open as a graph."""

    spec: dict[str, Any] = Field(description="a RunSpec; dataset_id may be omitted")


class FromSpecOut(BaseModel):
    """The graph of a spec and the spec sections the graph does not carry."""

    graph: Graph
    dropped: list[str]


class StrategyGraphOut(BaseModel):
    """A strategy version opened in the builder: the graph it was saved from (``saved``,
    exactly as drawn) or, for a strategy not drawn in the builder, its spec's graph."""

    strategy_id: str
    strategy_version: int
    source: Literal["saved", "spec"]
    graph: Graph
    dropped: list[str]


class QlibOut(BaseModel):
    """The Qlib workflow (YAML text and data), or why the graph has none."""

    supported: bool
    reason: str | None
    yaml: str | None
    config: dict[str, Any] | None


class QlibBody(GraphBody):
    market: str = Field("csi300", pattern=r"^[A-Za-z0-9_]{1,40}$")
    benchmark: str = Field("SH000300", pattern=r"^[A-Za-z0-9_.]{1,40}$")
    start: date = date(2017, 1, 1)
    end: date = date(2020, 8, 1)


class DescriptionOut(BaseModel):
    zh: str = Field(alias="zh-CN")
    en: str

    model_config = ConfigDict(populate_by_name=True)


class CatalogOut(BaseModel):
    """Every node type, and the caller's saved expression factors (``factor`` blocks)."""

    version: int
    node_types: list[dict[str, Any]]
    factors: list[dict[str, Any]]


# --- drafts ---------------------------------------------------------------------------------


class DraftCreate(_Strict):
    name: str = Field("untitled", min_length=1, max_length=120)
    graph: Graph | None = Field(None, description="default: an empty graph")


class DraftSave(_Strict):
    """An autosave: the graph and the version it was edited from (stale -> 409)."""

    graph: Graph
    version: int = Field(ge=1, strict=True, description="the draft version this edit started from")
    name: str | None = Field(None, min_length=1, max_length=120)


class QuickTestResult(BaseModel):
    """What a draft keeps of one quick test (``builder.quick_test``)."""

    job_id: str
    start: str | None = Field(None, description="first day of the run")
    end: str | None = Field(None, description="last day of the run")
    metrics: dict[str, Any] = Field(default_factory=dict, description="the run's metrics")
    summary: dict[str, Any] = Field(default_factory=dict, description="headline figures")
    trades: int = Field(0, description="number of fills")
    curve: list[tuple[str, float | None]] = Field(
        default_factory=list, description="equity, at most 120 [date, value] points"
    )
    warnings: list[Any] = Field(default_factory=list)
    finished_at: str | None = None


class DraftOut(BaseModel):
    id: str
    name: str
    version: int
    graph: dict[str, Any]
    strategy_id: str | None
    expires_at: datetime | None
    last_job_id: str | None
    last_result: QuickTestResult | None
    results: list[QuickTestResult] = Field(
        default_factory=list, description="the last quick-test results, newest first"
    )
    created_at: datetime
    updated_at: datetime


class DraftSummary(BaseModel):
    id: str
    name: str
    version: int
    strategy_id: str | None
    expires_at: datetime | None
    updated_at: datetime


class SnapshotCreate(_Strict):
    message: str = Field("", max_length=500)


class SnapshotOut(BaseModel):
    id: str
    draft_id: str
    draft_version: int
    message: str
    created_at: datetime


class SaveAsStrategy(_Strict):
    """Save the draft's graph as a strategy (a new version when it was saved before)."""

    name: str | None = Field(None, min_length=1, max_length=120)
    description: str = Field("", max_length=4000)
    message: str = Field("", max_length=500, description="what changed (for the version)")


class SavedOut(BaseModel):
    strategy_id: str
    strategy_version: int
    draft: DraftOut


# --- preview and quick test -----------------------------------------------------------------


class PreviewBody(_Strict):
    """Evaluate one block on a sample of the data."""

    graph: Graph
    node_id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
    port: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    dataset_id: str = Field(min_length=1, max_length=32)
    symbols: list[Symbol] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="default: every instrument (statistics over all of them)",
    )
    start: date | None = None
    end: date | None = None
    series_symbols: int = Field(
        5, ge=1, le=20, strict=True, description="symbols whose series are returned"
    )


class SeriesStats(BaseModel):
    nan_share: float
    min: float | None
    max: float | None
    mean: float | None


class PreviewOut(BaseModel):
    node_id: str
    port: str
    expression: str | None
    dates: list[str]
    series: dict[str, list[float | None]]
    stats: SeriesStats
    per_symbol: dict[str, SeriesStats]


class QuickTestBody(_Strict):
    dataset_id: str = Field(min_length=1, max_length=32)
    period: Period = "1Y"
    universe: Literal["all"] | list[Symbol] = Field("all")
    initial_capital: float = Field(1_000_000.0, ge=MIN_CAPITAL, le=MAX_CAPITAL, strict=True)
    end: date | None = Field(None, description="last day; default: the data's last day")


class QuickTestStarted(BaseModel):
    draft_id: str
    job_id: str
    spec: dict[str, Any]
