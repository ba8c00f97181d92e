"""Fused moving-average crossover kernels for independent per-column portfolios (flat list).

vectorbt's ``Portfolio.from_signals`` model, rules off: each column is its own portfolio that
goes all-in at the close on the bar the fast simple moving average crosses above the slow one
and sells everything on the bar it crosses below. Moving averages come from one running sum
per column shared by every window, so a parameter grid never materialises an MA or signal
array: memory stays O(T) per column whatever the number of combinations.

Units: ``fees`` and ``slippage`` are fractions of traded value; cash in currency.
NaN rules: an MA is NaN while its window holds a NaN (vectorbt/pandas ``min_periods=window``);
a NaN MA resets the crossing state; no order is placed on a NaN price.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def running_sums_nb(a, cs, nc):
    """Fill ``cs`` with the running sum of non-NaN values and ``nc`` with the running NaN count."""
    total = 0.0
    nans = 0
    for i in range(a.shape[0]):
        if np.isnan(a[i]):
            nans += 1
        else:
            total = total + a[i]
        cs[i] = total
        nc[i] = nans


@njit(cache=True)
def sma_at_nb(cs, nc, i, window):
    """Simple moving average ending at ``i`` from running sums (same arithmetic as vectorbt)."""
    if i < window:
        n_valid = i + 1 - nc[i]
        wsum = cs[i]
    else:
        n_valid = window - (nc[i] - nc[i - window])
        wsum = cs[i] - cs[i - window]
    if n_valid < window:
        return np.nan
    return wsum / n_valid


@njit(cache=True)
def ma_cross_column_nb(price, cs, nc, fast, slow, init_cash, fees, slippage, equity):
    """Simulate one column; returns ``(final value, orders, max drawdown)``.

    ``equity`` is written per bar when it has the column's length (pass an empty array to
    skip). Max drawdown is the largest peak-to-trough fall of equity as a positive fraction.
    """
    t_len = price.shape[0]
    keep = equity.shape[0] == t_len
    cash = init_cash
    pos = 0.0
    orders = 0
    peak = init_cash
    max_dd = 0.0
    # Crossing state, as vectorbt's crossed_above_1d_nb with wait=0, for both directions.
    was_below = False
    up_ago = -1
    was_above = False
    down_ago = -1
    for i in range(t_len):
        f = sma_at_nb(cs, nc, i, fast)
        s = sma_at_nb(cs, nc, i, slow)
        entry = False
        exit_ = False
        if np.isnan(f) or np.isnan(s):
            was_below = False
            up_ago = -1
            was_above = False
            down_ago = -1
        elif f > s:
            if was_below:
                up_ago += 1
                entry = up_ago == 0
            down_ago = -1
            was_above = True
        elif f == s:
            up_ago = -1
            down_ago = -1
        else:
            up_ago = -1
            was_below = True
            if was_above:
                down_ago += 1
                exit_ = down_ago == 0
        p = price[i]
        if p == p:
            if entry and pos == 0.0 and cash > 0.0:
                adj = p * (1.0 + slippage)
                spend = cash / (1.0 + fees)
                pos = spend / adj
                cash = 0.0
                orders += 1
            elif exit_ and pos > 0.0:
                acq = pos * (p * (1.0 - slippage))
                cash = cash + (acq - acq * fees)
                pos = 0.0
                orders += 1
            value = cash + pos * p
            if value > peak:
                peak = value
            elif peak > 0.0:
                dd = 1.0 - value / peak
                if dd > max_dd:
                    max_dd = dd
        else:
            value = np.nan
        if keep:
            equity[i] = value
    last = cash
    for i in range(t_len - 1, -1, -1):
        if price[i] == price[i]:
            last = cash + pos * price[i]
            break
    return last, orders, max_dd


@njit(cache=True)
def ma_cross_nb(close, fast, slow, init_cash, fees, slippage, equity):
    """Every column of ``close`` (T, N) with one (fast, slow) pair; equity (T, N) or (0, N)."""
    t_len, n = close.shape
    final = np.empty(n)
    orders = np.empty(n, dtype=np.int64)
    max_dd = np.empty(n)
    cs = np.empty(t_len)
    nc = np.empty(t_len, dtype=np.int64)
    empty = np.empty(0)
    for j in range(n):
        col = close[:, j]
        running_sums_nb(col, cs, nc)
        out = equity[:, j] if equity.shape[0] == t_len else empty
        final[j], orders[j], max_dd[j] = ma_cross_column_nb(
            col, cs, nc, fast, slow, init_cash, fees, slippage, out
        )
    return final, orders, max_dd


@njit(cache=True)
def ma_cross_grid_nb(close, fasts, slows, init_cash, fees, slippage):
    """Every column × every (fasts[k], slows[k]) pair; returns three (P, N) arrays."""
    t_len, n = close.shape
    n_pairs = fasts.shape[0]
    final = np.empty((n_pairs, n))
    orders = np.empty((n_pairs, n), dtype=np.int64)
    max_dd = np.empty((n_pairs, n))
    cs = np.empty(t_len)
    nc = np.empty(t_len, dtype=np.int64)
    empty = np.empty(0)
    for j in range(n):
        col = close[:, j]
        running_sums_nb(col, cs, nc)
        for k in range(n_pairs):
            final[k, j], orders[k, j], max_dd[k, j] = ma_cross_column_nb(
                col, cs, nc, fasts[k], slows[k], init_cash, fees, slippage, empty
            )
    return final, orders, max_dd
