"""Order statistics over a trailing window: ``Quantile``/``Med`` and ``Rank`` in one pass.

Same layout and rules as :mod:`quantlab.engine.expr.rolling_nb`. Per instrument the
window's valid values are kept sorted in a float32 buffer (exact: the values are float32):
each day the places of the value leaving the window and of today's are counted in one
branch-free pass over the buffer, and the values between the two places move by one, so
no day re-sorts its window and the rest of the buffer stays put. Every quantile and
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


@njit(cache=True, inline="always")
def _places_nb(buf, m, old, v):
    """``_lower_nb(buf, m, old)`` and ``_upper_nb(buf, m, v)`` counted in one branch-free
    pass (in a sorted buffer, the values below ``old`` and those not above ``v``)."""
    below = 0
    not_above = 0
    for i in range(m):
        below += buf[i] < old
        not_above += buf[i] <= v
    return below, not_above


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
    buf = np.empty(size, dtype=np.float32)  # exact: the values are float32
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        m = 0  # buf[:m] holds the window's valid values, sorted
        for t in range(f, l_ + 1):
            old = np.nan
            if window > 0 and t - window >= f:
                old = np.float64(x[j, t - window])
            v = np.float64(x[j, t])
            r = 0  # where today's value lands
            if old == old:
                if v == v:
                    # one shift between the leaving and the arriving value's places: the
                    # same buffer as removing, then inserting at the upper bound
                    p, r = _places_nb(buf, m, old, v)
                    if r > p:
                        r -= 1
                        for s in range(p, r):
                            buf[s] = buf[s + 1]
                    else:
                        for s in range(p, r, -1):
                            buf[s] = buf[s - 1]
                    buf[r] = v
                else:
                    p = _lower_nb(buf, m, old)
                    for s in range(p, m - 1):
                        buf[s] = buf[s + 1]
                    m -= 1
            elif v == v:
                r = _upper_nb(buf, m, v)
                for s in range(m, r, -1):
                    buf[s] = buf[s - 1]
                buf[r] = v
                m += 1
            if m == 0:
                continue
            for i in range(k):
                pos = qs[i] * (m - 1)
                lo = int(pos)
                a = np.float64(buf[lo])
                if pos == lo:
                    out[i, j, t] = a
                else:
                    out[i, j, t] = a + (np.float64(buf[lo + 1]) - a) * (pos - lo)
            if rank and v == v:
                # today's value is the last of its ties (at r): count the ties before it
                less = r if r == 0 or buf[r - 1] < v else _lower_nb(buf, r, v)
                out[k, j, t] = (less + (r + 1 - less + 1) / 2.0) / m
    return out
