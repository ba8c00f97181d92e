"""The run spec: a strategy spec plus its run configuration, one pydantic tree.

:class:`RunSpec` is what saved strategies, templates, the visual builder, the optimiser and
``POST /api/backtests`` store and send; ``GET /api/backtests/schema`` serves its JSON Schema
(:func:`spec_schema`). It is the single source of every default: the engine's
:class:`~quantlab.engine.backtest.config.BacktestConfig` dataclasses take their defaults
from :data:`COSTS_DEFAULTS` … below, and the presets are override tables kept here
(:data:`PRESET_OVERRIDES`).

Presets
    ``costs``, ``rules`` and ``execution`` default to the ``cn_a_share`` preset. With another
    ``preset``, every field the spec does not set explicitly takes that preset's value;
    a validated spec is *resolved*: every field holds the value that applies, so a stored
    spec reads the settings its run used.

Parameters
    ``parameters`` maps names to numbers; expressions reference them as ``{name}``
    (``Mean($close, {fast})``), substituted before parsing. The batch form
    (:func:`quantlab.engine.run_batch`) runs variants of one spec: each variant is a dict
    whose plain keys override ``parameters`` and whose keys starting with ``/`` are JSON
    pointers into the spec (``{"/strategy/top_k": 30}``).

Versions
    ``schema_version`` is :data:`SCHEMA_VERSION`; :func:`migrate` brings a stored spec of an
    older version up to date (validate with :meth:`RunSpec.from_stored`).

Expressions use the factor language (``Mean($close, 10)``); a value on day ``t`` is a
decision taken at ``t``'s close and filled at ``t + 1``'s open unless ``execution.price``
says otherwise. Reading the future (``Ref($close, -1)``) is refused.

Indicators
    ``indicators`` names outputs of the indicator catalog (:mod:`quantlab.engine.indicators`:
    RSI, MACD, BOLL, KDJ, ATR, TA-Lib …) that expressions read as fields:
    ``{"rsi6": {"indicator": "RSI", "params": {"N1": 6}, "output": "RSI1"}}`` makes
    ``$rsi6`` available (``Lt($rsi6, 20)``). The engine computes each one with
    ``indicators.compute`` on the whole panel it is given, before cutting the warm-up, so a
    recursive indicator warms up on all the loaded history. A parameter may be a
    ``"{name}"`` of ``parameters`` (``{"N1": "{period}"}``), so a study or a sensitivity
    check can vary it like any other; variants of a batch that resolve an indicator to
    different values each get the values they name.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quantlab.engine.backtest.enums import (
    PortfolioMode,
    PriceMode,
    Rebalance,
    SizingMode,
    SlippageMode,
    StopMode,
)

SCHEMA_VERSION = 2
SCHEMA_ID = f"https://quantlab.dev/schemas/run-spec/v{SCHEMA_VERSION}.json"
DEFAULT_CAPITAL = 1_000_000.0
MIN_CAPITAL = 10_000.0
MAX_CAPITAL = 1_000_000_000.0
PresetName = Literal["cn_a_share", "us_equity", "rules_off"]
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# China A-share stamp duty on sells: 0.1% until the cut on 2023-08-28, then 0.05%.
CN_STAMP_TAX: tuple[tuple[str, float], ...] = (("1990-01-01", 0.001), ("2023-08-28", 0.0005))

Expression = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="factor-language expression, e.g. Cross(Mean($close,10), Mean($close,30)); "
        "{name} stands for a value of 'parameters'",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- run configuration ----------------------------------------------------------------------


class Costs(_Strict):
    """Trading costs; rates are fractions of traded value (0.0003 = 0.03 %)."""

    commission_rate: float = Field(0.0003, ge=0, le=0.05, description="fraction per order")
    commission_min: float = Field(5.0, ge=0, le=10_000, description="currency per order")
    stamp_tax: list[tuple[date, Annotated[float, Field(ge=0, le=0.05)]]] = Field(
        [(date.fromisoformat(d), r) for d, r in CN_STAMP_TAX],
        description="[[from_date, rate], ...] on sells",
        max_length=50,
    )
    slippage: SlippageMode = SlippageMode.NONE
    slippage_value: float = Field(0.0, ge=0, le=100, description="ratio, ticks or base ratio")
    tick_size: float = Field(0.01, gt=0, le=100)
    slippage_impact: float = Field(0.0, ge=0, le=100, description="volume mode: per qty/volume")


class Rules(_Strict):
    """Market rules; each one can be switched off on its own."""

    t_plus_1: bool = True
    price_limits: bool = True
    limit_main: float = Field(0.10, gt=0, le=1)
    limit_growth: float = Field(0.20, gt=0, le=1, description="ChiNext 300/301, STAR 688")
    limit_st: float = Field(0.05, gt=0, le=1)
    suspension: bool = Field(True, description="no trades on zero-volume or missing days")
    lot_size: float = Field(100.0, ge=0, le=1_000_000, description="0: fractional quantities")
    min_volume_lots: float = Field(0.0, ge=0, description="liquidity floor in lots; 0 off")
    volume_cap: float = Field(0.0, ge=0, le=1, description="max share of bar volume; 0 off")
    exclude_st: bool = Field(True, description="applies when ST flags are given")
    exclude_new: bool = Field(True, description="applies when new-listing flags are given")


class Execution(_Strict):
    """Fill timing, portfolio model and protective exits."""

    price: PriceMode = PriceMode.NEXT_OPEN
    portfolio: PortfolioMode = Field(
        PortfolioMode.SHARED, description="shared cash, or each instrument its own portfolio"
    )
    stop_loss: StopMode = StopMode.NONE
    stop_loss_value: float = Field(0.0, ge=0, le=100)
    take_profit: StopMode = StopMode.NONE
    take_profit_value: float = Field(0.0, ge=0, le=100)
    atr_window: int = Field(14, ge=1, le=500)


class Sizing(_Strict):
    """How signal entries are sized (signals and code strategies)."""

    mode: SizingMode = Field(SizingMode.EQUAL, description="equal, fixed_fraction, ...")
    fraction: float = Field(0.1, gt=0, le=1, description="fixed_fraction: share of equity")
    amount: float = Field(100_000.0, gt=0, le=MAX_CAPITAL, description="fixed_amount: currency")
    vol_target: float = Field(0.15, gt=0, le=5, description="vol_target: annualised")
    vol_window: int = Field(20, ge=2, le=500, description="vol_target: days of returns")
    per_stock_cap: float = Field(0.0, ge=0, le=1, description="max share per position; 0 off")


# What the engine dataclasses take as defaults (the cn_a_share preset).
COSTS_DEFAULTS = Costs()
RULES_DEFAULTS = Rules()
EXECUTION_DEFAULTS = Execution()
SIZING_DEFAULTS = Sizing()

# Each preset as overrides of the defaults above (cn_a_share is the defaults).
PRESET_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "cn_a_share": {},
    "us_equity": {
        "costs": {"commission_rate": 0.0, "commission_min": 0.0, "stamp_tax": []},
        "rules": {"t_plus_1": False, "price_limits": False, "lot_size": 1.0, "exclude_st": False},
    },
    "rules_off": {
        "costs": {"commission_rate": 0.0, "commission_min": 0.0, "stamp_tax": []},
        "rules": {
            "t_plus_1": False,
            "price_limits": False,
            "suspension": False,
            "lot_size": 0.0,
            "exclude_st": False,
            "exclude_new": False,
        },
        "execution": {"price": "close"},
    },
}
PRESET_SECTIONS: dict[str, type[_Strict]] = {
    "costs": Costs,
    "rules": Rules,
    "execution": Execution,
}


def preset_values(preset: str) -> dict[str, dict[str, Any]]:
    """Every field of ``costs``, ``rules`` and ``execution`` under ``preset`` (JSON values)."""
    out: dict[str, dict[str, Any]] = {}
    for section, model in PRESET_SECTIONS.items():
        values = model().model_dump(mode="json")
        values.update(PRESET_OVERRIDES[preset].get(section, {}))
        out[section] = values
    return out


# --- strategies -----------------------------------------------------------------------------


class SignalsStrategy(_Strict):
    """Enter where ``entry`` is true (non-zero), exit where ``exit`` is true."""

    kind: Literal["signals"]
    entry: Expression
    exit: Expression
    sizing: Sizing = Field(default_factory=Sizing)
    max_holdings: int = Field(0, ge=0, le=10_000, description="0 = unlimited")


#: Panel fields named ``model_<run id>`` hold a model run's predictions (see ModelScores).
MODEL_FIELD_PREFIX = "model_"


def model_score_field(run_id: str) -> str:
    """The panel field that holds model run ``run_id``'s predictions in a backtest."""
    return f"{MODEL_FIELD_PREFIX}{run_id.lower()}"


class ModelScores(_Strict):
    """A model run's stored predictions as the score (``/api/models``; a completed run of
    yours on this spec's dataset). As in the run's own top-k backtest and Qlib's workflow,
    the prediction made with day ``t``'s data is traded on day ``t + 1``; days and symbols
    the run did not predict have no score. The backtest service lays the predictions on
    the panel as the field ``model_<run id>``; the engine reads that field."""

    model_run_id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$")


class ScoresStrategy(_Strict):
    """Rank ``score`` on each rebalance day; hold the ``top_k`` best, swapping at most
    ``n_drop`` per rebalance (Qlib's TopkDropout, which rebalances daily: so does the
    default here). ``score`` is an expression or a model run's predictions."""

    kind: Literal["scores"]
    score: Expression | ModelScores
    top_k: int = Field(50, ge=1, le=5_000)
    n_drop: int = Field(5, ge=0, le=5_000)
    rebalance: Rebalance = Field(Rebalance.DAILY, description="daily, as Qlib's TopkDropout")
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


ParameterRef = Annotated[
    str, Field(pattern=r"^\{[A-Za-z_][A-Za-z0-9_]{0,39}\}$", description="{name} of a parameter")
]
INDICATOR_FIELD = re.compile(r"^[a-z_][a-z0-9_]{0,59}$")


class IndicatorField(_Strict):
    """One output of a catalog indicator, read by the expressions as ``$<its name>``."""

    indicator: str = Field(
        min_length=1, max_length=60, description="catalog name, e.g. RSI, MACD, talib.BBANDS"
    )
    params: dict[Annotated[str, Field(max_length=40)], float | ParameterRef] = Field(
        default_factory=dict,
        max_length=20,
        description='overrides of the defaults: numbers, or "{name}" of a parameter',
    )
    output: str = Field(min_length=1, max_length=40, description="e.g. DIF of MACD")


StrategySpec = Annotated[
    SignalsStrategy | ScoresStrategy | WeightsStrategy | CodeStrategy,
    Field(discriminator="kind"),
]


# --- robustness -----------------------------------------------------------------------------


class WalkForward(_Strict):
    """Rolling windows over the simulated days, each an in-sample span followed by an
    out-of-sample one; windows step by the out-of-sample length and together end on the
    last day. Each window's Sharpe on either side of the split feeds the walk-forward
    efficiency (mean out-of-sample over mean in-sample Sharpe)."""

    windows: int = Field(4, ge=2, le=12)
    in_sample: float = Field(0.7, ge=0.5, le=0.9, description="share of a window in sample")


class Robustness(_Strict):
    """Opt-in overfitting checks, run after this backtest completes (in the same job when
    the run is small, else as child ``backtests.run`` jobs of the same owner). Their
    variants are listed under ``robustness`` in ``GET /api/backtests/{id}`` and their
    findings join ``/diagnostics``.

    ``sensitivity`` moves each numeric parameter by ±10 % (integers by at least one step):
    window-like operator parameters (``Mean($close, 10)``; equal values move together),
    the numeric parameters an ``indicators`` entry sets (within the indicator's range),
    ``top_k`` and ``n_drop`` of a scores strategy, and stop-loss / take-profit levels; at
    most 8 parameters (16 variants). Constants such as the ``1`` in ``$a / $b - 1`` stay."""

    sensitivity: bool = False
    walk_forward: WalkForward | None = None
    run_as: Literal["auto", "in_process", "jobs"] = Field(
        "auto", description="auto: in the run's own job when small, else child jobs"
    )


# --- the spec -------------------------------------------------------------------------------


class RunSpec(_Strict):
    """A strategy spec plus its run configuration: data, dates, capital, market model."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"$id": SCHEMA_ID, "x-schema-version": SCHEMA_VERSION},
    )

    schema_version: Literal[2] = Field(2, description="version of this schema")
    name: str = Field("", max_length=120)
    dataset_id: str = Field(min_length=1, max_length=32)
    dataset_version: int | None = Field(None, ge=1, description="default: latest (pinned)")
    universe: Literal["all"] | Annotated[list[str], Field(min_length=1, max_length=5_000)] = "all"
    dated_universe: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="a dated universe of the dataset (e.g. csi300): a symbol is bought only "
        "on days it was a member, and a holding that leaves it is dropped (point in time, "
        "no survivorship bias); combined with universe, both must hold",
    )
    start: date | None = Field(None, description="first simulated day; default: data start")
    end: date | None = Field(None, description="last simulated day; default: data end")
    initial_capital: float = Field(DEFAULT_CAPITAL, ge=MIN_CAPITAL, le=MAX_CAPITAL)
    preset: PresetName = Field(
        "cn_a_share", description="fills every costs/rules/execution field not given"
    )
    costs: Costs = Field(default_factory=Costs)
    rules: Rules = Field(default_factory=Rules)
    execution: Execution = Field(default_factory=Execution)
    benchmark: str | None = Field(None, max_length=40, description="a symbol of the dataset")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the bootstrap diagnostics")
    parameters: dict[str, float] = Field(
        default_factory=dict,
        max_length=50,
        description="named numbers referenced in expressions as {name}",
    )
    strategy: StrategySpec
    indicators: dict[str, IndicatorField] = Field(
        default_factory=dict,
        max_length=50,
        description="indicator outputs the expressions read as $name (see the module notes)",
    )
    robustness: Robustness | None = Field(None, description="opt-in checks; see Robustness")

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """A spec of an older version is migrated first (see :func:`migrate`)."""
        if isinstance(data, dict) and data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            version = data.get("schema_version")
            if isinstance(version, int) and 1 <= version < SCHEMA_VERSION:
                return migrate(data)
        return data

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k in value if not PARAMETER_NAME.match(k)]
        if bad:
            raise ValueError(f"parameter names must be identifiers: {bad[:5]}")
        return value

    @field_validator("indicators")
    @classmethod
    def _indicator_names(cls, value: dict[str, IndicatorField]) -> dict[str, IndicatorField]:
        bad = [k for k in value if not INDICATOR_FIELD.match(k)]
        if bad:
            raise ValueError(
                f"indicator names must be lower-case identifiers (read as $name): {bad[:5]}"
            )
        return value

    @model_validator(mode="after")
    def _resolve(self) -> RunSpec:
        """Fill every preset field the spec does not set with the preset's value."""
        table = PRESET_OVERRIDES[self.preset]
        for section in PRESET_SECTIONS:
            current = getattr(self, section)
            overrides = {
                k: v for k, v in table.get(section, {}).items() if k not in current.model_fields_set
            }
            if overrides:
                data = {**current.model_dump(), **overrides}
                object.__setattr__(self, section, type(current).model_validate(data))
        for text in expressions(self).values():
            missing = sorted(set(_PLACEHOLDER.findall(text)) - set(self.parameters))
            if missing:
                raise ValueError(f"expression references undefined parameters: {missing}")
        for name, d in self.indicators.items():
            refs = [v[1:-1] for v in d.params.values() if isinstance(v, str)]
            missing = sorted(set(refs) - set(self.parameters))
            if missing:
                raise ValueError(f"indicators.{name} references undefined parameters: {missing}")
        return self

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> RunSpec:
        """Validate a stored spec of any known version (migrated first)."""
        return cls.model_validate(migrate(data))


def expressions(spec: RunSpec, resolved: bool = False) -> dict[str, str]:
    """The spec's expressions by their field path (``strategy.entry`` …); with ``resolved``,
    the ``{name}`` placeholders are replaced by the parameters' values."""
    s = spec.strategy
    if isinstance(s, SignalsStrategy):
        out = {"strategy.entry": s.entry, "strategy.exit": s.exit}
    elif isinstance(s, ScoresStrategy):
        score = s.score
        if isinstance(score, ModelScores):
            score = f"${model_score_field(score.model_run_id)}"
        out = {"strategy.score": score}
    elif isinstance(s, WeightsStrategy) and s.weight is not None:
        out = {"strategy.weight": s.weight}
    else:
        out = {}
    if resolved and spec.parameters:
        out = {k: substitute(v, spec.parameters) for k, v in out.items()}
    return out


def indicator_defs(spec: RunSpec) -> dict[str, dict[str, Any]]:
    """The spec's ``indicators`` with every ``"{name}"`` parameter replaced by that
    parameter's value: ``{name: {"indicator", "params", "output"}}``, what the run computes."""
    return {
        name: resolve_indicator(d.model_dump(), spec.parameters)
        for name, d in spec.indicators.items()
    }


def resolve_indicator(d: dict[str, Any], parameters: dict[str, float]) -> dict[str, Any]:
    """One indicator definition (``indicator``, ``params``, ``output``) with its ``"{name}"``
    parameters replaced by their values."""
    params = {
        k: float(parameters[v[1:-1]]) if isinstance(v, str) else v
        for k, v in (d.get("params") or {}).items()
    }
    return {"indicator": d["indicator"], "params": params, "output": d["output"]}


def model_runs(spec: RunSpec) -> list[str]:
    """The model runs whose predictions the spec reads (a scores strategy's ModelScores)."""
    s = spec.strategy
    if isinstance(s, ScoresStrategy) and isinstance(s.score, ModelScores):
        return [s.score.model_run_id]
    return []


def substitute(text: str, parameters: dict[str, float]) -> str:
    """Replace ``{name}`` by the parameter's value (integers without a decimal point)."""

    def value(match: re.Match[str]) -> str:
        v = float(parameters[match.group(1)])
        return str(int(v)) if v.is_integer() else repr(v)

    return _PLACEHOLDER.sub(value, text)


def apply_variant(spec: RunSpec, variant: dict[str, Any]) -> RunSpec:
    """``spec`` with a variant's overrides: plain keys set ``parameters``, keys starting
    with ``/`` are JSON pointers into the spec (``/strategy/top_k``)."""
    data = spec.model_dump(mode="json")
    for key, value in variant.items():
        if key.startswith("/"):
            parts = [p.replace("~1", "/").replace("~0", "~") for p in key[1:].split("/")]
            target = data
            for part in parts[:-1]:
                target = target[int(part)] if isinstance(target, list) else target[part]
            if isinstance(target, list):
                target[int(parts[-1])] = value
            else:
                if parts[-1] not in target:
                    raise KeyError(f"variant key {key!r} names no field of the spec")
                target[parts[-1]] = value
        else:
            if key not in data["parameters"]:
                raise KeyError(f"variant key {key!r} is not a parameter of the spec")
            data["parameters"][key] = value
    return RunSpec.model_validate(data)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A stored spec brought to :data:`SCHEMA_VERSION` (the input is not modified).

    Version 1 (the first ``BacktestRequest``) stored costs/rules/execution overrides with
    ``null`` for "the preset's value", and a scores strategy without ``rebalance`` meant
    monthly (the default is daily since version 2).
    """
    out = copy.deepcopy(data)
    version = int(out.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(f"spec version {version} is newer than {SCHEMA_VERSION}")
    if version < 2:
        for section in PRESET_SECTIONS:
            values = out.get(section)
            if isinstance(values, dict):
                out[section] = {k: v for k, v in values.items() if v is not None}
        strategy = out.get("strategy")
        if isinstance(strategy, dict) and strategy.get("kind") == "scores":
            strategy.setdefault("rebalance", Rebalance.MONTHLY.value)
        out["schema_version"] = 2
    return out


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`RunSpec` (what ``/api/backtests/schema`` serves), with
    each preset's value of every costs/rules/execution field under ``x-presets``."""
    schema = RunSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    defs = schema.get("$defs", {})
    tables = {name: preset_values(name) for name in PRESET_OVERRIDES}
    for section, model in PRESET_SECTIONS.items():
        props = defs.get(model.__name__, {}).get("properties", {})
        for field, prop in props.items():
            prop["x-presets"] = {name: tables[name][section][field] for name in tables}
    return schema
