"""Backtest configuration: a dataclass tree whose defaults are the ``cn_a_share`` preset.

Every field is a JSON scalar, a string enum or a list of ``[date, rate]`` pairs, so
``BacktestConfig.from_dict(cfg.to_dict()) == cfg`` and the web layer can publish the tree as
a versioned JSON schema.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from quantlab.engine.backtest.enums import (
    PortfolioMode,
    PriceMode,
    SizingMode,
    SlippageMode,
    StopMode,
)

CONFIG_VERSION = 1

# China A-share stamp duty on sells: 0.1% until the cut on 2023-08-28, then 0.05%.
CN_STAMP_TAX: tuple[tuple[str, float], ...] = (("1990-01-01", 0.001), ("2023-08-28", 0.0005))


@dataclass(frozen=True)
class CostConfig:
    """Trading costs. Rates are fractions of traded value (0.0003 = 0.03%)."""

    commission_rate: float = 0.0003
    commission_min: float = 5.0  # currency per order, on buys and sells
    stamp_tax: tuple[tuple[str, float], ...] = CN_STAMP_TAX  # sells only; from each date on
    slippage: SlippageMode = SlippageMode.NONE
    slippage_value: float = 0.0  # ratio, ticks, or base ratio for VOLUME
    tick_size: float = 0.01
    slippage_impact: float = 0.0  # VOLUME mode: extra ratio per unit of quantity / volume


@dataclass(frozen=True)
class RuleConfig:
    """Market rules; each one can be switched off on its own."""

    t_plus_1: bool = True
    price_limits: bool = True
    limit_main: float = 0.10
    limit_growth: float = 0.20  # ChiNext 300xxx/301xxx and STAR 688xxx
    limit_st: float = 0.05
    suspension: bool = True  # no trades on zero-volume or missing days
    lot_size: float = 100.0  # buys in whole lots; 0 allows fractional quantities
    min_volume_lots: float = 0.0  # liquidity floor in lots of bar volume; 0 = off
    volume_cap: float = 0.0  # max fraction of the bar's volume per order; 0 = off
    exclude_st: bool = True  # applies when ST flags are given
    exclude_new: bool = True  # applies when new-listing flags are given


@dataclass(frozen=True)
class ExecutionConfig:
    """Fill timing, portfolio model, protective exits."""

    price: PriceMode = PriceMode.NEXT_OPEN
    portfolio: PortfolioMode = PortfolioMode.SHARED
    init_cash: float = 1_000_000.0  # per portfolio (per instrument in PER_COLUMN mode)
    stop_loss: StopMode = StopMode.NONE
    stop_loss_value: float = 0.0
    take_profit: StopMode = StopMode.NONE
    take_profit_value: float = 0.0
    atr_window: int = 14


@dataclass(frozen=True)
class SizingConfig:
    """How signal entries are sized (weight and top-k strategies size themselves)."""

    mode: SizingMode = SizingMode.EQUAL
    fraction: float = 0.1
    amount: float = 100_000.0
    vol_target: float = 0.15  # annualised
    vol_window: int = 20  # days of returns for realised volatility
    max_holdings: int = 0  # 0 = unlimited
    per_stock_cap: float = 0.0  # max fraction of equity per new position; 0 = off


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


def cn_a_share() -> BacktestConfig:
    """China A-share preset (the defaults): T+1, limits, lots of 100, 0.03%/5 CNY, stamp tax."""
    return BacktestConfig()


def us_equity() -> BacktestConfig:
    """US equity preset: no T+1, no price limits, no stamp tax, lot 1, no minimum commission."""
    return BacktestConfig(
        costs=CostConfig(commission_rate=0.0, commission_min=0.0, stamp_tax=()),
        rules=RuleConfig(t_plus_1=False, price_limits=False, lot_size=1.0, exclude_st=False),
    )


def rules_off() -> BacktestConfig:
    """Frictionless: no costs, no market rules, fractional quantities, fills at the close."""
    return BacktestConfig(
        costs=CostConfig(commission_rate=0.0, commission_min=0.0, stamp_tax=()),
        rules=RuleConfig(
            t_plus_1=False,
            price_limits=False,
            suspension=False,
            lot_size=0.0,
            exclude_st=False,
            exclude_new=False,
        ),
        execution=ExecutionConfig(price=PriceMode.CLOSE),
    )


PRESETS = {"cn_a_share": cn_a_share, "us_equity": us_equity, "rules_off": rules_off}
