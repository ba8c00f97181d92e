"""Order statistics over a trailing window: ``Quantile``/``Med`` and ``Rank`` in one pass.

Same layout and rules as :mod:`quantlab.engine.expr.rolling_nb`. Per instrument the
window's valid values are kept sorted in a buffer: each day the value leaving the window
is found by binary search and removed, today's is inserted the same way (O(log w) to find,
a short contiguous shift to make room), so no day re-sorts its window. Every quantile and
the rank that a set of expressions asks of the same input and window are read from the
one buffer, so ``QTLU``, ``QTLD`` and ``RANK`` of Alpha158 share the work.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _lower_nb(buf, m, v):
    """First position in sorted ``buf[:m]`` whose value is >= ``v``."""
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) >> 1
        if buf[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _upper_nb(buf, m, v):
    """First position in sorted ``buf[:m]`` whose value is > ``v``."""
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) >> 1
        if buf[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def order_stats_nb(x, first, last, window, qs, rank):
    """Rolling quantiles ``qs`` and (when ``rank``) the rolling percentile rank of today.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, T)`` float32, instrument-major.
    first, last : numpy.ndarray
        ``(N,)`` int64 inclusive day range of each instrument (``-1``: absent).
    window : int
        Trailing window in days (``0``: expanding).
    qs : numpy.ndarray
        ``(K,)`` float64 quantiles in [0, 1]; linear interpolation between order
        statistics (pandas' default), over the window's valid values.
    rank : bool
        Also return the rank: ``(less + (equal + 1) / 2) / count`` of today's value among
        the window's valid values (ties averaged, pandas' ``rank(pct=True)``).

    Returns
    -------
    numpy.ndarray
        ``(K + rank, N, T)`` float32: one plane per quantile in order, then the rank. NaN
        where the window has no valid value (rank: where today is NaN) and outside
        ``[first, last]``.
    """
    n, T = x.shape
    k = qs.shape[0]
    planes = k + (1 if rank else 0)
    out = np.empty((planes, n, T), dtype=np.float32)
    out[:] = np.nan
    size = T if window <= 0 else window
    buf = np.empty(size, dtype=np.float64)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        m = 0  # buf[:m] holds the window's valid values, sorted
        for t in range(f, l_ + 1):
            if window > 0 and t - window >= f:
                old = np.float64(x[j, t - window])
                if old == old:
                    p = _lower_nb(buf, m, old)
                    for s in range(p, m - 1):
                        buf[s] = buf[s + 1]
                    m -= 1
            v = np.float64(x[j, t])
            if v == v:
                p = _upper_nb(buf, m, v)
                for s in range(m, p, -1):
                    buf[s] = buf[s - 1]
                buf[p] = v
                m += 1
            if m == 0:
                continue
            for i in range(k):
                pos = qs[i] * (m - 1)
                lo = int(pos)
                if pos == lo:
                    out[i, j, t] = buf[lo]
                else:
                    out[i, j, t] = buf[lo] + (buf[lo + 1] - buf[lo]) * (pos - lo)
            if rank and v == v:
                less = _lower_nb(buf, m, v)
                equal = _upper_nb(buf, m, v) - less
                out[k, j, t] = (less + (equal + 1) / 2.0) / m
    return out
