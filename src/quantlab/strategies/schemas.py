"""Request and response shapes of the strategy library."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from quantlab.engine.library import Constraint, ParamSpec
from quantlab.engine.spec import MAX_CAPITAL, MIN_CAPITAL, PresetName
from quantlab.platform.envelope import JsonInt

Name = Annotated[str, Field(min_length=1, max_length=120)]
Tag = Annotated[str, Field(min_length=1, max_length=40)]
ParamValues = Annotated[
    dict[str, StrictFloat], Field(max_length=50, description="parameter name -> value")
]
Category = Literal["trend", "mean_reversion", "multi_factor", "rotation"]
Market = Literal["any", "cn", "us"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyCreate(_Strict):
    """A strategy from scratch: a run-spec body (``strategy`` and optional ``parameters``,
    ``preset``, ``costs``, ``rules``, ``execution``, ``universe``, ``benchmark``) and
    optionally a parameter schema with linked constraints."""

    name: Name
    description: str = Field("", max_length=4000)
    notes: str = Field("", max_length=20_000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    category: Category | None = None
    body: dict[str, Any] = Field(description="run-spec body without dataset, dates, capital")
    param_schema: list[ParamSpec] = Field(default_factory=list, max_length=50)
    constraints: list[Constraint] = Field(default_factory=list, max_length=50)


class FromTemplate(_Strict):
    """A saved strategy from a template, with parameter overrides (checked)."""

    name: Name | None = Field(None, description="default: the template's name")
    parameters: ParamValues = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    notes: str = Field("", max_length=20_000)


class StrategyUpdate(_Strict):
    """Rename, describe, tag, or save a changed spec as a new version (with a message)."""

    name: Name | None = None
    description: str | None = Field(None, max_length=4000)
    notes: str | None = Field(None, max_length=20_000)
    tags: list[Tag] | None = Field(None, max_length=20)
    category: Category | None = None
    body: dict[str, Any] | None = None
    parameters: ParamValues | None = Field(None, description="new values for the schema")
    param_schema: list[ParamSpec] | None = Field(None, max_length=50)
    constraints: list[Constraint] | None = Field(None, max_length=50)
    message: str = Field("", max_length=500, description="what changed (for the version)")


class CopyBody(_Strict):
    name: Name | None = None


class RestoreBody(_Strict):
    message: str = Field("", max_length=500)


class RatingBody(_Strict):
    stars: JsonInt = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class RunBody(_Strict):
    """A backtest of the strategy (or one of its versions) on a dataset."""

    dataset_id: str = Field(min_length=1, max_length=32)
    dataset_version: JsonInt | None = Field(None, ge=1)
    version: JsonInt | None = Field(None, ge=1, description="strategy version; default: current")
    start: date | None = None
    end: date | None = None
    initial_capital: StrictFloat | None = Field(None, ge=MIN_CAPITAL, le=MAX_CAPITAL)
    universe: (
        Literal["all"] | Annotated[list[str], Field(min_length=1, max_length=5_000)] | None
    ) = None
    benchmark: str | None = Field(None, max_length=40)
    preset: PresetName | None = None
    parameters: ParamValues = Field(default_factory=dict, description="overrides for this run")
    name: str | None = Field(None, max_length=120)


class ExampleRequest(_Strict):
    dataset_id: str = Field(min_length=1, max_length=32)


class Problem(BaseModel):
    path: str
    message: str
    suggestion: str


class ValidationReport(BaseModel):
    valid: bool
    problems: list[Problem]
    description: dict[str, str] | None = None


class ExampleOut(BaseModel):
    dataset_id: str
    dataset_version: int
    strategy_version: int
    engine_version: str
    status: Literal["pending", "running", "completed", "failed", "stale"]
    job_id: str | None
    computed_at: datetime | None
    error: str | None
    start: str | None = None
    end: str | None = None
    metrics: dict[str, float | None] | None = None
    curve: list[tuple[str, float]] | None = None
    benchmark_curve: list[tuple[str, float]] | None = None


class RatingSummary(BaseModel):
    average: float | None
    count: int
    mine: int | None = None


class StrategyOut(BaseModel):
    """A strategy or template as listed."""

    id: str
    name: str
    description: str
    texts: dict[str, Any]
    tags: list[str]
    category: str | None
    market: str
    is_template: bool
    is_system: bool
    is_public: bool
    hidden: bool
    owner_id: str | None
    source_id: str | None
    template_key: str | None
    version: int
    usage_count: int
    favourite: bool
    rating: RatingSummary
    requires_fields: list[str]
    human: dict[str, str] = Field(description="the spec in plain words, zh-CN and en")
    created_at: datetime
    updated_at: datetime


class StrategyDetail(StrategyOut):
    notes: str
    body: dict[str, Any]
    param_schema: list[ParamSpec]
    constraints: list[Constraint]
    parameters: dict[str, float]
    examples: list[ExampleOut] = Field(default_factory=list)


class VersionOut(BaseModel):
    version: int
    message: str
    author_id: str | None
    created_at: datetime
    current: bool


class VersionDetail(VersionOut):
    body: dict[str, Any]
    param_schema: list[ParamSpec]
    constraints: list[Constraint]


class Change(BaseModel):
    path: str
    kind: Literal["parameter", "expression", "setting", "schema"]
    old: Any = None
    new: Any = None


class VersionDiff(BaseModel):
    strategy_id: str
    from_version: int
    to_version: int
    changes: list[Change]


class RatingOut(BaseModel):
    user_id: str
    stars: int
    comment: str
    updated_at: datetime


class RunStarted(BaseModel):
    id: str
    job_id: str
    status: str
    name: str
    strategy_id: str
    strategy_version: int


class FavouriteOut(BaseModel):
    id: str
    favourite: bool
