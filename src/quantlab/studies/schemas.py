"""Requests and responses of ``/api/studies``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, model_validator

from quantlab.engine.library import Constraint
from quantlab.engine.spec import MAX_CAPITAL, MIN_CAPITAL, PresetName, RunSpec
from quantlab.platform.envelope import JsonInt

Method = Literal["grid", "random", "tpe", "multi_objective"]
MAX_TRIALS = 100_000  # random / TPE trials one study may ask for


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RangeIn(_Strict):
    """One searched parameter: ``min``/``max`` with an optional ``step`` and ``log`` scale,
    or explicit ``choices``. For a raw spec, ``target`` is a JSON pointer into the spec
    (``/strategy/top_k``); unset, the name is one of the spec's ``parameters``."""

    min: StrictFloat | None = None
    max: StrictFloat | None = None
    step: StrictFloat | None = None
    log: StrictBool = False
    choices: list[StrictFloat] | None = Field(None, max_length=10_000)
    type: Literal["int", "float"] | None = Field(
        None, description="raw spec only; default: int when whole"
    )
    target: str | None = Field(None, pattern=r"^(/[A-Za-z_][A-Za-z0-9_]*)+$")


class ObjectiveIn(_Strict):
    """A metric (``sharpe``, ``sortino``, ``calmar``, ``annual_return``, ``max_drawdown``,
    ``turnover`` or any scalar registered metric), or a weighted sum (``weights``)."""

    metric: str | None = Field(None, max_length=60)
    weights: dict[str, StrictFloat] | None = Field(None, max_length=10)
    direction: Literal["maximize", "minimize"] | None = None


class BoundIn(_Strict):
    """A metric constraint, e.g. ``{"metric": "max_drawdown", "op": ">=", "value": -0.2}``."""

    metric: str = Field(max_length=60)
    op: Literal[">=", ">", "<=", "<"] = ">="
    value: StrictFloat


class WalkForwardIn(_Strict):
    """Walk-forward optimisation after the search: rolling (or ``anchored``) windows of
    ``train_days`` in sample and ``test_days`` out of sample."""

    train_days: JsonInt = Field(ge=20, le=10_000)
    test_days: JsonInt = Field(ge=5, le=10_000)
    anchored: StrictBool = False
    max_windows: JsonInt = Field(24, ge=1, le=60)


class EarlyStoppingIn(_Strict):
    """Early stopping of hopeless TPE trials (single objective): each trial first runs on
    the first ``fraction`` of the period; those whose objective there falls below the
    ``percentile``-th percentile of the completed trials' (after ``n_startup_trials``) are
    pruned: stored with state ``pruned`` and their prefix metrics, never run in full."""

    fraction: StrictFloat = Field(0.33, gt=0.05, lt=0.95)
    percentile: StrictFloat = Field(25.0, gt=0.0, lt=100.0, description="kept: above it")
    n_startup_trials: JsonInt = Field(20, ge=1, le=10_000)


class StudyCreate(_Strict):
    """A study of a saved strategy (``strategy_id``), a system template (``template``) or a
    raw run spec (``spec``): the space (``parameters``), objectives, constraints, method."""

    name: str = Field("", max_length=120)
    strategy_id: str | None = Field(None, min_length=1, max_length=32)
    strategy_version: JsonInt | None = Field(None, ge=1)
    template: str | None = Field(None, max_length=60, description="a system template's key")
    spec: RunSpec | None = None
    dataset_id: str | None = Field(None, min_length=1, max_length=32)
    dataset_version: JsonInt | None = Field(None, ge=1)
    start: date | None = None
    end: date | None = None
    initial_capital: StrictFloat | None = Field(None, ge=MIN_CAPITAL, le=MAX_CAPITAL)
    universe: (
        Literal["all"] | Annotated[list[str], Field(min_length=1, max_length=5_000)] | None
    ) = None
    benchmark: str | None = Field(None, max_length=40)
    preset: PresetName | None = None
    parameters: dict[str, RangeIn] = Field(
        default_factory=dict,
        max_length=20,
        description="searched parameters; default (strategy/template): every parameter",
    )
    linked: list[Constraint] = Field(
        default_factory=list, max_length=20, description="linked constraints such as fast < slow"
    )
    objectives: list[str | ObjectiveIn] = Field(
        default_factory=lambda: list[str | ObjectiveIn](["sharpe"]), min_length=1, max_length=4
    )
    constraints: list[BoundIn] = Field(default_factory=list, max_length=10)
    method: Method = "grid"
    n_trials: JsonInt | None = Field(None, ge=1, le=MAX_TRIALS, description="random / TPE")
    seed: JsonInt = Field(0, ge=0, le=2**31 - 1)
    chunk_size: JsonInt = Field(
        128, ge=1, le=1_000,
        description="trials per engine batch (one run_batch call; a TPE study asks at most "
        "32 at a time)",
    )  # fmt: skip
    run_as: Literal["auto", "in_process", "jobs"] = Field(
        "auto", description="auto: fan out to child jobs when the study is large"
    )
    workers: JsonInt = Field(2, ge=1, le=32, description="child jobs when fanning out")
    keep_returns: StrictBool = Field(True, description="store daily returns for PBO / DSR")
    walk_forward: WalkForwardIn | None = None
    early_stopping: EarlyStoppingIn | None = Field(
        None, description="TPE with one objective: prune hopeless trials on a time prefix"
    )

    @model_validator(mode="after")
    def _one_source(self) -> StudyCreate:
        given = [n for n in ("strategy_id", "template", "spec") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of strategy_id, template or spec")
        if self.spec is None and self.dataset_id is None:
            raise ValueError("dataset_id is required with a strategy or template")
        return self


class StudyStarted(BaseModel):
    id: str
    job_id: str
    status: str
    n_trials: int


class StudyOut(BaseModel):
    """A study as listed."""

    id: str
    name: str
    status: str
    method: str
    n_trials: int
    seed: int
    dataset_id: str
    dataset_version: int
    strategy_id: str | None
    strategy_version: int | None
    template_key: str | None
    job_id: str | None
    summary: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StudyDetail(StudyOut):
    """A study with what reproduces it and its live progress."""

    spec: dict[str, Any]
    space: dict[str, Any]
    objectives: list[Any]
    constraints: list[dict[str, Any]]
    chunk_size: int
    walk_forward: dict[str, Any] | None
    early_stopping: dict[str, Any] | None = None
    engine_version: str
    progress: dict[str, Any]


class TrialOut(BaseModel):
    number: int
    params: dict[str, Any]
    values: list[float | None]
    feasible: bool
    metrics: dict[str, Any]
    seconds: float
    state: Literal["complete", "pruned"] = Field(
        "complete", description="pruned: stopped early; values and metrics of the prefix"
    )


class Heatmap(BaseModel):
    x_param: str
    y_param: str
    objective: int
    x: list[float]
    y: list[float]
    z: list[list[float | None]]


class Sensitivity(BaseModel):
    param: str
    objective: int
    values: list[float]
    best: list[float | None]
    mean: list[float | None]
    count: list[float]


class Importance(BaseModel):
    method: str
    objective: int
    importances: dict[str, float]


class OverfitReport(BaseModel):
    n_trials: int
    n_obs: int
    pbo: float | None
    n_splits: int | None
    logits: dict[str, Any] | None
    degradation: dict[str, Any] | None
    dsr: dict[str, Any]
    best_trial: int
    findings: list[dict[str, Any]]


class WindowOut(BaseModel):
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    params: dict[str, Any] | None
    in_sample: float | None
    out_of_sample: float | None


class WalkForwardOut(BaseModel):
    windows: list[WindowOut]
    dates: list[str]
    equity: list[float]
    metrics: dict[str, Any]
    stability: dict[str, dict[str, float | None]]


class ApplyBestIn(_Strict):
    message: str = Field("", max_length=500)
    trial: JsonInt | None = Field(None, ge=0, description="default: the best feasible trial")
    run: StrictBool = Field(
        False, description="also start a backtest of the new version, linked to the study"
    )


class ApplyBestOut(BaseModel):
    strategy_id: str
    version: int
    trial: int
    parameters: dict[str, Any]
    backtest_id: str | None = None
    job_id: str | None = None


class TrialBacktestIn(_Strict):
    trial: JsonInt | None = Field(None, ge=0, description="default: the best feasible trial")
    name: str | None = Field(None, max_length=120)


class TrialBacktestOut(BaseModel):
    """A backtest started from a study's trial: it records the study and trial, and the
    study's overfitting findings join its diagnostics."""

    backtest_id: str
    job_id: str
    status: str
    study_id: str
    trial: int
    parameters: dict[str, Any]
