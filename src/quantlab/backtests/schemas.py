"""The backtest request: one versioned JSON schema for a run's configuration and strategy.

Saved strategies, templates and the visual builder store exactly a :class:`BacktestRequest`
(or its ``strategy`` member); ``GET /api/backtests/schema`` serves it as JSON Schema. Bump
:data:`SCHEMA_VERSION` on any change that is not a pure addition of an optional field.

Expressions use the factor language (``Mean($close, 10)``); a value on day ``t`` is a
decision taken at ``t``'s close and filled at ``t + 1``'s open unless ``execution.price``
says otherwise. Reading the future (``Ref($close, -1)``) is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quantlab.engine.backtest.enums import PriceMode, Rebalance, SizingMode, SlippageMode, StopMode

SCHEMA_VERSION = 1
SCHEMA_ID = f"https://quantlab.dev/schemas/backtest-request/v{SCHEMA_VERSION}.json"

Expression = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="factor-language expression, e.g. Cross(Mean($close,10), Mean($close,30))",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sizing(_Strict):
    """How signal entries are sized (signals and code strategies)."""

    mode: SizingMode = Field(SizingMode.EQUAL, description="equal, fixed_fraction, ...")
    fraction: float = Field(0.1, gt=0, le=1, description="fixed_fraction: share of equity")
    amount: float = Field(100_000.0, gt=0, le=1e9, description="fixed_amount: currency")
    vol_target: float = Field(0.15, gt=0, le=5, description="vol_target: annualised")
    vol_window: int = Field(20, ge=2, le=500, description="vol_target: days of returns")
    per_stock_cap: float = Field(0.0, ge=0, le=1, description="max share per position; 0 off")


class SignalsStrategy(_Strict):
    """Enter where ``entry`` is true (non-zero), exit where ``exit`` is true."""

    kind: Literal["signals"]
    entry: Expression
    exit: Expression
    sizing: Sizing = Field(default_factory=Sizing)
    max_holdings: int = Field(0, ge=0, le=10_000, description="0 = unlimited")


class ScoresStrategy(_Strict):
    """Rank ``score`` daily; hold the ``top_k`` best, swapping at most ``n_drop`` per
    rebalance (Qlib's TopkDropout)."""

    kind: Literal["scores"]
    score: Expression
    top_k: int = Field(50, ge=1, le=5_000)
    n_drop: int = Field(5, ge=0, le=5_000)
    rebalance: Rebalance = Rebalance.MONTHLY
    hold_thresh: int = Field(1, ge=1, le=1_000, description="minimum days held before a sell")
    risk_degree: float = Field(0.95, gt=0, le=1, description="share of equity invested")

    @model_validator(mode="after")
    def _drop_within_k(self) -> ScoresStrategy:
        if self.n_drop > self.top_k:
            raise ValueError("n_drop cannot exceed top_k")
        return self


class WeightsStrategy(_Strict):
    """Target weights: an expression per day and instrument, or fixed weights per symbol.

    ``normalize="sum"`` keeps positive values and scales each day's row to sum to 1;
    ``"none"`` uses the values as fractions of equity (NaN = 0).
    """

    kind: Literal["weights"]
    weight: Expression | None = None
    static: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None, description="symbol -> fixed target weight", max_length=5_000
    )
    normalize: Literal["sum", "none"] = "sum"
    rebalance: Rebalance = Rebalance.MONTHLY

    @model_validator(mode="after")
    def _one_source(self) -> WeightsStrategy:
        if (self.weight is None) == (self.static is None):
            raise ValueError("give exactly one of 'weight' (an expression) or 'static'")
        return self


class CodeStrategy(_Strict):
    """Python run in the sandbox (``np`` is bound). Every dataset field is bound as a
    ``(days, symbols)`` float64 array (``close``, ``open``…; NaN = missing) over the traded
    symbols and every loaded day up to ``end``, history before ``start`` included so
    indicators can warm up; ``dates`` holds those days as int days since 1970-01-01.
    Set ``entries`` and ``exits`` (boolean arrays: decisions at each day's close), or
    ``weights`` (target fractions of equity, NaN = 0), or ``scores`` (ranked with
    ``top_k``/``n_drop``), each of the inputs' shape; rows before ``start`` are ignored.
    A wrong name, shape or dtype fails the run with a message that gives both shapes."""

    kind: Literal["code"]
    code: str = Field(min_length=1, max_length=100_000)
    sizing: Sizing = Field(default_factory=Sizing)
    max_holdings: int = Field(0, ge=0, le=10_000)
    top_k: int = Field(50, ge=1, le=5_000)
    n_drop: int = Field(5, ge=0, le=5_000)
    rebalance: Rebalance = Rebalance.MONTHLY


StrategySpec = Annotated[
    SignalsStrategy | ScoresStrategy | WeightsStrategy | CodeStrategy,
    Field(discriminator="kind"),
]


class Costs(_Strict):
    """Overrides of the preset's costs; omitted fields keep the preset's value."""

    commission_rate: float | None = Field(None, ge=0, le=0.05, description="fraction per order")
    commission_min: float | None = Field(None, ge=0, le=10_000, description="currency per order")
    stamp_tax: list[tuple[date, Annotated[float, Field(ge=0, le=0.05)]]] | None = Field(
        None, description="[[from_date, rate], ...] on sells", max_length=50
    )
    slippage: SlippageMode | None = None
    slippage_value: float | None = Field(None, ge=0, le=100)
    tick_size: float | None = Field(None, gt=0, le=100)
    slippage_impact: float | None = Field(None, ge=0, le=100)


class Rules(_Strict):
    """Overrides of the preset's market rules."""

    t_plus_1: bool | None = None
    price_limits: bool | None = None
    limit_main: float | None = Field(None, gt=0, le=1)
    limit_growth: float | None = Field(None, gt=0, le=1)
    limit_st: float | None = Field(None, gt=0, le=1)
    suspension: bool | None = None
    lot_size: float | None = Field(None, ge=0, le=1_000_000)
    min_volume_lots: float | None = Field(None, ge=0)
    volume_cap: float | None = Field(None, ge=0, le=1)
    exclude_st: bool | None = None
    exclude_new: bool | None = None


class Execution(_Strict):
    """Fill price and protective exits."""

    price: PriceMode | None = None
    stop_loss: StopMode | None = None
    stop_loss_value: float | None = Field(None, ge=0, le=100)
    take_profit: StopMode | None = None
    take_profit_value: float | None = Field(None, ge=0, le=100)
    atr_window: int | None = Field(None, ge=1, le=500)


class WalkForward(_Strict):
    """Rolling windows over the simulated days, each an in-sample span followed by an
    out-of-sample one; windows step by the out-of-sample length and together end on the
    last day. Each window is one child run; its Sharpe on either side of the split feeds
    the walk-forward efficiency (mean out-of-sample over mean in-sample Sharpe)."""

    windows: int = Field(4, ge=2, le=12)
    in_sample: float = Field(0.7, ge=0.5, le=0.9, description="share of a window in sample")


class Robustness(_Strict):
    """Opt-in overfitting checks, run after this backtest completes as child
    ``backtests.run`` jobs of the same owner (listed in ``/api/tasks`` and under
    ``robustness`` in ``GET /api/backtests/{id}``). When the last child ends, its findings
    join ``/diagnostics``.

    ``sensitivity`` moves each numeric parameter by ±10 % (integers by at least one step):
    window-like operator parameters (``Mean($close, 10)``; equal values move together),
    ``top_k`` and ``n_drop`` of a scores strategy, and stop-loss / take-profit levels; at
    most 8 parameters (16 children). Constants such as the ``1`` in ``$a / $b - 1`` stay."""

    sensitivity: bool = False
    walk_forward: WalkForward | None = None


class BacktestRequest(_Strict):
    """A backtest run: data, dates, capital, market model and strategy."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"$id": SCHEMA_ID, "x-schema-version": SCHEMA_VERSION},
    )

    schema_version: Literal[1] = Field(1, description="version of this schema")
    name: str = Field("", max_length=120)
    dataset_id: str = Field(min_length=1, max_length=32)
    dataset_version: int | None = Field(None, ge=1, description="default: latest (pinned)")
    universe: Literal["all"] | Annotated[list[str], Field(min_length=1, max_length=5_000)] = "all"
    start: date | None = Field(None, description="first simulated day; default: data start")
    end: date | None = Field(None, description="last simulated day; default: data end")
    initial_capital: float = Field(100_000.0, ge=10_000, le=10_000_000)
    preset: Literal["cn_a_share", "us_equity", "rules_off"] = "cn_a_share"
    costs: Costs = Field(default_factory=Costs)
    rules: Rules = Field(default_factory=Rules)
    execution: Execution = Field(default_factory=Execution)
    benchmark: str | None = Field(None, max_length=40, description="a symbol of the dataset")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the bootstrap diagnostics")
    strategy: StrategySpec
    robustness: Robustness | None = Field(None, description="opt-in child runs; see Robustness")


def request_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`BacktestRequest` (what ``/api/backtests/schema`` serves)."""
    schema = BacktestRequest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


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
    created_at: Any
    updated_at: Any
