"""Turning a simulation into stored results, and reading them back.

A run's directory under the data dir holds plain files, never pickles:

- ``series.parquet``: date, equity, cash, benchmark, returns, drawdown (one row per day run)
- ``trades.parquet``, ``rejected.parquet``: one row per fill / refused order
- ``positions.npz``: calendar, instruments, industries, quantity and value ``(T, N)``
- ``metrics.json`` (every registered metric), ``diagnostics.json`` (findings)
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.backtest import diagnostics as diag
from quantlab.engine.backtest import metrics as m
from quantlab.engine.backtest.enums import RejectReason
from quantlab.engine.backtest.result import BacktestResult, Trades

RESULTS_DIR = "backtests"
SUMMARY_KEYS = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trade_count",
    "turnover",
    "excess_return",
    "information_ratio",
)


def result_dir(data_dir: Path, backtest_id: str) -> Path:
    """Where one run's files live."""
    return data_dir / RESULTS_DIR / backtest_id


def remove(data_dir: Path, backtest_id: str) -> None:
    """Delete a run's files (after its row is gone)."""
    shutil.rmtree(result_dir(data_dir, backtest_id), ignore_errors=True)


def trade_line(date: Any, side: int, symbol: str, quantity: float, price: float) -> str:
    """A trade log line: ``2023-01-05 BUY 600519 100 @ 1700.00``."""
    qty = f"{quantity:.0f}" if float(quantity).is_integer() else f"{quantity:.4f}"
    return f"{date} {'BUY' if side > 0 else 'SELL'} {symbol} {qty} @ {price:.2f}"


def trades_frame(trades: Trades, calendar: np.ndarray, instruments: np.ndarray) -> pd.DataFrame:
    """Fills as a table; ``side`` is BUY/SELL, ``date`` ISO text."""
    return pd.DataFrame(
        {
            "date": calendar[trades.day].astype(str),
            "symbol": instruments[trades.symbol].astype(str),
            "side": np.where(trades.side > 0, "BUY", "SELL"),
            "price": trades.price,
            "quantity": trades.quantity,
            "commission": trades.commission,
            "tax": trades.tax,
            "slippage": trades.slippage,
            "pnl": trades.pnl,
            "holding_days": trades.holding_days.astype(np.int64),
        }
    )


def closed_trades(trades: Trades) -> m.TradeRecords:
    """Sells as round trips: P&L, days held, and entry value (proceeds minus P&L)."""
    sells = trades.side < 0
    proceeds = trades.price[sells] * trades.quantity[sells]
    pnl = trades.pnl[sells]
    return m.TradeRecords.from_arrays(pnl, trades.holding_days[sells], proceeds - pnl)


def daily_returns(values: np.ndarray, base: float) -> np.ndarray:
    """Simple returns of a value series; day 0 against ``base`` (the initial capital)."""
    v = pd.Series(values).ffill().to_numpy()
    prev = np.concatenate([[base], v[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / prev - 1.0


@dataclass(frozen=True)
class Analysis:
    """Everything computed from a run: daily series, metrics and diagnostics."""

    series: pd.DataFrame
    metrics: dict[str, Any]
    findings: list[dict[str, Any]]
    summary: dict[str, Any]


def analyse(
    result: BacktestResult,
    init_cash: float,
    *,
    seed: int,
    n_parameters: int | None,
    industries: Mapping[str, str] | None,
) -> Analysis:
    """Metrics and diagnostics of the simulated days (all of them, or those run before a
    cancel). Returns are daily simple returns of total equity; the benchmark is rescaled to
    the initial capital, so its first valid day's return is 0."""
    n = result.days_run
    dates = result.calendar[:n]
    equity = result.total_equity[:n]
    returns = daily_returns(equity, init_cash)
    bench = None if result.benchmark is None else result.benchmark[:n]
    bench_ret = None if bench is None else daily_returns(bench, init_cash)
    weights = result.positions_weight()[:n]
    trades = closed_trades(result.trades)
    metrics = m.compute_metrics(returns, dates, bench_ret, trades, weights)
    close = pd.DataFrame(result.close[:n]).ffill().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        asset_ret = np.vstack([np.zeros((1, close.shape[1])), close[1:] / close[:-1] - 1.0])
    reasons: dict[str, int] = {}
    for code in result.rejections.reason.tolist():
        name = RejectReason(code).name.lower()
        reasons[name] = reasons.get(name, 0) + 1
    inputs = diag.DiagnosticInputs(
        returns=returns,
        dates=dates,
        benchmark=bench_ret,
        weights=weights,
        contributions=diag.contributions_from_weights(weights, asset_ret),
        instruments=[str(s) for s in result.instruments],
        industries=dict(industries) if industries else None,
        trades=trades,
        n_parameters=n_parameters,
        rejected_orders=reasons,
        order_count=len(result.trades) + len(result.rejections),
        seed=seed,
    )
    findings = [f.to_dict() for f in diag.run_diagnostics(inputs)]
    series = pd.DataFrame(
        {
            "date": dates.astype(str),
            "equity": equity,
            "cash": result.cash.sum(axis=1)[:n],
            "benchmark": np.full(n, np.nan) if bench is None else bench,
            "returns": returns,
            "drawdown": m.drawdown_series(returns),
        }
    )
    final = float(equity[-1]) if n else init_cash
    summary = {k: metrics.get(k) for k in SUMMARY_KEYS}
    summary["final_equity"] = final if math.isfinite(final) else None
    return Analysis(series, metrics, findings, summary)


def save(
    path: Path,
    result: BacktestResult,
    analysis: Analysis,
    industries: Mapping[str, str] | None,
) -> None:
    """Write a run's files (replacing earlier ones, e.g. of a resumed attempt)."""
    path.mkdir(parents=True, exist_ok=True)
    n = result.days_run
    analysis.series.to_parquet(path / "series.parquet", index=False)
    trades_frame(result.trades, result.calendar, result.instruments).to_parquet(
        path / "trades.parquet", index=False
    )
    rj = result.rejections
    pd.DataFrame(
        {
            "date": result.calendar[rj.day].astype(str),
            "symbol": result.instruments[rj.symbol].astype(str),
            "side": np.where(rj.side > 0, "BUY", "SELL"),
            "quantity": rj.quantity,
            "reason": [RejectReason(int(c)).name.lower() for c in rj.reason],
        }
    ).to_parquet(path / "rejected.parquet", index=False)
    symbols = [str(s) for s in result.instruments]
    np.savez_compressed(
        path / "positions.npz",
        calendar=result.calendar[:n].astype("datetime64[D]"),
        instruments=np.array(symbols, dtype=str),
        industries=np.array([(industries or {}).get(s, "") for s in symbols], dtype=str),
        quantity=result.positions[:n],
        value=result.positions_value()[:n],
    )
    (path / "metrics.json").write_text(json.dumps(analysis.metrics, allow_nan=False))
    (path / "diagnostics.json").write_text(json.dumps(analysis.findings, allow_nan=False))


def read_frame(path: Path, name: str) -> pd.DataFrame:
    """One of the stored tables (``series``, ``trades``, ``rejected``)."""
    return pd.read_parquet(path / f"{name}.parquet")


def read_json(path: Path, name: str) -> Any:
    """``metrics`` or ``diagnostics``."""
    return json.loads((path / f"{name}.json").read_text())


@dataclass(frozen=True)
class Positions:
    """Stored holdings: quantities and values per day and instrument."""

    calendar: np.ndarray
    instruments: list[str]
    industries: list[str]
    quantity: np.ndarray
    value: np.ndarray


def read_positions(path: Path) -> Positions:
    """The stored holdings (``allow_pickle=False``)."""
    with np.load(path / "positions.npz", allow_pickle=False) as npz:
        return Positions(
            calendar=npz["calendar"],
            instruments=[str(s) for s in npz["instruments"]],
            industries=[str(s) for s in npz["industries"]],
            quantity=npz["quantity"],
            value=npz["value"],
        )


def json_records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts with NaN as ``None`` and NumPy scalars as Python numbers."""
    cols = list(columns) if columns is not None else list(frame.columns)
    out: list[dict[str, Any]] = m.json_safe(frame[cols].to_dict(orient="records"))
    return out
