"""Performance metrics of a backtest: plain functions over arrays plus a listable registry.

Conventions shared by every metric here (each docstring repeats what applies):

* ``returns`` are simple (not log) daily returns as float64 fractions, ``0.01`` = 1 %.
* ``NaN`` marks a missing day. It is dropped before any statistic, so annualisation
  counts observed days only; paired metrics (alpha, beta, capture, ...) drop a day
  when either series is ``NaN``. With too few observations the result is ``NaN``.
* Annualisation uses ``periods`` (252 trading days by default): geometric for returns
  (CAGR, as empyrical does), ``sqrt(periods)`` for volatilities and ratios.
* ``risk_free`` is an *annual* rate, turned into a per-period rate geometrically,
  ``(1 + rf) ** (1 / periods) - 1``, as quantstats does (empyrical takes the per-period
  rate directly; the two agree when given the converted rate).
* Drawdowns are negative fractions (``-0.25`` = 25 % below the running peak), as in
  empyrical and quantstats; the running peak starts at the initial capital.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantlab.engine.backtest.rows_nb import weight_row_sums

__all__ = [
    "MetricInputs",
    "MetricSpec",
    "TradeRecords",
    "compute_metrics",
    "drawdown_details",
    "list_metrics",
    "monthly_returns",
]


@dataclass(frozen=True, slots=True)
class TradeRecords:
    """Closed round-trip trades, one entry per trade (the simulator's trade log maps here).

    Attributes
    ----------
    pnl : numpy.ndarray
        Realised profit and loss per trade in account currency, after costs.
    holding_days : numpy.ndarray
        Trading days between entry and exit of each trade.
    entry_value : numpy.ndarray
        Absolute traded value at entry in account currency (the capital at risk).
    """

    pnl: np.ndarray
    holding_days: np.ndarray
    entry_value: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.pnl)
        if len(self.holding_days) != n or len(self.entry_value) != n:
            raise ValueError("pnl, holding_days and entry_value must have one entry per trade")

    @classmethod
    def from_arrays(cls, pnl: Any, holding_days: Any, entry_value: Any) -> TradeRecords:
        """Build from any array-likes, coerced to float64."""
        return cls(
            np.asarray(pnl, dtype=np.float64),
            np.asarray(holding_days, dtype=np.float64),
            np.asarray(entry_value, dtype=np.float64),
        )

    @property
    def returns(self) -> np.ndarray:
        """Return of each trade on its entry value, as a fraction."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.pnl / np.abs(self.entry_value)


# ---------------------------------------------------------------------------------------------
# helpers


def _clean(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=np.float64)
    return r[~np.isnan(r)]


def _paired(returns: np.ndarray, benchmark: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(returns, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    if r.shape != b.shape:
        raise ValueError(f"returns {r.shape} and benchmark {b.shape} differ in shape")
    ok = ~(np.isnan(r) | np.isnan(b))
    return r[ok], b[ok]


def period_rate(annual_rate: float, periods: int = 252) -> float:
    """Per-period rate equivalent to an annual rate, compounded ``periods`` times a year."""
    return float((1.0 + annual_rate) ** (1.0 / periods) - 1.0)


# ---------------------------------------------------------------------------------------------
# return and risk


def total_return(returns: np.ndarray) -> float:
    """Compounded return over the whole series, ``prod(1 + r) - 1``.

    Units: fraction, not annualised. NaN days are dropped (same as a zero-return day);
    ``NaN`` when there is no observation.
    """
    r = _clean(returns)
    if r.size == 0:
        return math.nan
    return float(np.prod(1.0 + r) - 1.0)


def annual_return(returns: np.ndarray, periods: int = 252) -> float:
    """Compound annual growth rate, ``(1 + total) ** (periods / n) - 1``.

    Units: fraction per year; ``n`` counts observed (non-NaN) days, as empyrical's
    ``annual_return``. ``NaN`` when empty or when the account is wiped out (total <= -1).
    """
    r = _clean(returns)
    if r.size == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return math.nan
    return growth ** (periods / r.size) - 1.0


def annual_volatility(returns: np.ndarray, periods: int = 252) -> float:
    """Sample standard deviation (``ddof=1``) of daily returns times ``sqrt(periods)``.

    Units: fraction per year. NaN days dropped; ``NaN`` with fewer than 2 observations.
    """
    r = _clean(returns)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods))


def sharpe_ratio(returns: np.ndarray, risk_free: float = 0.0, periods: int = 252) -> float:
    """Annualised Sharpe ratio, ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods)``.

    Units: dimensionless, annualised. ``risk_free`` is an annual rate (converted per
    period geometrically). NaN days dropped; ``NaN`` with fewer than 2 observations or
    zero dispersion. Same as empyrical ``sharpe_ratio`` and quantstats ``sharpe``.
    """
    r = _clean(returns) - period_rate(risk_free, periods)
    if r.size < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    if sd == 0.0:
        return math.nan
    return float(np.mean(r) / sd * math.sqrt(periods))


def downside_deviation(returns: np.ndarray, risk_free: float = 0.0, periods: int = 252) -> float:
    """Annualised downside deviation below the risk-free rate.

    ``sqrt(mean(min(r - rf, 0) ** 2)) * sqrt(periods)``: the mean runs over *all* observed
    days, not only the losing ones (the target semi-deviation of Sortino & Price, as in
    empyrical ``downside_risk`` and quantstats ``sortino``). Units: fraction per year.
    """
    r = _clean(returns) - period_rate(risk_free, periods)
    if r.size == 0:
        return math.nan
    return float(math.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * math.sqrt(periods))


def sortino_ratio(returns: np.ndarray, risk_free: float = 0.0, periods: int = 252) -> float:
    """Annualised Sortino ratio, ``mean(r - rf) * periods / downside_deviation``.

    Units: dimensionless, annualised. The denominator averages squared shortfalls over all
    days (empyrical and quantstats agree); the variant that takes ``std`` of the negative
    days only gives a different, usually larger, number. NaN days dropped; ``NaN`` with
    fewer than 2 observations; ``inf`` when there is no losing day and the mean is positive.
    """
    r = _clean(returns)
    if r.size < 2:
        return math.nan
    dd = downside_deviation(r, risk_free, periods)
    mean = float(np.mean(r - period_rate(risk_free, periods))) * periods
    if dd == 0.0:
        return math.inf if mean > 0 else math.nan
    return mean / dd


def drawdown_series(returns: np.ndarray) -> np.ndarray:
    """Drawdown of each day from the running peak of compounded wealth.

    Units: fraction, ``<= 0``. The running peak starts at the initial capital of 1, so a
    loss on day one is a drawdown. NaN days count as flat (zero return) to keep alignment.
    """
    r = np.nan_to_num(np.asarray(returns, dtype=np.float64), nan=0.0)
    wealth = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.maximum(wealth, 1.0))
    return wealth / peak - 1.0


def max_drawdown(returns: np.ndarray) -> float:
    """Deepest drawdown from a running peak of compounded wealth.

    Units: fraction, ``<= 0`` (``-0.2`` = 20 % below peak). NaN days count as flat.
    ``NaN`` when empty. Same as empyrical ``max_drawdown`` and quantstats ``max_drawdown``.
    """
    if len(returns) == 0 or np.isnan(returns).all():
        return math.nan
    return float(np.min(drawdown_series(returns)))


def drawdown_details(returns: np.ndarray, dates: np.ndarray) -> dict[str, Any]:
    """Peak, trough and recovery of the maximum drawdown.

    Returns a dict: ``max_drawdown`` (fraction, <= 0), ``start`` (ISO date of the peak;
    the first date when the peak is the initial capital), ``trough``, ``recovery`` (first
    date back at the peak, ``None`` if not recovered), ``duration_days`` (calendar days
    from start to recovery, or to the last date when unrecovered) and
    ``duration_periods`` (the same span in trading days). All ``None`` when there is
    no drawdown or no data. NaN days count as flat.
    """
    out: dict[str, Any] = dict.fromkeys(
        ("max_drawdown", "start", "trough", "recovery", "duration_days", "duration_periods")
    )
    if len(returns) == 0:
        return out
    d = np.asarray(dates, dtype="datetime64[D]")
    dd = drawdown_series(returns)
    trough = int(np.argmin(dd))
    out["max_drawdown"] = float(dd[trough])
    if dd[trough] >= 0.0:
        return out
    at_peak = np.flatnonzero(dd[:trough] >= 0.0)
    start = int(at_peak[-1]) if at_peak.size else 0
    after = np.flatnonzero(dd[trough:] >= 0.0)
    end = trough + int(after[0]) if after.size else len(dd) - 1
    out["start"] = str(d[start])
    out["trough"] = str(d[trough])
    out["recovery"] = str(d[end]) if after.size else None
    out["duration_days"] = int((d[end] - d[start]).astype(int))
    out["duration_periods"] = end - start
    return out


def average_drawdown(returns: np.ndarray) -> float:
    """Mean depth of the drawdown episodes (each run of days below the running peak).

    Units: fraction, ``<= 0``; each episode contributes its deepest point once. ``0.0`` when
    wealth never falls below its peak; ``NaN`` when empty. NaN days count as flat.
    """
    if len(returns) == 0:
        return math.nan
    dd = drawdown_series(returns)
    under = dd < 0.0
    if not under.any():
        return 0.0
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return float(np.mean(np.minimum.reduceat(dd, starts)[: len(ends)]))


def calmar_ratio(returns: np.ndarray, periods: int = 252) -> float:
    """Annual return divided by the absolute maximum drawdown.

    Units: dimensionless. ``NaN`` when there is no drawdown or no data; matches empyrical
    ``calmar_ratio`` and quantstats ``calmar`` (both annualise with ``periods``).
    """
    mdd = max_drawdown(returns)
    if not mdd < 0.0:
        return math.nan
    return annual_return(returns, periods) / abs(mdd)


def value_at_risk(returns: np.ndarray, confidence: float = 0.95) -> float:
    """Historical one-day value at risk: the ``1 - confidence`` quantile of daily returns.

    Units: fraction (negative for a loss). Linear interpolation between order statistics
    (``numpy.percentile``), as empyrical ``value_at_risk``; quantstats's ``value_at_risk``
    is the *parametric* (normal) VaR and differs by design. NaN days dropped.
    """
    r = _clean(returns)
    if r.size == 0:
        return math.nan
    return float(np.percentile(r, 100.0 * (1.0 - confidence)))


def conditional_value_at_risk(returns: np.ndarray, confidence: float = 0.95) -> float:
    """Historical expected shortfall: mean of the daily returns at or below the VaR.

    Units: fraction. Same as quantstats ``cvar(method="historical")``. empyrical averages
    the lowest ``floor((n - 1) * (1 - confidence)) + 1`` returns instead; both agree when
    ``(n - 1) * (1 - confidence)`` is a whole number. NaN days dropped.
    """
    r = _clean(returns)
    if r.size == 0:
        return math.nan
    var = np.percentile(r, 100.0 * (1.0 - confidence))
    return float(np.mean(r[r <= var]))


def skewness(returns: np.ndarray) -> float:
    """Sample skewness, bias-corrected (adjusted Fisher–Pearson, as pandas ``skew``).

    Units: dimensionless. NaN days dropped; ``NaN`` with fewer than 3 observations or zero
    dispersion. Matches quantstats ``skew`` and ``scipy.stats.skew(bias=False)``.
    """
    r = _clean(returns)
    n = r.size
    if n < 3:
        return math.nan
    c = r - r.mean()
    m2, m3 = np.mean(c**2), np.mean(c**3)
    if m2 == 0.0:
        return math.nan
    g1 = m3 / m2**1.5
    return float(g1 * math.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(returns: np.ndarray) -> float:
    """Excess kurtosis, bias-corrected (as pandas ``kurt``; a normal sample gives about 0).

    Units: dimensionless. NaN days dropped; ``NaN`` with fewer than 4 observations or zero
    dispersion. Matches quantstats ``kurtosis`` and ``scipy.stats.kurtosis(bias=False)``.
    """
    r = _clean(returns)
    n = r.size
    if n < 4:
        return math.nan
    c = r - r.mean()
    m2, m4 = np.mean(c**2), np.mean(c**4)
    if m2 == 0.0:
        return math.nan
    g2 = m4 / m2**2 - 3.0
    return float(((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3)))


def daily_win_rate(returns: np.ndarray) -> float:
    """Share of positive days among days with a non-zero return (quantstats ``win_rate``).

    Units: fraction. Flat days (return exactly 0, e.g. out of the market) are excluded;
    NaN days dropped; ``NaN`` when no day moved.
    """
    r = _clean(returns)
    moved = r[r != 0.0]
    if moved.size == 0:
        return math.nan
    return float(np.mean(moved > 0.0))


def best_day(returns: np.ndarray) -> float:
    """Largest daily return. Units: fraction. NaN days dropped; ``NaN`` when empty."""
    r = _clean(returns)
    return float(r.max()) if r.size else math.nan


def worst_day(returns: np.ndarray) -> float:
    """Smallest daily return. Units: fraction. NaN days dropped; ``NaN`` when empty."""
    r = _clean(returns)
    return float(r.min()) if r.size else math.nan


# ---------------------------------------------------------------------------------------------
# calendar aggregation


def monthly_series(returns: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compounded return of each calendar month present in ``dates``.

    Returns ``(months, values)``: ``datetime64[M]`` and fractions. NaN days count as flat;
    a month with only NaN days is absent.
    """
    r = np.asarray(returns, dtype=np.float64)
    m = np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]")
    ok = ~np.isnan(r)
    if len(r) != len(m):
        raise ValueError("returns and dates differ in length")
    months, inverse = np.unique(m[ok], return_inverse=True)
    log_growth = np.zeros(len(months))
    np.add.at(log_growth, inverse, np.log1p(r[ok]))
    return months, np.expm1(log_growth)


def monthly_returns(returns: np.ndarray, dates: np.ndarray) -> dict[str, list[float | None]]:
    """Year × month table of compounded monthly returns.

    Returns ``{"2020": [jan, ..., dec], ...}`` with fractions and ``None`` where the month
    has no observation. Compounding is within the month, as quantstats ``monthly_returns``.
    """
    months, values = monthly_series(returns, dates)
    index = months.astype(np.int64)  # months since 1970-01
    table: dict[str, list[float | None]] = {}
    for y, m, value in zip((index // 12 + 1970).tolist(), (index % 12).tolist(),
                           values.tolist(), strict=True):  # fmt: skip
        table.setdefault(str(y), [None] * 12)[m] = value
    return table


def best_month(returns: np.ndarray, dates: np.ndarray) -> float:
    """Best compounded calendar-month return. Units: fraction; ``NaN`` when empty."""
    _, v = monthly_series(returns, dates)
    return float(v.max()) if v.size else math.nan


def worst_month(returns: np.ndarray, dates: np.ndarray) -> float:
    """Worst compounded calendar-month return. Units: fraction; ``NaN`` when empty."""
    _, v = monthly_series(returns, dates)
    return float(v.min()) if v.size else math.nan


# ---------------------------------------------------------------------------------------------
# relative to a benchmark


def beta(
    returns: np.ndarray, benchmark: np.ndarray, risk_free: float = 0.0, periods: int = 252
) -> float:
    """Slope of strategy on benchmark excess returns, ``cov(r, b) / var(b)``.

    Units: dimensionless. Days where either series is NaN are dropped; ``NaN`` with fewer
    than 2 pairs or a constant benchmark. Same as empyrical ``beta``.
    """
    r, b = _paired(returns, benchmark)
    if r.size < 2:
        return math.nan
    rf = period_rate(risk_free, periods)
    r, b = r - rf, b - rf
    bc = b - b.mean()
    var = float(np.mean(bc**2))
    if var < 1e-30:
        return math.nan
    return float(np.mean(bc * r) / var)


def alpha(
    returns: np.ndarray, benchmark: np.ndarray, risk_free: float = 0.0, periods: int = 252
) -> float:
    """Jensen's alpha, annualised: ``(1 + mean(r - rf - beta * (b - rf))) ** periods - 1``.

    Units: fraction per year, the annualisation empyrical ``alpha`` uses (quantstats
    ``greeks`` multiplies the daily alpha by ``periods`` instead). Pairwise NaN dropping.
    """
    r, b = _paired(returns, benchmark)
    bt = beta(r, b, risk_free, periods)
    if math.isnan(bt):
        return math.nan
    rf = period_rate(risk_free, periods)
    daily = float(np.mean((r - rf) - bt * (b - rf)))
    return (1.0 + daily) ** periods - 1.0


def tracking_error(returns: np.ndarray, benchmark: np.ndarray, periods: int = 252) -> float:
    """Annualised standard deviation (``ddof=1``) of active returns ``r - b``.

    Units: fraction per year. Pairwise NaN dropping; ``NaN`` with fewer than 2 pairs.
    """
    r, b = _paired(returns, benchmark)
    if r.size < 2:
        return math.nan
    return float(np.std(r - b, ddof=1) * math.sqrt(periods))


def information_ratio(returns: np.ndarray, benchmark: np.ndarray, periods: int = 252) -> float:
    """Annualised information ratio, ``mean(r - b) / std(r - b, ddof=1) * sqrt(periods)``.

    Units: dimensionless, annualised. quantstats ``information_ratio`` and empyrical
    ``excess_sharpe`` report the daily figure, i.e. this divided by ``sqrt(periods)``.
    Pairwise NaN dropping; ``NaN`` with fewer than 2 pairs or zero tracking error.
    """
    r, b = _paired(returns, benchmark)
    if r.size < 2:
        return math.nan
    sd = float(np.std(r - b, ddof=1))
    if sd == 0.0:
        return math.nan
    return float(np.mean(r - b) / sd * math.sqrt(periods))


def excess_return(returns: np.ndarray, benchmark: np.ndarray, periods: int = 252) -> float:
    """Annual return of the strategy minus that of the benchmark over the same days.

    Units: fraction per year (difference of CAGRs). Pairwise NaN dropping.
    """
    r, b = _paired(returns, benchmark)
    return annual_return(r, periods) - annual_return(b, periods)


def _capture(returns: np.ndarray, benchmark: np.ndarray, up: bool, periods: int) -> float:
    r, b = _paired(returns, benchmark)
    mask = b > 0.0 if up else b < 0.0
    if not mask.any():
        return math.nan
    denominator = annual_return(b[mask], periods)
    if denominator == 0.0 or math.isnan(denominator):
        return math.nan
    return annual_return(r[mask], periods) / denominator


def up_capture(returns: np.ndarray, benchmark: np.ndarray, periods: int = 252) -> float:
    """Up-market capture: CAGR of the strategy over CAGR of the benchmark on days ``b > 0``.

    Units: ratio (1.0 = moves fully with the benchmark on up days). Both CAGRs annualise
    over the selected days only, as empyrical ``up_capture``. Pairwise NaN dropping.
    """
    return _capture(returns, benchmark, True, periods)


def down_capture(returns: np.ndarray, benchmark: np.ndarray, periods: int = 252) -> float:
    """Down-market capture: like :func:`up_capture` on days ``b < 0``; lower is better.

    Units: ratio. Matches empyrical ``down_capture``. Pairwise NaN dropping.
    """
    return _capture(returns, benchmark, False, periods)


# ---------------------------------------------------------------------------------------------
# trades and positions


def _trade_pnl(trades: TradeRecords) -> np.ndarray:
    return _clean(trades.pnl)


def trade_count(trades: TradeRecords) -> float:
    """Number of closed trades with a known P&L. Units: count."""
    return float(_trade_pnl(trades).size)


def win_rate(trades: TradeRecords) -> float:
    """Share of trades with positive realised P&L (break-even trades count as non-wins).

    Units: fraction. Trades with NaN P&L dropped; ``NaN`` without trades.
    """
    p = _trade_pnl(trades)
    return float(np.mean(p > 0.0)) if p.size else math.nan


def profit_loss_ratio(trades: TradeRecords) -> float:
    """Average winning trade P&L over the absolute average losing trade P&L (payoff ratio).

    Units: ratio. ``NaN`` without both a winning and a losing trade.
    """
    p = _trade_pnl(trades)
    wins, losses = p[p > 0.0], p[p < 0.0]
    if wins.size == 0 or losses.size == 0:
        return math.nan
    return float(wins.mean() / abs(losses.mean()))


def profit_factor(trades: TradeRecords) -> float:
    """Gross profit over gross loss of closed trades.

    Units: ratio. ``inf`` with profits and no loss, ``NaN`` without trades or any P&L
    (quantstats ``profit_factor`` on the same numbers agrees, except it gives 0 there).
    """
    p = _trade_pnl(trades)
    gain, loss = float(p[p > 0.0].sum()), float(-p[p < 0.0].sum())
    if loss == 0.0:
        return math.inf if gain > 0.0 else math.nan
    return gain / loss


def expectancy(trades: TradeRecords) -> float:
    """Mean realised P&L per trade. Units: account currency; ``NaN`` without trades."""
    p = _trade_pnl(trades)
    return float(p.mean()) if p.size else math.nan


def average_trade_return(trades: TradeRecords) -> float:
    """Mean return per trade on its entry value. Units: fraction; NaN/zero entries dropped."""
    r = trades.returns
    r = r[np.isfinite(r)]
    return float(r.mean()) if r.size else math.nan


def average_holding_days(trades: TradeRecords) -> float:
    """Mean holding period of closed trades. Units: trading days; NaN entries dropped."""
    h = _clean(trades.holding_days)
    return float(h.mean()) if h.size else math.nan


def nan_to_zero(values: np.ndarray) -> np.ndarray:
    """``nan_to_num(values, nan=0.0)``, without the copy when every value is finite (the
    weights of a run are: one pass instead of four)."""
    a = np.asarray(values, dtype=np.float64)
    return a if math.isfinite(float(a.sum())) else np.nan_to_num(a, nan=0.0)


def turnover(positions: np.ndarray, periods: int = 252) -> float:
    """Annualised one-way turnover of portfolio weights.

    ``mean_t(sum_i |w[t, i] - w[t-1, i]|) / 2 * periods`` with ``w[-1] = 0``, so building
    the first book counts. ``positions`` is ``(T, N)`` end-of-day weights as fractions of
    equity; NaN counts as no position. Units: fraction of equity per year (1.0 = the whole
    book replaced once a year). Weight drift from price moves counts as trading.
    """
    return _turnover(position_rows(positions), periods)


def exposure(positions: np.ndarray) -> float:
    """Mean gross exposure, ``mean_t(sum_i |w[t, i]|)``.

    Units: fraction of equity (1.0 = fully invested, >1 = leveraged). NaN = no position.
    """
    return _exposure(position_rows(positions))


def net_exposure(positions: np.ndarray) -> float:
    """Mean net exposure, ``mean_t(sum_i w[t, i])``. Units: fraction of equity."""
    return _net_exposure(position_rows(positions))


def position_rows(positions: np.ndarray) -> np.ndarray:
    """``(3, T)`` daily sums of the weights (NaN as 0): one-way step, gross, net; in one
    pass and to the bit what ``.sum(axis=1)`` of each term gives (see ``rows_nb``)."""
    w = np.asarray(positions, dtype=np.float64)
    return weight_row_sums(w.reshape(w.shape[0], -1))  # NaN as 0 and inf clipped in there


def _turnover(rows: np.ndarray | None, periods: int) -> float:
    return float(rows[0].mean() / 2.0 * periods) if rows is not None and rows.shape[1] else math.nan


def _exposure(rows: np.ndarray | None) -> float:
    return float(rows[1].mean()) if rows is not None and rows.shape[1] else math.nan


def _net_exposure(rows: np.ndarray | None) -> float:
    return float(rows[2].mean()) if rows is not None and rows.shape[1] else math.nan


# ---------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True, slots=True)
class MetricInputs:
    """Everything a metric may read; optional parts are ``None`` when not available."""

    returns: np.ndarray
    dates: np.ndarray
    benchmark: np.ndarray | None = None
    trades: TradeRecords | None = None
    positions: np.ndarray | None = None
    periods: int = 252
    risk_free: float = 0.0
    position_rows: np.ndarray | None = None  # position_rows(positions), computed once


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A registered metric: what clients list and what :func:`compute_metrics` runs."""

    name: str
    description: str
    unit: str
    higher_is_better: bool | None
    function: Callable[[MetricInputs], Any]
    requires: tuple[str, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        """JSON-safe description (no function object)."""
        return {
            "name": self.name,
            "description": self.description,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "requires": list(self.requires),
        }


METRICS: dict[str, MetricSpec] = {}


def register_metric(
    name: str,
    description: str,
    unit: str,
    higher_is_better: bool | None,
    function: Callable[[MetricInputs], Any],
    requires: tuple[str, ...] = (),
) -> MetricSpec:
    """Add a metric to the registry (names are unique)."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is already registered")
    spec = MetricSpec(name, description, unit, higher_is_better, function, requires)
    METRICS[name] = spec
    return spec


def list_metrics() -> list[dict[str, Any]]:
    """Descriptions of all registered metrics, in registration order."""
    return [spec.describe() for spec in METRICS.values()]


_OPTIONAL = ("benchmark", "trades", "positions")


def _bind(function: Callable[..., Any], args: tuple[str, ...]) -> Callable[[MetricInputs], Any]:
    def call(inputs: MetricInputs) -> Any:
        return function(*(getattr(inputs, a) for a in args))

    return call


def _add(name: str, fn: Callable[..., Any], args: str, unit: str, higher: bool | None) -> None:
    """Register ``fn`` called with the named inputs; its docstring's first line describes it."""
    names = tuple(args.split())
    text = (fn.__doc__ or name).strip().splitlines()[0].split(". ")[0].rstrip(".")
    needs = tuple(a for a in names if a in _OPTIONAL)
    register_metric(name, text, unit, higher, _bind(fn, names), needs)


def _duration(returns: np.ndarray, dates: np.ndarray) -> Any:
    """Calendar days from the maximum drawdown's peak to its recovery (or to the last day)."""
    return drawdown_details(returns, dates)["duration_days"]


_R, _RP, _RD = "returns", "returns periods", "returns dates"
_RFP, _BP = "returns risk_free periods", "returns benchmark periods"
_BFP = "returns benchmark risk_free periods"
_add("total_return", total_return, _R, "fraction", True)
_add("annual_return", annual_return, _RP, "fraction/year", True)
_add("annual_volatility", annual_volatility, _RP, "fraction/year", False)
_add("sharpe_ratio", sharpe_ratio, _RFP, "ratio", True)
_add("sortino_ratio", sortino_ratio, _RFP, "ratio", True)
_add("calmar_ratio", calmar_ratio, _RP, "ratio", True)
_add("max_drawdown", max_drawdown, _R, "fraction", True)
_add("max_drawdown_duration", _duration, _RD, "days", False)
_add("max_drawdown_details", drawdown_details, _RD, "record", None)
_add("average_drawdown", average_drawdown, _R, "fraction", True)
_add("value_at_risk_95", value_at_risk, _R, "fraction", True)
_add("cvar_95", conditional_value_at_risk, _R, "fraction", True)
_add("skew", skewness, _R, "ratio", True)
_add("kurtosis", kurtosis, _R, "ratio", False)
_add("daily_win_rate", daily_win_rate, _R, "fraction", True)
_add("best_day", best_day, _R, "fraction", True)
_add("worst_day", worst_day, _R, "fraction", True)
_add("best_month", best_month, _RD, "fraction", True)
_add("worst_month", worst_month, _RD, "fraction", True)
_add("monthly_returns", monthly_returns, _RD, "table", None)
_add("alpha", alpha, _BFP, "fraction/year", True)
_add("beta", beta, _BFP, "ratio", None)
_add("information_ratio", information_ratio, _BP, "ratio", True)
_add("tracking_error", tracking_error, _BP, "fraction/year", False)
_add("excess_return", excess_return, _BP, "fraction/year", True)
_add("up_capture", up_capture, _BP, "ratio", True)
_add("down_capture", down_capture, _BP, "ratio", False)
_add("trade_count", trade_count, "trades", "count", None)
_add("win_rate", win_rate, "trades", "fraction", True)
_add("profit_loss_ratio", profit_loss_ratio, "trades", "ratio", True)
_add("profit_factor", profit_factor, "trades", "ratio", True)
_add("expectancy", expectancy, "trades", "currency", True)
_add("average_trade_return", average_trade_return, "trades", "fraction", True)
_add("average_holding_days", average_holding_days, "trades", "days", None)


def _add_rows(name: str, fn: Callable[..., Any], rows: Callable[[MetricInputs], Any],
              unit: str, higher: bool | None) -> None:  # fmt: skip
    """Register a metric of the weights that reads their daily sums (one pass for all)."""
    text = (fn.__doc__ or name).strip().splitlines()[0].split(". ")[0].rstrip(".")
    register_metric(name, text, unit, higher, rows, ("positions",))


_add_rows("turnover", turnover, lambda x: _turnover(x.position_rows, x.periods),
          "fraction/year", False)  # fmt: skip
_add_rows("exposure", exposure, lambda x: _exposure(x.position_rows), "fraction", None)
_add_rows("net_exposure", net_exposure, lambda x: _net_exposure(x.position_rows), "fraction",
          None)  # fmt: skip


def json_safe(value: Any) -> Any:
    """Recursively turn NaN/inf into ``None`` and NumPy scalars into Python numbers."""
    kind = type(value)  # the plain types first: most values are (abc checks cost more)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _missing(inputs: MetricInputs, need: str) -> bool:
    if need == "positions":  # the registered weight metrics read their daily sums only
        return inputs.position_rows is None
    return getattr(inputs, need) is None


def compute_metrics(
    returns: np.ndarray,
    dates: np.ndarray,
    benchmark: np.ndarray | None = None,
    trades: TradeRecords | None = None,
    positions: np.ndarray | None = None,
    periods: int = 252,
    risk_free: float = 0.0,
    weight_rows: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every registered metric at once, as a JSON-safe dict keyed by metric name.

    Parameters
    ----------
    returns : numpy.ndarray
        Daily simple returns, float64 fractions, shape ``(T,)``; NaN = missing day.
    dates : numpy.ndarray
        ``datetime64[D]`` (or ISO strings) of each return, shape ``(T,)``.
    benchmark : numpy.ndarray, optional
        Benchmark daily returns aligned with ``returns``.
    trades : TradeRecords, optional
        Closed trades.
    positions : numpy.ndarray, optional
        ``(T, N)`` end-of-day weights as fractions of equity.
    periods : int
        Periods per year for annualisation (252 trading days).
    risk_free : float
        Annual risk-free rate as a fraction.
    weight_rows : numpy.ndarray, optional
        :func:`position_rows` of the weights, when the caller has them without the
        ``(T, N)`` weights (the metrics of the weights then need no ``positions``).

    Returns
    -------
    dict
        Metric name to value; a metric whose input is missing, or whose value is NaN or
        infinite, maps to ``None``.
    """
    r = np.asarray(returns, dtype=np.float64)
    d = np.asarray(dates, dtype="datetime64[D]")
    if r.ndim != 1 or d.shape != r.shape:
        raise ValueError("returns and dates must be 1-D and of equal length")
    w = None if positions is None else np.asarray(positions, dtype=np.float64)
    inputs = MetricInputs(
        returns=r,
        dates=d,
        benchmark=None if benchmark is None else np.asarray(benchmark, dtype=np.float64),
        trades=trades,
        positions=w,
        periods=periods,
        risk_free=risk_free,
        position_rows=weight_rows if w is None else position_rows(w),
    )
    out: dict[str, Any] = {}
    for spec in METRICS.values():
        if any(_missing(inputs, need) for need in spec.requires):
            out[spec.name] = None
            continue
        out[spec.name] = json_safe(spec.function(inputs))
    return out
