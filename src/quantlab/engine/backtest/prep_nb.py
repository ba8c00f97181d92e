"""Numba kernels that derive simulation inputs from price panels (flat list).

All take and return ``(T, N)`` float64 arrays, one instrument per column, and walk each
column's time series on its own, so they are fastest on Fortran-ordered input.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def prev_close_nb(close):
    """Previous valid close per instrument (NaN until one exists); suspension days are skipped."""
    t_len, n = close.shape
    out = np.empty((t_len, n))
    for j in range(n):
        last = np.nan
        for t in range(t_len):
            out[t, j] = last
            c = close[t, j]
            if c == c:
                last = c
    return out


@njit(cache=True)
def atr_nb(high, low, close, window):
    """Average true range: simple mean of the last ``window`` true ranges (price units).

    The true range uses the previous valid close; days with a NaN high/low are skipped, and the
    value stays NaN until ``window`` true ranges exist.
    """
    t_len, n = close.shape
    out = np.full((t_len, n), np.nan)
    buf = np.empty(window)
    for j in range(n):
        prev = np.nan
        k = 0
        total = 0.0
        for t in range(t_len):
            h = high[t, j]
            lo = low[t, j]
            if h == h and lo == lo:
                tr = h - lo
                if prev == prev:
                    tr = max(tr, abs(h - prev), abs(lo - prev))
                pos = k % window
                if k >= window:
                    total -= buf[pos]
                buf[pos] = tr
                total += tr
                k += 1
            if k >= window:
                out[t, j] = total / window
            c = close[t, j]
            if c == c:
                prev = c
    return out


@njit(cache=True)
def realised_vol_nb(close, window, periods):
    """Annualised volatility of simple daily returns over the last ``window`` returns.

    Sample standard deviation (ddof=1) × sqrt(``periods``); NaN until ``window`` returns exist.
    Returns across a suspension gap count as one return.
    """
    t_len, n = close.shape
    out = np.full((t_len, n), np.nan)
    rets = np.empty(t_len)
    for j in range(n):
        m = 0
        prev = np.nan
        for t in range(t_len):
            c = close[t, j]
            if c == c:
                if prev == prev and prev > 0.0:
                    rets[m] = c / prev - 1.0
                    m += 1
                prev = c
            if m >= window and window > 1:
                seg = rets[m - window : m]
                mu = seg.mean()
                ss = 0.0
                for r in seg:
                    ss += (r - mu) * (r - mu)
                out[t, j] = np.sqrt(ss / (window - 1) * periods)
    return out


@njit(cache=True)
def shift_rows_bool_nb(a, lag):
    """Shift a boolean ``(T, N)`` array down by ``lag`` rows, filling with False."""
    out = np.zeros(a.shape, dtype=np.bool_)
    if lag < a.shape[0]:
        out[lag:] = a[: a.shape[0] - lag]
    return out
