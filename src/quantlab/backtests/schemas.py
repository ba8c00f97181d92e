"""Backtest API shapes. The request is the engine's run spec
(:class:`quantlab.engine.spec.RunSpec`, served as JSON Schema by ``GET /api/backtests/schema``);
this module adds the response models of the backtest routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantlab.engine.spec import (
    SCHEMA_VERSION,
    CodeStrategy,
    Costs,
    Execution,
    Robustness,
    Rules,
    RunSpec,
    ScoresStrategy,
    SignalsStrategy,
    Sizing,
    WalkForward,
    WeightsStrategy,
    spec_schema,
)
from quantlab.platform.envelope import PageMeta

BacktestRequest = RunSpec  # what POST /api/backtests takes: the run spec itself
request_schema = spec_schema

__all__ = [
    "SCHEMA_VERSION",
    "BacktestRequest",
    "CodeStrategy",
    "Costs",
    "Execution",
    "Robustness",
    "Rules",
    "ScoresStrategy",
    "SignalsStrategy",
    "Sizing",
    "WalkForward",
    "WeightsStrategy",
    "request_schema",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompareRequest(_Strict):
    """Several of your runs to overlay."""

    ids: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=2, max_length=10
    )


class BacktestOut(BaseModel):
    """A backtest as listed: identity, status and summary metrics."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    status: str
    dataset_id: str
    dataset_version: int
    job_id: str | None
    strategy_kind: str
    incomplete: bool
    days_run: int | None
    n_days: int | None
    final_equity: float | None
    summary: dict[str, Any] | None
    error: str | None
    rerun_of: str | None
    strategy_id: str | None = None
    strategy_version: int | None = None
    created_at: Any
    updated_at: Any


# --- responses ------------------------------------------------------------------------------

Number = float | None


class BacktestStarted(BaseModel):
    """A run accepted: its id, its job, and where its live events stream."""

    id: str
    job_id: str
    status: str
    name: str
    ws: str


class JobProgress(BaseModel):
    """The run's job as the backtest shows it."""

    id: str
    status: str
    progress: float
    stage: str | None
    current: str | None
    eta_seconds: float | None
    running_metrics: dict[str, Any] | None
    error: str | None


class Reproducibility(BaseModel):
    """What reproduces the run exactly."""

    dataset_id: str
    dataset_version: int
    engine_version: str
    seed: int
    schema_version: int | None


class RobustnessChild(BaseModel):
    """One robustness variant (a child run, or an in-process run without an id)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    job_id: str | None = None
    status: str
    variant: dict[str, Any] | None = None


class RobustnessView(BaseModel):
    """The requested checks and each variant's state; ``complete`` once findings are in."""

    requested: dict[str, Any]
    complete: bool
    children: list[RobustnessChild]


class BacktestDetail(BacktestOut):
    """One backtest: the stored (resolved) spec, job progress, reproducibility, metrics."""

    request: dict[str, Any]
    reproducibility: Reproducibility
    job: JobProgress | None
    metrics: dict[str, Any] | None
    parent_id: str | None
    variant: dict[str, Any] | None
    robustness: RobustnessView | None


class EquityPoint(BaseModel):
    date: str
    equity: Number
    cash: Number
    benchmark: Number
    nav: Number
    benchmark_nav: Number


class EquityView(BaseModel):
    """Daily equity, cash and benchmark, also as NAV (1.0 = the initial capital)."""

    initial_capital: float
    benchmark_symbol: str | None
    incomplete: bool
    points: list[EquityPoint]


class DrawdownPoint(BaseModel):
    date: str
    drawdown: Number


class DrawdownView(BaseModel):
    """The daily drawdown series and the maximum drawdown's dates."""

    max_drawdown: Number
    details: dict[str, Any] | None
    points: list[DrawdownPoint]


class MonthlyView(BaseModel):
    """Year → 12 monthly returns (null where no day), and each year's compounded return."""

    table: dict[str, list[Number]]
    yearly: dict[str, Number]


class TradeOut(BaseModel):
    seq: int
    date: str
    symbol: str
    side: Literal["BUY", "SELL"]
    price: Number = Field(description="Fill price actually traded (raw, unadjusted)")
    adjusted_price: Number | None = Field(
        default=None,
        description="The fill on the dataset's adjusted basis (price x adjustment factor); "
        "null when the data's prices are the traded ones",
    )
    quantity: Number = Field(description="Shares traded (raw shares)")
    commission: Number
    tax: Number
    slippage: Number
    pnl: Number
    holding_days: int


class RejectedOut(BaseModel):
    date: str
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: Number
    reason: str


class RejectedMeta(PageMeta):
    by_reason: dict[str, int]


class RejectedPage(BaseModel):
    """A page of refused orders with each reason's count over the whole run."""

    status: Literal["success"] = "success"
    data: list[RejectedOut]
    meta: RejectedMeta


class PositionItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    symbol: str | None = None
    industry: str | None = None
    quantity: float | None = None
    value: float
    weight: float | None
    count: int | None = None


class PositionsView(BaseModel):
    """Holdings at one close, by symbol or by industry."""

    date: str | None
    group_by: str
    equity: float | None = None
    cash: float | None = None
    industry_known: bool | None = None
    items: list[PositionItem]


class FindingOut(BaseModel):
    """A diagnostic finding: severity, numeric evidence, suggestion."""

    diagnostic: str
    severity: str
    title: str
    evidence: dict[str, Any]
    suggestion: str


class CompareRun(BaseModel):
    id: str
    name: str
    incomplete: bool
    dates: list[str]
    nav: list[Number]


class CompareRow(BaseModel):
    metric: str
    values: dict[str, Any]


class CompareView(BaseModel):
    """NAV overlays and scalar metrics side by side."""

    runs: list[CompareRun]
    metrics: list[CompareRow]


class LogLine(BaseModel):
    ts: datetime
    level: str
    message: str


class CatalogItem(BaseModel):
    """An entry of the metric or diagnostic registry."""

    model_config = ConfigDict(extra="allow")

    name: str
