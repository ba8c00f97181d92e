"""Top-k dropout backtest of model predictions and Qlib's risk analysis of its returns.

:func:`backtest_predictions` is the one place that turns scores into a backtest. It adds the
scores to the panel as a field and runs a ``scores`` run spec (Qlib's TopkDropout
semantics) through the engine's one entry point, :func:`quantlab.engine.run`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.engine.data.panel import Panel
from quantlab.engine.runner import run
from quantlab.engine.spec import RunSpec

#: Qlib annualises daily figures of its risk analysis with 238 trading days.
QLIB_PERIODS = 238
SCORE_FIELD = "score"


#: The exchange of Qlib's LightGBM Alpha158 workflow as run-spec fields: deal at the close,
#: 0.05% commission on both sides (minimum 5), the 0.1% stamp tax on sells (Qlib's
#: ``close_cost`` 0.15% = 0.05% + 0.1%), ±9.5% limits, 100-share lots, T+1, 100,000,000 of
#: cash.
QLIB_RUN_CONFIG: dict[str, Any] = {
    "preset": "cn_a_share",
    "initial_capital": 100_000_000.0,
    "costs": {"commission_rate": 0.0005, "commission_min": 5.0},
    "rules": {"limit_main": 0.095},
    "execution": {"price": "close"},
}


def prediction_spec(
    topk: int, n_drop: int, run_config: dict[str, Any] | None = None, *, free: bool = False
) -> RunSpec:
    """The run spec that trades the panel's ``score`` field with top-k dropout (daily, as
    Qlib's TopkDropout) under ``run_config`` (default :data:`QLIB_RUN_CONFIG`); ``free``
    drops commissions and taxes."""
    data = copy.deepcopy(run_config if run_config is not None else QLIB_RUN_CONFIG)
    if free:
        costs = {"commission_rate": 0.0, "commission_min": 0.0, "stamp_tax": []}
        data["costs"] = {**data.get("costs", {}), **costs}
    data["dataset_id"] = "-"
    data["strategy"] = {"kind": "scores", "score": f"${SCORE_FIELD}", "top_k": topk,
                        "n_drop": n_drop, "rebalance": "daily"}  # fmt: skip
    return RunSpec.model_validate(data)


def with_scores(panel: Panel, scores: np.ndarray, field: str) -> Panel:
    """``panel`` with model predictions as the field ``field``, each moved to the day it is
    traded: the score made with day ``t``'s data is the field's value on day ``t + 1``
    (Qlib's workflow: predict at ``t``'s close, trade on ``t + 1``). The one way a backtest
    reads predictions (this module's and ``POST /api/backtests`` with a model score).

    Parameters
    ----------
    panel : Panel
        The market data.
    scores : numpy.ndarray
        ``(T, N)`` predictions on the panel's axes (NaN: no prediction).
    field : str
        Name of the added field.

    Returns
    -------
    Panel
        The same data plus ``field``; without a dated membership mask or an expression-cache
        key (the added field is not part of the stored version).
    """
    if scores.shape != panel.shape:
        raise ValueError(f"scores {scores.shape} do not match the panel {panel.shape}")
    shifted = np.full(panel.shape, np.nan)
    shifted[1:] = scores[:-1]
    fields = {**panel.fields, field: np.asfortranarray(shifted)}
    meta = {k: v for k, v in panel.meta.items() if k not in ("membership", "version_key")}
    return Panel(panel.calendar, panel.instruments, fields, panel.first, panel.last, meta)


def risk_analysis(returns: np.ndarray, periods: int = QLIB_PERIODS) -> dict[str, float]:
    """Qlib's ``risk_analysis`` (``mode="sum"``) of a daily return series.

    Parameters
    ----------
    returns : numpy.ndarray
        ``(T,)`` daily returns (fractions), NaN days dropped.
    periods : int
        Days per year (Qlib: 238).

    Returns
    -------
    dict
        ``mean`` and ``std`` (ddof 1) per day, ``annualized_return = mean * periods``
        (arithmetic), ``information_ratio = mean / std * sqrt(periods)``, ``max_drawdown``
        of the cumulative sum (a negative fraction).
    """
    r = np.asarray(returns, dtype=np.float64)
    r = r[~np.isnan(r)]
    if r.size < 2:
        nan = math.nan
        return dict.fromkeys(
            ("mean", "std", "annualized_return", "information_ratio", "max_drawdown"), nan
        )
    mean, std = float(r.mean()), float(r.std(ddof=1))
    cum = np.cumsum(r)
    return {
        "mean": mean,
        "std": std,
        "annualized_return": mean * periods,
        "information_ratio": mean / std * math.sqrt(periods) if std > 0 else math.nan,
        "max_drawdown": float((cum - np.maximum.accumulate(cum)).min()),
    }


@dataclass(frozen=True)
class PredictionBacktest:
    """Daily returns of the top-k portfolio with and without costs, the benchmark's, and
    Qlib's risk analysis of the excess returns. ``costs`` are each day's commissions and
    taxes over the previous day's equity (Qlib's report column ``cost``)."""

    dates: np.ndarray
    returns: np.ndarray
    returns_without_cost: np.ndarray
    benchmark_returns: np.ndarray
    costs: np.ndarray
    risk: dict[str, dict[str, float]]
    n_trades: int
    turnover_cost: float
    initial_capital: float = QLIB_RUN_CONFIG["initial_capital"]

    def summary(self) -> dict[str, Any]:
        """The headline figures (JSON-safe)."""
        w, wo = self.risk["excess_return_with_cost"], self.risk["excess_return_without_cost"]

        def f(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "annualized_excess_return_with_cost": f(w["annualized_return"]),
            "annualized_excess_return_without_cost": f(wo["annualized_return"]),
            "information_ratio_with_cost": f(w["information_ratio"]),
            "information_ratio_without_cost": f(wo["information_ratio"]),
            "max_drawdown_with_cost": f(w["max_drawdown"]),
            "max_drawdown_without_cost": f(wo["max_drawdown"]),
            "n_trades": self.n_trades,
            "costs_paid": self.turnover_cost,
            "initial_capital": self.initial_capital,
        }


def _daily_returns(equity: np.ndarray, capital: float) -> np.ndarray:
    """Close-to-close returns; the first day's against the initial capital (Qlib's report)."""
    return np.diff(equity, prepend=capital) / np.concatenate(([capital], equity[:-1]))


def backtest_predictions(
    panel: Panel,
    scores: np.ndarray,
    *,
    start: object,
    end: object,
    topk: int = 50,
    n_drop: int = 5,
    run_config: dict[str, Any] | None = None,
    benchmark: np.ndarray | None = None,
    periods: int = QLIB_PERIODS,
) -> PredictionBacktest:
    """Trade ``scores`` with Qlib's top-k dropout strategy over ``[start, end]``.

    Parameters
    ----------
    panel : Panel
        Prices (``close``, ``open``, ``volume``) over at least ``[start, end]``.
    scores : numpy.ndarray
        ``(T, N)`` predictions on the panel's axes, known at each day's close. As in Qlib's
        workflow the score of day ``t`` is traded on day ``t + 1`` (at its close under
        :data:`QLIB_RUN_CONFIG`), so the first day trades the score of the day before it
        (none when the predictions start on that first day).
    start, end : date-like
        Inclusive backtest range.
    topk, n_drop : int
        Names held and names replaced per day at most.
    run_config : dict, optional
        Run-spec fields (preset, capital, costs, rules, execution); default
        :data:`QLIB_RUN_CONFIG`.
    benchmark : numpy.ndarray, optional
        ``(T,)`` benchmark close on the panel's calendar (e.g. SH000300); zero returns when
        left out. The first day's return is from the panel's day before (as Qlib's).
    periods : int
        Annualisation days of the risk analysis.

    Returns
    -------
    PredictionBacktest
    """
    full = with_scores(panel, scores, SCORE_FIELD)
    first, last = np.datetime64(str(start)[:10], "D"), np.datetime64(str(end)[:10], "D")

    def trade(free: bool) -> Any:
        spec = prediction_spec(topk, n_drop, run_config, free=free)
        return run(spec, full, start=first, end=last, diagnostics=False, cache=None)

    with_cost, without_cost = trade(False), trade(True)
    capital = float(with_cost.spec.initial_capital)
    dates = with_cost.dates
    lo = int(np.searchsorted(panel.calendar, dates[0])) if len(dates) else 0
    b = np.zeros(len(dates))
    if benchmark is not None and len(dates):
        close = np.asarray(benchmark, dtype=np.float64)[max(lo - 1, 0) : lo + len(dates)]
        b[len(dates) - len(close) + 1 :] = close[1:] / close[:-1] - 1.0
    with_cost, without_cost = with_cost.simulation, without_cost.simulation
    equity = with_cost.total_equity
    r = _daily_returns(equity, capital)
    r0 = _daily_returns(without_cost.total_equity, capital)
    risk = {
        "benchmark": risk_analysis(b, periods),
        "excess_return_without_cost": risk_analysis(r0 - b, periods),
        "excess_return_with_cost": risk_analysis(r - b, periods),
    }
    tr = with_cost.trades
    paid = np.bincount(tr.day, weights=tr.commission + tr.tax, minlength=len(equity))
    costs = paid[: len(equity)] / np.concatenate(([capital], equity[:-1]))
    return PredictionBacktest(
        dates=dates,
        returns=r,
        returns_without_cost=r0,
        benchmark_returns=b,
        costs=costs,
        risk=risk,
        n_trades=len(tr),
        turnover_cost=float(np.sum(tr.commission) + np.sum(tr.tax)),
        initial_capital=capital,
    )
