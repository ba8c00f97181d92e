"""From a simulation to its analysis: daily series, every metric, diagnostic findings.

Returns are daily simple returns of total equity, day 0 against the initial capital; the
benchmark is rescaled to the initial capital, so its first valid day's return is 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.background import Background
from quantlab.engine.backtest import diagnostics as diag
from quantlab.engine.backtest import metrics as m
from quantlab.engine.backtest.diagnostics_nb import weight_analysis
from quantlab.engine.backtest.enums import RejectReason
from quantlab.engine.backtest.result import BacktestResult, Trades, ffill_nb
from quantlab.engine.data.universe import StaticUniverseBias

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


def trade_line(date: Any, side: int, symbol: str, quantity: float, price: float) -> str:
    """A trade log line: ``2023-01-05 BUY 600519 100 @ 1700.00``."""
    qty = f"{quantity:.0f}" if float(quantity).is_integer() else f"{quantity:.4f}"
    return f"{date} {'BUY' if side > 0 else 'SELL'} {symbol} {qty} @ {price:.2f}"


def trades_frame(trades: Trades, calendar: np.ndarray, instruments: np.ndarray) -> pd.DataFrame:
    """Fills as a table; ``side`` is BUY/SELL, ``date`` ISO text. Prices and quantities are
    the traded ones; ``adjusted_price`` (the fill on the data's adjusted basis) is added when
    it differs from ``price`` for some fill."""
    frame = pd.DataFrame(
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
    if not np.allclose(trades.adjusted_price, trades.price, rtol=1e-12, atol=0.0):
        frame.insert(4, "adjusted_price", trades.adjusted_price)
    return frame


def rejected_frame(result: BacktestResult) -> pd.DataFrame:
    """Refused orders as a table, with the reason's name."""
    rj = result.rejections
    return pd.DataFrame(
        {
            "date": result.calendar[rj.day].astype(str),
            "symbol": result.instruments[rj.symbol].astype(str),
            "side": np.where(rj.side > 0, "BUY", "SELL"),
            "quantity": rj.quantity,
            "reason": _REASON_NAMES[rj.reason.astype(np.intp)] if len(rj) else [],
        }
    )


_REASON_NAMES = np.full(max(RejectReason) + 1, "", dtype=object)  # code → name, vectorised
for _reason in RejectReason:
    _REASON_NAMES[_reason] = _reason.name.lower()


def closed_trades(trades: Trades) -> m.TradeRecords:
    """Sells as round trips: P&L, days held, and entry value (proceeds minus P&L)."""
    sells = trades.side < 0
    proceeds = trades.price[sells] * trades.quantity[sells]
    pnl = trades.pnl[sells]
    return m.TradeRecords.from_arrays(pnl, trades.holding_days[sells], proceeds - pnl)


def daily_returns(values: np.ndarray, base: float) -> np.ndarray:
    """Simple returns of a value series; day 0 against ``base`` (the initial capital).

    Parameters
    ----------
    values : numpy.ndarray
        ``(T,)`` values (NaN = unknown, carried forward).
    base : float
        The value before day 0.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` fractions; ``values[t] / values[t-1] - 1``.
    """
    v = pd.Series(values).ffill().to_numpy()
    prev = np.concatenate([[base], v[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(v / prev - 1.0)


def _weight_analysis(
    result: BacktestResult, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`weight_analysis` of the first ``n`` days, against asset returns on the
    adjusted basis (continuous through splits and dividends)."""
    close = result.last_close() if result.factor is None else ffill_nb(result.adjusted_close)
    return weight_analysis(result.positions[:n], result.last_close()[:n], result.equity[:n],
                           close[:n])  # fmt: skip


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
    diagnostics: bool = True,
    universe_bias: StaticUniverseBias | None = None,
) -> Analysis:
    """Metrics and diagnostics of the simulated days (all of them, or those run before a
    cancel).

    Parameters
    ----------
    result : BacktestResult
        The simulation.
    init_cash : float
        Initial capital of the whole portfolio (day 0's returns are against it).
    seed : int
        Seed of the bootstrap diagnostics.
    n_parameters : int or None
        Free parameters of the strategy (overfitting diagnostics).
    industries : mapping or None
        Instrument code to industry code.
    diagnostics : bool
        False skips the diagnostic findings (metrics only, for parameter sweeps).
    universe_bias : StaticUniverseBias or None
        Evidence on a static universe (the survivorship diagnostic).

    Returns
    -------
    Analysis
    """
    n = result.days_run
    dates = result.calendar[:n]
    equity = result.total_equity[:n]
    returns = daily_returns(equity, init_cash)
    # the diagnostics' bootstrap and the weights' pass (their random draws and kernels
    # release the GIL) run on threads of their own while this one computes the trades,
    # the metrics and the diagnostics that need neither
    luck = (
        Background(diag.bootstrap_luck_percentile, returns, diag.BOOTSTRAP_SAMPLES, seed,
                   diag.PERIODS)
        if diagnostics
        else None
    )  # fmt: skip
    weighed = Background(_weight_analysis, result, n) if diagnostics else None
    # without diagnostics the metrics need the weights' daily sums only: a run that holds
    # its daily arrays adds them up on a thread too (a lean run summed them as it went)
    summed = Background(result.weight_sums, n) if not diagnostics and result.daily.held else None
    bench = None if result.benchmark is None else result.benchmark[:n]
    bench_ret = None if bench is None else daily_returns(bench, init_cash)
    trades = closed_trades(result.trades)
    # the tables first: built while the weights' thread runs, before the metrics wait for it
    series = pd.DataFrame(
        {
            "date": dates.astype(str),
            "equity": equity,
            "cash": result.total_cash[:n],
            "benchmark": np.full(n, np.nan) if bench is None else bench,
            "returns": returns,
            "drawdown": m.drawdown_series(returns),
        }
    )
    findings: list[dict[str, Any]] = []
    # The metrics and diagnostics read the weights through daily sums only: they are built
    # row by row in one pass, never as a (T, N) matrix (same values, see diagnostics_nb).
    if not diagnostics:
        rows = result.weight_sums(n) if summed is None else summed.result()
        metrics = m.compute_metrics(returns, dates, bench_ret, trades, weight_rows=rows)
    else:
        assert weighed is not None
        rows, raw_net, hhi, totals = weighed.result()
        metrics = m.compute_metrics(returns, dates, bench_ret, trades, weight_rows=rows)
        reasons: dict[str, int] = {}
        for code in result.rejections.reason.tolist():
            name = RejectReason(code).name.lower()
            reasons[name] = reasons.get(name, 0) + 1
        inputs = diag.DiagnosticInputs(
            returns=returns,
            dates=dates,
            benchmark=bench_ret,
            # yesterday's weight x today's return, summed per instrument
            contribution_totals=totals,
            concentration=(rows[1], hhi[rows[1] > 0]),
            cash_share=np.clip(1.0 - raw_net, 0.0, 1.0),
            instruments=[str(s) for s in result.instruments],
            industries=dict(industries) if industries else None,
            trades=trades,
            n_parameters=n_parameters,
            rejected_orders=reasons,
            order_count=len(result.trades) + len(result.rejections),
            seed=seed,
            universe_bias=universe_bias,
            bootstrap=None if luck is None else luck.result,  # waited for when read
        )
        findings = [f.to_dict() for f in diag.run_diagnostics(inputs)]
    final = float(equity[-1]) if n else init_cash
    summary = {k: metrics.get(k) for k in SUMMARY_KEYS}
    summary["final_equity"] = final if math.isfinite(final) else None
    return Analysis(series, metrics, findings, summary)
