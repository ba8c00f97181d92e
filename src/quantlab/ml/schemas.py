"""Requests and responses of ``/api/models``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quantlab.engine.ml.dataset import DEFAULT_LABEL
from quantlab.factors.schemas import NAME_PATTERN

ModelName = Literal["lightgbm", "linear", "ridge", "lasso", "mlp"]
Span = tuple[date, date]


class SegmentsIn(BaseModel):
    """Inclusive train / valid / test date spans (valid may be left out)."""

    model_config = ConfigDict(extra="forbid")
    train: Span
    valid: Span | None = None
    test: Span


class ProcessorIn(BaseModel):
    """A processor by name with its options (``RobustZScoreNorm``: ``clip``; ``Fillna``:
    ``value``)."""

    model_config = ConfigDict(extra="allow")
    name: Literal["DropnaLabel", "CSZScoreNorm", "CSRankNorm", "RobustZScoreNorm", "Fillna"]


class BacktestIn(BaseModel):
    """Top-k dropout backtest of the test-span predictions (Qlib's workflow exchange)."""

    model_config = ConfigDict(extra="forbid")
    topk: int = Field(50, ge=1, le=1000)
    n_drop: int = Field(5, ge=0, le=1000)
    benchmark: str | None = Field(None, max_length=40)


class ModelRunRequest(BaseModel):
    """A model run: data, universe, features, label, segments, processors, model, seed."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=120)
    dataset_id: str = Field(min_length=1, max_length=32)
    dataset_version: int | None = Field(None, ge=1)
    universe: Literal["all"] | list[str] = "all"
    dated_universe: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="a dated universe of the dataset (e.g. csi300): a symbol is in the "
        "cross-section (training, scores, the backtest's buys) only on days it was a "
        "member; universe must then be all",
    )
    features: Literal["Alpha158", "Alpha360"] | list[str] = "Alpha158"
    label: str = Field(DEFAULT_LABEL, max_length=2000)
    segments: SegmentsIn
    rolling_step: int = Field(0, ge=0, le=10_000)
    rolling_expanding: bool = False
    processors: list[ProcessorIn] = Field(
        default_factory=lambda: [ProcessorIn(name="DropnaLabel"), ProcessorIn(name="CSZScoreNorm")]
    )
    model: ModelName = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    threads: int = Field(1, ge=1, le=16)
    min_train_rows: int = Field(100, ge=1)
    backtest: BacktestIn | None = None

    @model_validator(mode="after")
    def _one_universe(self) -> ModelRunRequest:
        if self.dated_universe is not None and self.universe != "all":
            raise ValueError("give a symbol list (universe) or a dated_universe, not both")
        return self

    @field_validator("features")
    @classmethod
    def _some_features(cls, v: Any) -> Any:
        if isinstance(v, list) and not 1 <= len(v) <= 500:
            raise ValueError("give between 1 and 500 feature expressions")
        return v


class ModelRunOut(BaseModel):
    """A model run as listed."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    status: str
    dataset_id: str
    dataset_version: int
    model: str
    seed: int
    job_id: str | None
    summary: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ModelRunDetail(ModelRunOut):
    """One run with its request and reproducibility facts."""

    request: dict[str, Any]
    engine_version: str


class ModelRunStarted(BaseModel):
    """The accepted run and its job."""

    id: str
    job_id: str
    status: str


class Importance(BaseModel):
    """Per-feature importance by kind (``gain``/``split`` for LightGBM, ``coef`` for linear
    models), one entry per training window."""

    features: list[str]
    windows: list[dict[str, list[float]]]


class LearningCurve(BaseModel):
    """Loss per boosting round (or epoch) on train and valid, per window; best rounds."""

    windows: list[dict[str, list[float]]]
    best_rounds: list[int]


class SignalOut(BaseModel):
    """IC, ICIR, Rank IC and Rank ICIR of the test-span predictions, with daily series."""

    ic: float | None
    icir: float | None
    rank_ic: float | None
    rank_icir: float | None
    n_days: int
    dates: list[str]
    daily_ic: list[float | None]
    daily_rank_ic: list[float | None]


class PredictionsOut(BaseModel):
    """The score panel over the test span: ``values[d][i]`` for ``dates[d]``,
    ``instruments[i]`` (None where there is no prediction)."""

    dates: list[str]
    instruments: list[str]
    values: list[list[float | None]]


class BacktestOut(BaseModel):
    """Risk analysis of the top-k dropout backtest of the predictions."""

    annualized_excess_return_with_cost: float | None
    annualized_excess_return_without_cost: float | None
    information_ratio_with_cost: float | None
    information_ratio_without_cost: float | None
    max_drawdown_with_cost: float | None
    max_drawdown_without_cost: float | None
    n_trades: int
    costs_paid: float
    initial_capital: float | None = Field(
        None, description="the account traded (Qlib's workflow: 100,000,000); null for older runs"
    )


class CompareRequest(BaseModel):
    """Runs to put side by side."""

    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=2, max_length=10)


class CompareRow(BaseModel):
    """One run's headline figures."""

    id: str
    name: str
    model: str
    status: str
    signal: dict[str, Any] | None
    backtest: dict[str, Any] | None
    best_rounds: list[int] | None


class ModelFactorIn(BaseModel):
    """Save a run's predictions as a factor of your library."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="the factor's name (letters, digits, _)")
    description: str = Field("", max_length=2000)
