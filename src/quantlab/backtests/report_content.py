"""What a backtest report says, independent of the file format: the cover block, metrics
formatted by their registered unit with definitions, monthly and yearly returns, top
contributors, the trades summary and diagnostics with their evidence.

Every number a reader sees goes through :func:`format_value` (or, in XLSX, the matching
:func:`excel_format`), so the HTML, PDF and workbook agree on what "12.34 %" means.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.backtest.metrics import METRICS

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
PAGE_SIZE = "A4"
A4_INCHES = (8.27, 11.69)
DASH = "–"
# unit of the metrics registry -> (text format kind, Excel number format)
UNIT_FORMATS: dict[str, tuple[str, str]] = {
    "fraction": ("percent", "0.00%"),
    "fraction/year": ("percent", "0.00%"),
    "ratio": ("ratio", "0.00"),
    "count": ("count", "#,##0"),
    "days": ("count", "#,##0"),
    "currency": ("money", "#,##0.00"),
}
UNIT_LABELS = {"fraction": "%", "fraction/year": "% per year", "currency": "money"}
# top-level metrics a reader looks at first, in this order
KEY_METRICS = (
    "total_return",
    "annual_return",
    "excess_return",
    "annual_volatility",
    "sharpe_ratio",
    "max_drawdown",
    "information_ratio",
    "win_rate",
    "trade_count",
    "turnover",
)


def is_missing(value: Any) -> bool:
    """None, NaN or infinite."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_value(value: Any, kind: str = "number") -> str:
    """A value as a reader sees it: ``percent`` 12.34%, ``ratio`` 1.23, ``count`` 4,285,
    ``money`` 1,234.56, ``number`` at most two decimals (tiny values in e-notation)."""
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value):
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if kind == "year":
        return str(int(value))
    if kind == "percent":
        return f"{value * 100:,.2f}%"
    if kind == "count":
        return f"{value:,.0f}"
    if kind in ("ratio", "money"):
        return f"{value:,.2f}"
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 0.01 else f"{value:.1e}"


def unit_label(unit: str) -> str:
    """How a registry unit reads next to a formatted value."""
    return UNIT_LABELS.get(unit, unit)


def excel_format(unit: str) -> str:
    """The Excel number format of a registry unit."""
    return UNIT_FORMATS.get(unit, ("number", "#,##0.00"))[1]


def label(name: str) -> str:
    """``max_drawdown`` -> ``Max drawdown``."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One scalar metric with its unit, formatted text and definition."""

    name: str
    label: str
    value: float | None
    unit: str
    text: str
    definition: str


def metric_rows(metrics: dict[str, Any]) -> list[MetricRow]:
    """Scalar metrics, key ones first, each formatted by its registered unit."""
    order = [k for k in KEY_METRICS if k in metrics] + [k for k in metrics if k not in KEY_METRICS]
    rows = []
    for name in order:
        value = metrics[name]
        if not (value is None or (isinstance(value, int | float) and not isinstance(value, bool))):
            continue
        spec = METRICS.get(name)
        unit = spec.unit if spec else "number"
        kind = UNIT_FORMATS.get(unit, ("number", ""))[0]
        definition = _plain(spec.description if spec else "") + (
            " (per year)" if unit.endswith("/year") else ""
        )
        number = None if value is None or is_missing(value) else float(value)
        rows.append(
            MetricRow(name, label(name), number, unit, format_value(value, kind), definition)
        )
    return rows


def _plain(text: str) -> str:
    """A docstring line without reStructuredText markup (``code``, :func:`name`)."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "").replace("`", "")


def resolved_config(request: dict[str, Any]) -> dict[str, Any] | None:
    """Costs, rules and execution with the preset's values filled in (None if unreadable)."""
    try:
        from quantlab.backtests.compile import engine_config
        from quantlab.backtests.schemas import BacktestRequest

        return engine_config(BacktestRequest.model_validate(request)).to_dict()
    except Exception:  # a request of an older schema: show it as stored
        return None


def _flat(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple) and value and isinstance(value[0], list | tuple):
        out.append((prefix, "; ".join(" ".join(str(x) for x in item) for item in value)))
    else:
        out.append((prefix, format_value(value) if isinstance(value, float) else str(value)))


def configuration(view: dict[str, Any]) -> list[tuple[str, str]]:
    """Every setting of the run as (key, text): the request, then resolved costs/rules."""
    request = dict(view.get("request") or {})
    out: list[tuple[str, str]] = []
    _flat("", {k: v for k, v in request.items() if k not in ("costs", "rules", "execution")}, out)
    resolved = resolved_config(request)
    source = resolved or {k: request.get(k) for k in ("costs", "rules", "execution", "sizing")}
    for section in ("costs", "rules", "execution", "sizing"):
        if source.get(section) is not None:
            _flat(section, source[section], out)
    repro = view.get("reproducibility") or {}
    for key in ("dataset_id", "dataset_version", "engine_version", "seed", "schema_version"):
        out.append((f"reproducibility.{key}", str(repro.get(key))))
    return out


def cover(view: dict[str, Any], series: pd.DataFrame) -> list[tuple[str, str]]:
    """The cover block: what was run on what, with which money, costs and rules."""
    request = view.get("request") or {}
    strategy = dict(request.get("strategy") or {})
    kind = strategy.pop("kind", view.get("strategy_kind"))
    universe = request.get("universe", "all")
    if isinstance(universe, list):
        shown = ", ".join(universe[:8]) + (
            f" … ({len(universe)} symbols)" if len(universe) > 8 else ""
        )
        universe = shown if len(universe) > 8 else f"{shown} ({len(universe)} symbols)"
    dates = series["date"].astype(str) if len(series) else pd.Series([], dtype=str)
    period = (
        f"{dates.iloc[0]} to {dates.iloc[-1]} ({len(dates)} trading days)" if len(dates) else DASH
    )
    resolved = resolved_config(request) or {}
    costs, rules = resolved.get("costs") or request.get("costs") or {}, resolved.get("rules") or {}
    cost_text = DASH
    if costs:
        tax = costs.get("stamp_tax") or []
        last_tax = tax[-1][1] if tax else 0.0
        cost_text = (
            f"commission {format_value(costs.get('commission_rate', 0.0), 'percent')} "
            f"(min {format_value(costs.get('commission_min', 0.0), 'money')}), "
            f"stamp tax on sells {format_value(last_tax, 'percent')} (latest), "
            f"slippage {costs.get('slippage', 'none')} "
            f"{format_value(costs.get('slippage_value', 0.0))}"
        )
    rule_text = DASH
    if rules:
        rule_text = (
            f"T+1 {'on' if rules.get('t_plus_1') else 'off'}, price limits "
            f"{'on' if rules.get('price_limits') else 'off'}, lot size "
            f"{format_value(rules.get('lot_size'), 'count')}, volume cap "
            f"{format_value(rules.get('volume_cap'), 'percent')}"
        )
    params = ", ".join(f"{k}={v}" for k, v in strategy.items() if k != "code") or DASH
    repro = view.get("reproducibility") or {}
    return [
        ("Strategy", f"{view.get('name') or '(unnamed)'}: {kind}"),
        ("Dataset", f"{view.get('dataset_id')} version {view.get('dataset_version')}"),
        ("Universe", str(universe)),
        ("Period", period),
        ("Benchmark", str(request.get("benchmark") or "none")),
        ("Initial capital", format_value(request.get("initial_capital"), "money")),
        ("Final equity", format_value(view.get("final_equity"), "money")),
        ("Preset", str(request.get("preset", DASH))),
        ("Costs", cost_text),
        ("Rules", rule_text),
        ("Parameters", params),
        ("Engine version", str(repro.get("engine_version", DASH))),
        ("Seed", str(repro.get("seed", DASH))),
    ]


def yearly_returns(series: pd.DataFrame) -> pd.DataFrame:
    """Compounded return per calendar year of the strategy and (if any) the benchmark."""
    if not len(series):
        return pd.DataFrame(columns=["year", "strategy", "benchmark"])
    dates = pd.to_datetime(series["date"])
    out = pd.DataFrame({"year": dates.dt.year})
    out["strategy"] = (1.0 + series["returns"].fillna(0.0)).to_numpy()
    bench = series["benchmark"].astype(float)
    out["benchmark"] = (bench / bench.shift(1)).to_numpy()
    out.loc[out.index[0], "benchmark"] = np.nan if bench.isna().all() else 1.0
    grouped = out.groupby("year", sort=True)
    table = pd.DataFrame(
        {
            "strategy": grouped["strategy"].prod() - 1.0,
            "benchmark": grouped["benchmark"].prod(min_count=1) - 1.0,
        }
    )
    return table.reset_index()


def monthly_table(metrics: dict[str, Any], series: pd.DataFrame) -> pd.DataFrame:
    """Monthly returns (year rows, month columns) with the year's compounded total."""
    table = metrics.get("monthly_returns") or {}
    frame = pd.DataFrame.from_dict(table, orient="index", columns=MONTHS).astype(float)
    frame.index = frame.index.astype(int)
    years = yearly_returns(series).set_index("year")["strategy"]
    frame["Year"] = years.reindex(frame.index)
    frame.index.name = "year"
    return frame.reset_index()


def contributors(trades: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Realised P&L by symbol (closed trades, net of costs), best and worst ``n``."""
    if not len(trades):
        return pd.DataFrame(columns=["symbol", "realised_pnl", "trades", "share_of_total"])
    grouped = trades.groupby("symbol", sort=False)
    table = pd.DataFrame(
        {
            "realised_pnl": grouped["pnl"].sum(min_count=1).fillna(0.0),
            "trades": grouped.size(),
        }
    )
    total = float(table["realised_pnl"].abs().sum())
    table["share_of_total"] = table["realised_pnl"] / total if total else np.nan
    table = table.sort_values("realised_pnl", ascending=False).reset_index()
    if len(table) > 2 * n:
        table = pd.concat([table.head(n), table.tail(n)], ignore_index=True)
    return table


def trades_summary(trades: pd.DataFrame, metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """Counts, traded value and costs of the fills."""
    if not len(trades):
        return [("Fills", "0")]
    value = (trades["price"] * trades["quantity"]).abs()
    buys = trades["side"] == "BUY"
    closed = trades["pnl"].notna() & (trades["side"] == "SELL")
    return [
        ("Fills", format_value(len(trades), "count")),
        (
            "Buys / sells",
            f"{format_value(int(buys.sum()), 'count')} / "
            f"{format_value(int((~buys).sum()), 'count')}",
        ),
        ("Symbols traded", format_value(trades["symbol"].nunique(), "count")),
        ("Traded value", format_value(float(value.sum()), "money")),
        ("Commission", format_value(float(trades["commission"].sum()), "money")),
        ("Stamp tax", format_value(float(trades["tax"].sum()), "money")),
        ("Slippage", format_value(float(trades["slippage"].sum()), "money")),
        ("Closed trades", format_value(int(closed.sum()), "count")),
        ("Win rate (closed)", format_value(metrics.get("win_rate"), "percent")),
        ("Profit factor", format_value(metrics.get("profit_factor"), "ratio")),
        ("Average holding days", format_value(metrics.get("average_holding_days"), "count")),
    ]


def evidence_text(evidence: dict[str, Any], limit: int = 8) -> str:
    """A finding's evidence as ``key: value`` pairs, numbers formatted, long lists cut."""
    parts = []
    for key, value in list(evidence.items())[:limit]:
        if isinstance(value, dict):
            inner = ", ".join(f"{k} {format_value(v)}" for k, v in list(value.items())[:5])
            parts.append(f"{label(key)}: {inner}")
        elif isinstance(value, list):
            shown = ", ".join(format_value(v) for v in value[:5])
            parts.append(f"{label(key)}: {shown}{' …' if len(value) > 5 else ''}")
        else:
            parts.append(f"{label(key)}: {format_value(value)}")
    return "; ".join(parts)
