"""Factor IC analysis: forward returns, IC and Rank IC, decay, quantile groups and turnover.

Inputs are ``(T, N)`` float64 panels over (trading day, instrument) — the factor and the
close price — in any memory order; the cross-sectional kernels copy them to day-major
(C) order once, because every kernel here walks one day's row at a time.

NaN rules: a factor value or price that is NaN (or a price that is not positive, such
as EastMoney's subtractive forward adjustment produces) is missing. A day's statistic
uses only the instruments where every input it needs is present, and is NaN when fewer
than ``min_instruments`` remain. Summaries average over days with a value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from quantlab.engine.data import Panel

__all__ = [
    "FactorAnalysis",
    "ICSummary",
    "analyse_factor",
    "analyse_panel_factor",
    "forward_returns",
    "information_coefficient",
    "information_coefficients",
    "label_ahead",
    "quantile_groups",
]


# ---------------------------------------------------------------------------------------------
# kernels (day-major rows)


@njit(cache=True)
def _pearson_nb(x: np.ndarray, y: np.ndarray, n: int) -> float:
    mx = 0.0
    my = 0.0
    for k in range(n):
        mx += x[k]
        my += y[k]
    mx /= n
    my /= n
    sxy = 0.0
    sxx = 0.0
    syy = 0.0
    for k in range(n):
        dx = x[k] - mx
        dy = y[k] - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    if sxx <= 0.0 or syy <= 0.0:
        return np.nan
    return sxy / math.sqrt(sxx * syy)


@njit(cache=True)
def _average_rank_nb(v: np.ndarray, n: int, out: np.ndarray) -> None:
    order = np.argsort(v[:n])
    k = 0
    while k < n:
        j = k
        while j + 1 < n and v[order[j + 1]] == v[order[k]]:
            j += 1
        rank = 0.5 * (k + j) + 1.0  # ties share the mean of their 1-based positions
        for m in range(k, j + 1):
            out[order[m]] = rank
        k = j + 1


@njit(cache=True)
def row_corr_nb(a: np.ndarray, b: np.ndarray, rank: bool, min_obs: int) -> np.ndarray:
    """Correlation of each row of ``a`` with the same row of ``b`` over pairs without NaN.

    Pearson, or Spearman (Pearson of average-tie ranks) when ``rank``; NaN for a row
    with fewer than ``min_obs`` pairs or no dispersion.
    """
    t_len, n_len = a.shape
    out = np.full(t_len, np.nan)
    x = np.empty(n_len)
    y = np.empty(n_len)
    rx = np.empty(n_len)
    ry = np.empty(n_len)
    for t in range(t_len):
        n = 0
        for i in range(n_len):
            ai = a[t, i]
            bi = b[t, i]
            if not (np.isnan(ai) or np.isnan(bi)):
                x[n] = ai
                y[n] = bi
                n += 1
        if n < min_obs or n < 2:
            continue
        if rank:
            _average_rank_nb(x, n, rx)
            _average_rank_nb(y, n, ry)
            out[t] = _pearson_nb(rx, ry, n)
        else:
            out[t] = _pearson_nb(x, y, n)
    return out


@njit(cache=True)
def ic_pair_nb(a: np.ndarray, b: np.ndarray, min_obs: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson and Spearman correlation of each row pair in one pass over the data.

    Same rules as :func:`row_corr_nb`; shares the gathering of valid pairs.
    """
    t_len, n_len = a.shape
    pearson = np.full(t_len, np.nan)
    spearman = np.full(t_len, np.nan)
    x = np.empty(n_len)
    y = np.empty(n_len)
    for t in range(t_len):
        n = 0
        for i in range(n_len):
            ai = a[t, i]
            bi = b[t, i]
            if not (np.isnan(ai) or np.isnan(bi)):
                x[n] = ai
                y[n] = bi
                n += 1
        if n < min_obs or n < 2:
            continue
        pearson[t] = _pearson_nb(x, y, n)
        rx = np.empty(n)
        ry = np.empty(n)
        _average_rank_nb(x, n, rx)
        _average_rank_nb(y, n, ry)
        spearman[t] = _pearson_nb(rx, ry, n)
    return pearson, spearman


@njit(cache=True)
def quantile_groups_nb(f: np.ndarray, q: int, min_obs: int) -> np.ndarray:
    """Per-row quantile label 1..q of each value as ``pandas.qcut`` assigns it; 0 = none.

    Edges are the row's linear-interpolation quantiles; bins are right-closed with the
    lowest edge included, so a value equal to an edge goes to the lower group.
    """
    t_len, n_len = f.shape
    out = np.zeros((t_len, n_len), dtype=np.int8)
    probs = np.linspace(0.0, 1.0, q + 1)
    for t in range(t_len):
        row = f[t]
        valid = row[~np.isnan(row)]
        if valid.size < max(min_obs, q):
            continue
        edges = np.quantile(valid, probs)
        for i in range(n_len):
            v = row[i]
            if np.isnan(v):
                continue
            g = np.searchsorted(edges, v, side="left")
            out[t, i] = max(1, min(q, g))
    return out


@njit(cache=True)
def group_means_nb(groups: np.ndarray, r: np.ndarray, q: int) -> np.ndarray:
    """Per-row mean of ``r`` within each group 1..q (NaN where a group has no value)."""
    t_len, n_len = r.shape
    out = np.full((t_len, q), np.nan)
    sums = np.zeros(q)
    counts = np.zeros(q, dtype=np.int64)
    for t in range(t_len):
        sums[:] = 0.0
        counts[:] = 0
        for i in range(n_len):
            g = groups[t, i]
            v = r[t, i]
            if g > 0 and not np.isnan(v):
                sums[g - 1] += v
                counts[g - 1] += 1
        for k in range(q):
            if counts[k] > 0:
                out[t, k] = sums[k] / counts[k]
    return out


# ---------------------------------------------------------------------------------------------
# array API


def _rows(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def forward_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """Simple return from day ``t``'s close to day ``t + horizon``'s close.

    Parameters
    ----------
    close : numpy.ndarray
        ``(T, N)`` close prices (adjusted for splits and dividends by the caller).
    horizon : int
        Trading days ahead, ``>= 1``.

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` fractions, C order; NaN for the last ``horizon`` days and where either
        price is missing or not positive.
    """
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    c = _rows(close)
    c = np.where(c > 0.0, c, np.nan)
    out = np.full_like(c, np.nan)
    if horizon < c.shape[0]:
        out[:-horizon] = c[horizon:] / c[:-horizon] - 1.0
    return out


def label_ahead(label: np.ndarray, days: int) -> np.ndarray:
    """The label ``days`` trading days later: row ``t`` holds ``label[t + days]``.

    Parameters
    ----------
    label : numpy.ndarray
        ``(T, N)`` label values (for example Qlib's ``Ref($close, -2)/Ref($close, -1) - 1``).
    days : int
        Days ahead, ``>= 0`` (0 returns the label itself).

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` float64, C order; NaN for the last ``days`` rows.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    lab = _rows(label)
    if days == 0:
        return lab
    out = np.full_like(lab, np.nan)
    if days < lab.shape[0]:
        out[:-days] = lab[days:]
    return out


def information_coefficient(
    factor: np.ndarray, forward: np.ndarray, method: str = "pearson", min_instruments: int = 5
) -> np.ndarray:
    """Daily cross-sectional IC between factor values and forward returns.

    ``method="pearson"`` gives the IC, ``"spearman"`` the Rank IC (Pearson correlation of
    average-tie ranks, as ``scipy.stats.spearmanr``). Units: correlation in [-1, 1], one
    per day, shape ``(T,)``; NaN on days with fewer than ``min_instruments`` instruments
    having both values, or with a constant factor or return.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError("method must be 'pearson' or 'spearman'")
    f, r = _rows(factor), _rows(forward)
    if f.shape != r.shape:
        raise ValueError(f"factor {f.shape} and returns {r.shape} differ in shape")
    return row_corr_nb(f, r, method == "spearman", min_instruments)


def information_coefficients(
    factor: np.ndarray, forward: np.ndarray, min_instruments: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Daily IC and Rank IC together, ``(T,)`` each; same rules as
    :func:`information_coefficient`, one pass over the data."""
    f, r = _rows(factor), _rows(forward)
    if f.shape != r.shape:
        raise ValueError(f"factor {f.shape} and returns {r.shape} differ in shape")
    return ic_pair_nb(f, r, min_instruments)


def quantile_groups(factor: np.ndarray, quantiles: int = 5, min_instruments: int = 5) -> np.ndarray:
    """Daily quantile label (1 = lowest factor values .. ``quantiles``; 0 = unassigned).

    Matches ``df.groupby(date)[factor].transform(pd.qcut, q, labels=False) + 1`` for
    values without ties on the quantile edges. Days with fewer than
    ``max(min_instruments, quantiles)`` factor values stay unassigned. Shape ``(T, N)``.
    """
    if not 1 < quantiles < 128:
        raise ValueError("quantiles must be between 2 and 127")
    return quantile_groups_nb(_rows(factor), quantiles, min_instruments)


# ---------------------------------------------------------------------------------------------
# results


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class ICSummary:
    """Statistics of a daily IC series at one horizon.

    ``ir`` is mean over standard deviation (not annualised); ``t_stat`` is
    ``mean / (std / sqrt(n_days))``. Overlapping horizons (``h > 1``) make consecutive ICs
    correlated, which overstates ``t_stat``; read it as a screening number.
    """

    horizon: int
    mean: float
    std: float
    ir: float
    t_stat: float
    n_days: int
    positive_share: float

    @classmethod
    def of(cls, horizon: int, ic: np.ndarray) -> ICSummary:
        """Summarise one daily IC series (NaN days ignored)."""
        v = ic[~np.isnan(ic)]
        n = int(v.size)
        mean = float(v.mean()) if n else math.nan
        std = float(v.std(ddof=1)) if n > 1 else math.nan
        ir = mean / std if n > 1 and std > 0 else math.nan
        t = ir * math.sqrt(n) if n > 1 else math.nan
        pos = float((v > 0).mean()) if n else math.nan
        return cls(horizon, mean, std, ir, t, n, pos)


@dataclass(frozen=True, slots=True)
class FactorAnalysis:
    """Everything :func:`analyse_factor` measures; :meth:`to_dict` is JSON-safe.

    Attributes
    ----------
    dates : numpy.ndarray
        ``(T,)`` trading days (``datetime64[D]``); positions when none were given.
    horizons : tuple of int
        Forward-return horizons in trading days.
    ic, rank_ic : numpy.ndarray
        ``(T, H)`` daily IC and Rank IC per horizon, against the ``h``-day forward return
        or, when a label was given, against the label ``h - 1`` days later.
    ic_summary, rank_ic_summary : tuple of ICSummary
        One per horizon, in order: their ``mean`` across horizons is the IC decay.
    quantile_returns : numpy.ndarray
        ``(H, Q)`` mean over days of each quantile's equal-weight mean ``h``-day forward
        return (fraction per ``h`` days; quantile 1 holds the lowest factor values), or
        of the label ``h - 1`` days later when a label was given.
    long_short : numpy.ndarray
        ``(H,)`` mean over days of the top-minus-bottom quantile spread (fraction per ``h``).
    quantile_cumulative : numpy.ndarray
        ``(T, Q)`` cumulative return of each quantile portfolio, equal weight, rebalanced
        daily on the 1-day forward return. Row ``t`` includes the return earned from day
        ``t``'s close to day ``t + 1``'s close; days without a value count as flat.
    long_short_cumulative : numpy.ndarray
        ``(T,)`` cumulative return of the daily top-minus-bottom spread, same convention.
    autocorrelation : numpy.ndarray
        ``(T,)`` Spearman correlation of factor values on day ``t`` with day ``t - 1``.
    top_turnover : numpy.ndarray
        ``(T,)`` share of the top quantile's members on day ``t`` that were not in it on
        day ``t - 1`` (NaN on the first day or when either day is unassigned).
    coverage : numpy.ndarray
        ``(T,)`` share of instruments with a usable close that also have a factor value.
    """

    dates: np.ndarray
    horizons: tuple[int, ...]
    ic: np.ndarray
    rank_ic: np.ndarray
    ic_summary: tuple[ICSummary, ...]
    rank_ic_summary: tuple[ICSummary, ...]
    quantile_returns: np.ndarray
    long_short: np.ndarray
    quantile_cumulative: np.ndarray
    long_short_cumulative: np.ndarray
    autocorrelation: np.ndarray
    top_turnover: np.ndarray
    coverage: np.ndarray

    @property
    def ic_decay(self) -> dict[int, float]:
        """Mean Rank IC per horizon (how fast the signal fades)."""
        return {s.horizon: s.mean for s in self.rank_ic_summary}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: arrays become lists, NaN and inf become ``None``."""
        h = [str(x) for x in self.horizons]
        return _json_safe(
            {
                "dates": [str(d) for d in self.dates],
                "horizons": list(self.horizons),
                "ic": dict(zip(h, self.ic.T, strict=True)),
                "rank_ic": dict(zip(h, self.rank_ic.T, strict=True)),
                "ic_summary": [_summary_dict(s) for s in self.ic_summary],
                "rank_ic_summary": [_summary_dict(s) for s in self.rank_ic_summary],
                "ic_decay": {str(k): v for k, v in self.ic_decay.items()},
                "quantile_returns": dict(zip(h, self.quantile_returns, strict=True)),
                "long_short": dict(zip(h, self.long_short, strict=True)),
                "quantile_cumulative": self.quantile_cumulative.T,
                "long_short_cumulative": self.long_short_cumulative,
                "autocorrelation": self.autocorrelation,
                "autocorrelation_mean": _nanmean(self.autocorrelation),
                "top_turnover": self.top_turnover,
                "top_turnover_mean": _nanmean(self.top_turnover),
                "coverage": self.coverage,
            }
        )


def _summary_dict(s: ICSummary) -> dict[str, Any]:
    return {k: getattr(s, k) for k in ICSummary.__slots__}


def _nanmean(a: np.ndarray) -> float:
    v = a[~np.isnan(a)]
    return float(v.mean()) if v.size else math.nan


def _cumulative(daily: np.ndarray) -> np.ndarray:
    return np.cumprod(1.0 + np.nan_to_num(daily, nan=0.0), axis=0) - 1.0


def analyse_factor(
    factor: np.ndarray,
    close: np.ndarray,
    dates: np.ndarray | None = None,
    horizons: Sequence[int] = (1, 5, 10, 20),
    quantiles: int = 5,
    min_instruments: int = 5,
    label: np.ndarray | None = None,
) -> FactorAnalysis:
    """Full IC analysis of one factor against close prices or a label.

    Parameters
    ----------
    factor, close : numpy.ndarray
        ``(T, N)`` factor values (known at day ``t``'s close) and close prices.
    dates : numpy.ndarray, optional
        ``(T,)`` trading days, ``datetime64[D]``.
    horizons : sequence of int
        Forward-return horizons in trading days (default 1, 5, 10, 20).
    quantiles : int
        Number of quantile groups (default 5).
    min_instruments : int
        Fewest instruments a day needs for its IC, quantiles and autocorrelation.
    label : numpy.ndarray, optional
        ``(T, N)`` target known only after day ``t`` (it may read the future; computing
        it is the caller's business). When given, horizon ``h`` compares the factor on
        day ``t`` with the label on day ``t + h - 1``: horizon 1 is the label itself,
        longer ones show how the signal decays. Without it the target of horizon ``h``
        is the ``h``-day forward return of ``close``. The cumulative quantile portfolios
        always earn the 1-day forward return of ``close`` (they are portfolios, not
        labels).

    Returns
    -------
    FactorAnalysis
        See the class for units; NaN rules are in the module docstring.
    """
    f = _rows(factor)
    c = _rows(close)
    if f.shape != c.shape or f.ndim != 2:
        raise ValueError(f"factor {f.shape} and close {c.shape} must be equal 2-D shapes")
    if label is not None and np.shape(label) != f.shape:
        raise ValueError(f"label {np.shape(label)} and factor {f.shape} differ in shape")
    t_len = f.shape[0]
    hs = tuple(int(h) for h in horizons)
    if not hs:
        raise ValueError("at least one horizon is needed")
    day = np.arange(t_len).astype("datetime64[D]") if dates is None else dates
    groups = quantile_groups(f, quantiles, min_instruments)

    ic = np.empty((t_len, len(hs)))
    rank_ic = np.empty((t_len, len(hs)))
    q_returns = np.empty((len(hs), quantiles))
    spread = np.empty(len(hs))
    with np.errstate(all="ignore"):
        for k, h in enumerate(hs):
            fwd = forward_returns(c, h) if label is None else label_ahead(label, h - 1)
            ic[:, k], rank_ic[:, k] = ic_pair_nb(f, fwd, min_instruments)
            means = group_means_nb(groups, fwd, quantiles)
            q_returns[k] = [_nanmean(means[:, j]) for j in range(quantiles)]
            spread[k] = _nanmean(means[:, -1] - means[:, 0])
            if h == 1 and label is None:
                daily = means
        if 1 not in hs or label is not None:
            daily = group_means_nb(groups, forward_returns(c, 1), quantiles)

    prev, cur = f[:-1], f[1:]
    autocorr = np.concatenate(([np.nan], row_corr_nb(prev, cur, True, min_instruments)))
    top = groups == quantiles
    stayed = (top[1:] & top[:-1]).sum(axis=1)
    n_top = top[1:].sum(axis=1)
    assigned = (groups[1:] > 0).any(axis=1) & (groups[:-1] > 0).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        turnover = np.where(assigned & (n_top > 0), 1.0 - stayed / n_top, np.nan)
        usable = (c > 0.0).sum(axis=1)
        coverage = np.where(usable > 0, (~np.isnan(f) & (c > 0.0)).sum(axis=1) / usable, np.nan)

    return FactorAnalysis(
        dates=np.asarray(day, dtype="datetime64[D]"),
        horizons=hs,
        ic=ic,
        rank_ic=rank_ic,
        ic_summary=tuple(ICSummary.of(h, ic[:, k]) for k, h in enumerate(hs)),
        rank_ic_summary=tuple(ICSummary.of(h, rank_ic[:, k]) for k, h in enumerate(hs)),
        quantile_returns=q_returns,
        long_short=spread,
        quantile_cumulative=_cumulative(daily),
        long_short_cumulative=_cumulative(daily[:, -1] - daily[:, 0]),
        autocorrelation=autocorr,
        top_turnover=np.concatenate(([np.nan], turnover)),
        coverage=coverage,
    )


def analyse_panel_factor(
    panel: Panel, factor: np.ndarray, price_field: str = "close", **options: Any
) -> FactorAnalysis:
    """:func:`analyse_factor` on a panel's prices and calendar (options pass through)."""
    return analyse_factor(factor, panel[price_field], dates=panel.calendar, **options)
