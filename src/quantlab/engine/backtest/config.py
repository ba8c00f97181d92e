"""Backtest configuration: the simulator's dataclass tree, defaults the ``cn_a_share`` preset.

Every default and every preset comes from :mod:`quantlab.engine.spec` (the run spec is the
one source; :func:`from_spec` builds the configuration of a spec). Every field is a JSON
scalar, a string enum or a list of ``[date, rate]`` pairs, so
``BacktestConfig.from_dict(cfg.to_dict()) == cfg``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from quantlab.engine import spec as _spec
from quantlab.engine.backtest.enums import (
    PortfolioMode,
    PriceMode,
    SizingMode,
    SlippageMode,
    StopMode,
)

CONFIG_VERSION = 1
CN_STAMP_TAX = _spec.CN_STAMP_TAX
_C, _R, _E, _S = (
    _spec.COSTS_DEFAULTS,
    _spec.RULES_DEFAULTS,
    _spec.EXECUTION_DEFAULTS,
    _spec.SIZING_DEFAULTS,
)


@dataclass(frozen=True)
class CostConfig:
    """Trading costs. Rates are fractions of traded value (0.0003 = 0.03%)."""

    commission_rate: float = _C.commission_rate
    commission_min: float = _C.commission_min  # currency per order, on buys and sells
    stamp_tax: tuple[tuple[str, float], ...] = CN_STAMP_TAX  # sells only; from each date on
    slippage: SlippageMode = _C.slippage
    slippage_value: float = _C.slippage_value  # ratio, ticks, or base ratio for VOLUME
    tick_size: float = _C.tick_size
    slippage_impact: float = _C.slippage_impact  # VOLUME: extra ratio per quantity / volume


@dataclass(frozen=True)
class RuleConfig:
    """Market rules; each one can be switched off on its own."""

    t_plus_1: bool = _R.t_plus_1
    price_limits: bool = _R.price_limits
    limit_main: float = _R.limit_main
    limit_growth: float = _R.limit_growth  # ChiNext 300xxx/301xxx and STAR 688xxx
    limit_st: float = _R.limit_st
    suspension: bool = _R.suspension  # no trades on zero-volume or missing days
    lot_size: float = _R.lot_size  # buys in whole lots; 0 allows fractional quantities
    min_volume_lots: float = _R.min_volume_lots  # liquidity floor in lots of bar volume; 0 off
    volume_cap: float = _R.volume_cap  # max fraction of the bar's volume per order; 0 = off
    exclude_st: bool = _R.exclude_st  # applies when ST flags are given
    exclude_new: bool = _R.exclude_new  # applies when new-listing flags are given


@dataclass(frozen=True)
class ExecutionConfig:
    """Fill timing, portfolio model, protective exits."""

    price: PriceMode = _E.price
    portfolio: PortfolioMode = _E.portfolio
    init_cash: float = _spec.DEFAULT_CAPITAL  # per portfolio (per instrument in PER_COLUMN)
    stop_loss: StopMode = _E.stop_loss
    stop_loss_value: float = _E.stop_loss_value
    take_profit: StopMode = _E.take_profit
    take_profit_value: float = _E.take_profit_value
    atr_window: int = _E.atr_window


@dataclass(frozen=True)
class SizingConfig:
    """How signal entries are sized (weight and top-k strategies size themselves)."""

    mode: SizingMode = _S.mode
    fraction: float = _S.fraction
    amount: float = _S.amount
    vol_target: float = _S.vol_target  # annualised
    vol_window: int = _S.vol_window  # days of returns for realised volatility
    max_holdings: int = 0  # 0 = unlimited (the spec keeps it on the strategy)
    per_stock_cap: float = _S.per_stock_cap  # max fraction of equity per new position; 0 off


@dataclass(frozen=True)
class BacktestConfig:
    """The whole configuration; the defaults are the ``cn_a_share`` preset."""

    costs: CostConfig = field(default_factory=CostConfig)
    rules: RuleConfig = field(default_factory=RuleConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    sizing: SizingConfig = field(default_factory=SizingConfig)
    version: int = CONFIG_VERSION

    def replace(self, **sections: Any) -> BacktestConfig:
        """A copy with whole sections or ``section__field`` values replaced."""
        direct = {k: v for k, v in sections.items() if "__" not in k}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in sections.items():
            if "__" in key:
                sec, name = key.split("__", 1)
                nested.setdefault(sec, {})[name] = value
        out = dataclasses.replace(self, **direct)
        for sec, values in nested.items():
            out = dataclasses.replace(
                out, **{sec: dataclasses.replace(getattr(out, sec), **values)}
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (enums as their string values)."""
        out: dict[str, Any] = {"version": self.version}
        for sec in ("costs", "rules", "execution", "sizing"):
            values = dataclasses.asdict(getattr(self, sec))
            out[sec] = {k: _jsonable(v) for k, v in values.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestConfig:
        """Inverse of :meth:`to_dict`; missing fields take their defaults, unknown ones fail."""
        version = int(data.get("version", CONFIG_VERSION))
        if version > CONFIG_VERSION:
            raise ValueError(f"config version {version} is newer than {CONFIG_VERSION}")
        kwargs: dict[str, Any] = {"version": version}
        types = {
            "costs": CostConfig,
            "rules": RuleConfig,
            "execution": ExecutionConfig,
            "sizing": SizingConfig,
        }
        for sec, typ in types.items():
            raw = dict(data.get(sec, {}))
            known = {f.name: f for f in dataclasses.fields(typ)}
            unknown = set(raw) - set(known)
            if unknown:
                raise ValueError(f"unknown {sec} fields: {sorted(unknown)}")
            defaults = typ()
            values = {k: _coerce(getattr(defaults, k), v) for k, v in raw.items()}
            kwargs[sec] = typ(**values)
        return cls(**kwargs)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BacktestConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):  # StrEnum included
        return str(value)
    return value


def _coerce(default: Any, value: Any) -> Any:
    """Cast a JSON value to the type of the field's default."""
    if isinstance(default, StrEnumTypes):
        return type(default)(value)
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, tuple):
        return tuple((str(d), float(r)) for d, r in value)
    return value


StrEnumTypes = (PriceMode, PortfolioMode, SizingMode, SlippageMode, StopMode)


def preset(name: str) -> BacktestConfig:
    """The configuration of a preset of :data:`quantlab.engine.spec.PRESET_OVERRIDES`."""
    return BacktestConfig.from_dict(_spec.preset_values(name))


def cn_a_share() -> BacktestConfig:
    """China A-share preset (the defaults): T+1, limits, lots of 100, 0.03%/5 CNY, stamp tax."""
    return preset("cn_a_share")


def us_equity() -> BacktestConfig:
    """US equity preset: no T+1, no price limits, no stamp tax, lot 1, no minimum commission."""
    return preset("us_equity")


def rules_off() -> BacktestConfig:
    """Frictionless: no costs, no market rules, fractional quantities, fills at the close."""
    return preset("rules_off")


PRESETS = {"cn_a_share": cn_a_share, "us_equity": us_equity, "rules_off": rules_off}


def from_spec(spec: _spec.RunSpec) -> BacktestConfig:
    """The simulator configuration of a (resolved) run spec: its costs, rules, execution,
    capital and, for signals and code strategies, sizing and ``max_holdings``."""
    data: dict[str, Any] = {
        "costs": spec.costs.model_dump(mode="json"),
        "rules": spec.rules.model_dump(mode="json"),
        "execution": {**spec.execution.model_dump(mode="json"),
                      "init_cash": float(spec.initial_capital)},
    }  # fmt: skip
    strategy = spec.strategy
    if isinstance(strategy, _spec.SignalsStrategy | _spec.CodeStrategy):
        data["sizing"] = {**strategy.sizing.model_dump(mode="json"),
                          "max_holdings": strategy.max_holdings}  # fmt: skip
    return BacktestConfig.from_dict(data)
