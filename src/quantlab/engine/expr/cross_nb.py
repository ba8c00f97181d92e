"""Numba kernels across instruments (one day at a time) and two-day signals.

Same layout as :mod:`quantlab.engine.expr.rolling_nb`: ``(N, T)`` float32 in, ``(N, T)``
float32 out, NaN where an instrument does not exist. A day's cross-section holds the
instruments that exist that day and have a valid (non-NaN) value; the others get NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantlab.engine.expr.rolling_nb import _blank_row_nb


@njit(cache=True, nogil=True)
def _members_nb(x, first, last, t, idx):
    m = 0
    for j in range(x.shape[0]):
        if first[j] >= 0 and first[j] <= t <= last[j]:
            v = x[j, t]
            if v == v:
                idx[m] = j
                m += 1
    return m


@njit(cache=True, nogil=True)
def csrank_nb(x, first, last):
    """Percentile rank (average rank of ties / count, as pandas ``rank(pct=True)``)."""
    n, T = x.shape
    out = np.full((n, T), np.nan, dtype=np.float32)
    idx = np.empty(n, dtype=np.int64)
    vals = np.empty(n, dtype=np.float64)
    for t in range(T):
        m = _members_nb(x, first, last, t, idx)
        if m == 0:
            continue
        for k in range(m):
            vals[k] = x[idx[k], t]
        order = np.argsort(vals[:m], kind="mergesort")
        k = 0
        while k < m:
            e = k
            while e + 1 < m and vals[order[e + 1]] == vals[order[k]]:
                e += 1
            avg_rank = (k + e) / 2.0 + 1.0  # 1-based average over the tie group
            for s in range(k, e + 1):
                out[idx[order[s]], t] = avg_rank / m
            k = e + 1
    return out


@njit(cache=True, nogil=True)
def _cs_moments_nb(x, first, last, zscore):
    n, T = x.shape
    out = np.full((n, T), np.nan, dtype=np.float32)
    idx = np.empty(n, dtype=np.int64)
    for t in range(T):
        m = _members_nb(x, first, last, t, idx)
        if m == 0:
            continue
        s = 0.0
        for k in range(m):
            s += x[idx[k], t]
        mean = s / m
        scale = 1.0
        if zscore:
            if m < 2:
                continue
            ss = 0.0
            for k in range(m):
                d = x[idx[k], t] - mean
                ss += d * d
            scale = np.sqrt(ss / (m - 1))
        for k in range(m):
            d = x[idx[k], t] - mean
            out[idx[k], t] = d / scale if scale > 0 else np.nan
    return out


@njit(cache=True, nogil=True)
def csdemean_nb(x, first, last):
    """Value minus the day's cross-sectional mean."""
    return _cs_moments_nb(x, first, last, False)


@njit(cache=True, nogil=True)
def cszscore_nb(x, first, last):
    """(value - mean) / sample std (ddof 1) across the day; NaN if < 2 or zero std."""
    return _cs_moments_nb(x, first, last, True)


@njit(cache=True, nogil=True)
def cross_nb(a, b, first, last, up):
    """1 where ``a`` crosses above ``b`` today (``up``) or below it, else 0.

    Up: ``a > b`` today and ``a <= b`` the previous day of the instrument's life; any NaN
    in the four values means no cross. The first day of life is 0 (no previous day).
    """
    n, T = a.shape
    out = np.full((n, T), np.nan, dtype=np.float32)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        out[j, f] = 0.0
        for t in range(f + 1, l_ + 1):
            if t < 1:  # never; tells the compiler, whose indexing then skips the negative
                continue  # wraparound and vectorises the loop (over ten times faster)
            out[j, t] = 1.0 if crossed_nb(a, b, j, t, up) else 0.0
    return out


@njit(cache=True, nogil=True, inline="always")
def crossed_nb(a, b, j, t, up):
    """:func:`cross_nb`'s test of instrument ``j`` on day ``t`` (not its first day); both
    comparisons are made (``&``: no branch on the data, which a simulator's day loop
    cannot predict)."""
    if up:
        return (a[j, t] > b[j, t]) & (a[j, t - 1] <= b[j, t - 1])
    return (a[j, t] < b[j, t]) & (a[j, t - 1] >= b[j, t - 1])


@njit(cache=True, nogil=True)
def neutralize_nb(x, group, size, first, last):
    """Residual of a per-day OLS of ``x`` on group dummies and ``size`` (Frisch-Waugh).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, T)`` float32 factor values.
    group : numpy.ndarray
        ``(N, T)`` float32 group codes (e.g. an industry code); equal codes share a
        dummy. A constant gives one group, i.e. only an intercept.
    size : numpy.ndarray
        ``(N, T)`` float32 size regressor (e.g. ``Log($market_cap)``). A constant (or a
        size that is constant within every group) adds nothing to the dummies.
    first, last : numpy.ndarray
        ``(N,)`` int64 existence ranges.

    Returns
    -------
    numpy.ndarray
        ``(N, T)`` float32 residuals ``x - fitted``, in the units of ``x``; the day's
        regression uses the instruments that exist and have finite ``x``, ``group`` and
        ``size``; others get NaN. Within each group the residual is ``x`` demeaned minus
        ``beta`` times ``size`` demeaned, ``beta = sum(dx ds) / sum(ds^2)`` over all
        groups (0 when ``size`` has no variation left inside the groups, relative to
        1e-12 of its own spread). A group of one member has residual 0.
    """
    n, T = x.shape
    out = np.full((n, T), np.nan, dtype=np.float32)
    idx = np.empty(n, dtype=np.int64)
    codes = np.empty(n, dtype=np.float64)
    dx = np.empty(n, dtype=np.float64)
    ds = np.empty(n, dtype=np.float64)
    for t in range(T):
        m = 0
        for j in range(n):
            if first[j] >= 0 and first[j] <= t <= last[j]:
                a = x[j, t]
                g = group[j, t]
                s = size[j, t]
                if np.isfinite(a) and np.isfinite(g) and np.isfinite(s):
                    idx[m] = j
                    codes[m] = g
                    m += 1
        if m == 0:
            continue
        order = np.argsort(codes[:m], kind="mergesort")
        k = 0
        raw_ss = 0.0
        while k < m:
            e = k
            while e + 1 < m and codes[order[e + 1]] == codes[order[k]]:
                e += 1
            sx = 0.0
            ss = 0.0
            for q in range(k, e + 1):
                j = idx[order[q]]
                sx += x[j, t]
                ss += size[j, t]
            cnt = e - k + 1
            mx = sx / cnt
            ms = ss / cnt
            for q in range(k, e + 1):
                j = idx[order[q]]
                dx[order[q]] = x[j, t] - mx
                ds[order[q]] = size[j, t] - ms
                raw_ss += np.float64(size[j, t]) * size[j, t]
            k = e + 1
        sxs = 0.0
        sss = 0.0
        for q in range(m):
            sxs += dx[q] * ds[q]
            sss += ds[q] * ds[q]
        beta = sxs / sss if sss > 1e-12 * raw_ss and sss > 0 else 0.0
        for q in range(m):
            out[idx[q], t] = dx[q] - beta * ds[q]
    return out


@njit(cache=True, nogil=True)
def crosses_nb(a, b, first, last):
    """:func:`cross_nb` up and down in one pass over ``a`` and ``b`` (``Cross`` and
    ``CrossDown`` of the same inputs): ``(up, down)``, through the same test."""
    n, T = a.shape
    up = np.empty((n, T), dtype=np.float32)
    down = np.empty((n, T), dtype=np.float32)
    for j in range(n):
        f, l_ = first[j], last[j]
        _blank_row_nb(up, j, f, l_)
        _blank_row_nb(down, j, f, l_)
        if f < 0:
            continue
        up[j, f] = 0.0
        down[j, f] = 0.0
        for t in range(f + 1, l_ + 1):
            if t < 1:  # never: see cross_nb
                continue
            up[j, t] = np.float32(crossed_nb(a, b, j, t, True))
            down[j, t] = np.float32(crossed_nb(a, b, j, t, False))
    return up, down
