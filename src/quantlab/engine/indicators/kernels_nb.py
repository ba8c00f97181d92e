"""Numba kernels behind the native indicators: 2-D ``(T, N)`` in, 2-D out, per column.

Conventions shared by every kernel here:

* Arrays are float64 ``(T, N)``; each column is one instrument's bar series. Outputs are
  allocated Fortran-ordered, so a column is contiguous.
* Windowed kernels (``rolling_*``) need ``n`` consecutive finite values: a non-finite
  value restarts the window, and the output is NaN until the window has filled again.
  They keep running sums only within such a clean run, so rounding drift cannot spread
  past a gap.
* Recursive smoothers (`ema_nb`) start at the first finite value (or at ``init``) and
  hold their last value over a non-finite input.

The catalog packs each instrument's valid bars to the top of its column before calling
these (see `pack_order_nb`), so in practice the only non-finite values are warm-ups of
derived series (e.g. a first difference) and the NaN padding below each column's bars.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def empty_f_nb(t: int, n: int) -> np.ndarray:
    """An uninitialised Fortran-ordered ``(t, n)`` float64 array."""
    return np.empty((n, t)).T


@njit(cache=True)
def pack_order_nb(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the row indices of valid rows first (in order), then the others.

    Returns ``(order, counts)``: ``order`` is int64 ``(T, N)``, ``counts[j]`` the number of
    valid rows of column ``j``.
    """
    t, n = valid.shape
    order = np.empty((n, t), dtype=np.int64).T
    counts = np.zeros(n, dtype=np.int64)
    for j in range(n):
        k = 0
        for i in range(t):
            if valid[i, j]:
                order[k, j] = i
                k += 1
        counts[j] = k
        for i in range(t):
            if not valid[i, j]:
                order[k, j] = i
                k += 1
    return order, counts


@njit(cache=True)
def gather_nb(x: np.ndarray, order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``x`` with each column's valid rows packed to the top and NaN below."""
    t, n = x.shape
    out = empty_f_nb(t, n)
    for j in range(n):
        for k in range(t):
            out[k, j] = x[order[k, j], j] if k < counts[j] else np.nan
    return out


@njit(cache=True)
def scatter_nb(y: np.ndarray, order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inverse of `gather_nb`: packed rows back to their days, NaN on skipped days."""
    t, n = y.shape
    out = empty_f_nb(t, n)
    for j in range(n):
        for k in range(t):
            v = y[k, j] if k < counts[j] else np.nan
            out[order[k, j], j] = v if np.isfinite(v) else np.nan
    return out


@njit(cache=True)
def rolling_sum_nb(x: np.ndarray, n: int) -> np.ndarray:
    """Sum of the last ``n`` values; NaN until ``n`` consecutive finite values."""
    t, m = x.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        run = 0
        s = 0.0
        for i in range(t):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                s = 0.0
                out[i, j] = np.nan
                continue
            s += v
            run += 1
            if run > n:
                s -= x[i - n, j]
            out[i, j] = s if run >= n else np.nan
    return out


@njit(cache=True)
def rolling_mean_nb(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last ``n`` values (TDX ``MA``)."""
    out = rolling_sum_nb(x, n)
    out /= n
    return out


@njit(cache=True)
def rolling_std_nb(x: np.ndarray, n: int, ddof: int) -> np.ndarray:
    """Standard deviation of the last ``n`` values with ``ddof`` (0: population, 1: sample).

    Sums are taken around the first value of the clean run, which keeps the
    ``E[x²] − E[x]²`` form from cancelling badly on price levels far from zero.
    """
    t, m = x.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        run = 0
        ref = 0.0
        s = 0.0
        ss = 0.0
        for i in range(t):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                s = 0.0
                ss = 0.0
                out[i, j] = np.nan
                continue
            if run == 0:
                ref = v
            d = v - ref
            s += d
            ss += d * d
            run += 1
            if run > n:
                old = x[i - n, j] - ref
                s -= old
                ss -= old * old
            if run >= n and n > ddof:
                var = (ss - s * s / n) / (n - ddof)
                out[i, j] = np.sqrt(var) if var > 0.0 else 0.0
            else:
                out[i, j] = np.nan
    return out


@njit(cache=True)
def rolling_extreme_nb(x: np.ndarray, n: int, min_periods: int, is_max: bool) -> np.ndarray:
    """Highest (``is_max``) or lowest value of the last ``n``; monotonic deque, O(T).

    ``min_periods < n`` gives TDX ``HHV``/``LLV`` semantics at the start of a series:
    the extreme of the bars available so far once there are ``min_periods`` of them.
    """
    t, m = x.shape
    out = empty_f_nb(t, m)
    dq = np.empty(t, dtype=np.int64)
    for j in range(m):
        head = 0
        tail = 0
        run = 0
        for i in range(t):
            v = x[i, j]
            if not np.isfinite(v):
                head = 0
                tail = 0
                run = 0
                out[i, j] = np.nan
                continue
            run += 1
            while tail > head and (x[dq[tail - 1], j] <= v if is_max else x[dq[tail - 1], j] >= v):
                tail -= 1
            dq[tail] = i
            tail += 1
            if dq[head] <= i - n:
                head += 1
            out[i, j] = x[dq[head], j] if run >= min_periods else np.nan
    return out


@njit(cache=True)
def ema_nb(x: np.ndarray, alpha: float, init: float) -> np.ndarray:
    """Recursive smoothing ``y = alpha·x + (1 − alpha)·y_prev``.

    With ``init`` NaN the recursion starts at the first finite value (``y_0 = x_0``, the
    TDX/同花顺 seed); otherwise ``y_prev = init`` before the first value (KDJ's 50).
    TDX ``EMA(X, N)`` is ``alpha = 2/(N+1)``; TDX ``SMA(X, N, M)`` is ``alpha = M/N``.
    A non-finite input leaves the state unchanged and repeats the last output.
    """
    t, m = x.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        y = init
        started = np.isfinite(init)
        for i in range(t):
            v = x[i, j]
            if np.isfinite(v):
                y = v if not started else alpha * v + (1.0 - alpha) * y
                started = True
            out[i, j] = y if started else np.nan
    return out


@njit(cache=True)
def wma_nb(x: np.ndarray, n: int) -> np.ndarray:
    """Linearly weighted mean of the last ``n`` values, weights 1…n (newest heaviest)."""
    t, m = x.shape
    out = empty_f_nb(t, m)
    denom = n * (n + 1) / 2.0
    for j in range(m):
        run = 0
        s = 0.0
        w = 0.0
        for i in range(t):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                s = 0.0
                w = 0.0
                out[i, j] = np.nan
                continue
            if run < n:
                w += (run + 1) * v
                s += v
            else:
                w += n * v - s
                s += v - x[i - n, j]
            run += 1
            out[i, j] = w / denom if run >= n else np.nan
    return out


@njit(cache=True)
def avedev_nb(x: np.ndarray, n: int) -> np.ndarray:
    """Mean absolute deviation from the window mean over the last ``n`` values (TDX AVEDEV)."""
    t, m = x.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        run = 0
        for i in range(t):
            v = x[i, j]
            run = run + 1 if np.isfinite(v) else 0
            if run < n:
                out[i, j] = np.nan
                continue
            mean = 0.0
            for k in range(i - n + 1, i + 1):
                mean += x[k, j]
            mean /= n
            dev = 0.0
            for k in range(i - n + 1, i + 1):
                dev += abs(x[k, j] - mean)
            out[i, j] = dev / n
    return out


@njit(cache=True)
def shift_nb(x: np.ndarray, k: int) -> np.ndarray:
    """TDX ``REF(X, k)``: the value ``k`` bars earlier, NaN for the first ``k`` bars."""
    t, m = x.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        for i in range(t):
            out[i, j] = x[i - k, j] if i >= k else np.nan
    return out


@njit(cache=True)
def sar_nb(high: np.ndarray, low: np.ndarray, step: float, limit: float) -> np.ndarray:
    """Wilder's parabolic SAR with TA-Lib's start-up rule (see ``native_trend.sar``).

    The first bar is NaN. The initial direction is short when bar 1 has a positive
    minus-DM larger than its plus-DM, long otherwise; the first SAR is bar 0's
    extreme on the opposite side.
    """
    t, m = high.shape
    out = empty_f_nb(t, m)
    for j in range(m):
        nbars = 0
        while nbars < t and np.isfinite(high[nbars, j]) and np.isfinite(low[nbars, j]):
            nbars += 1
        for i in range(t):
            out[i, j] = np.nan
        if nbars < 2:
            continue
        af = min(step, limit)
        diff_p = high[1, j] - high[0, j]
        diff_m = low[0, j] - low[1, j]
        is_long = not (diff_m > 0 and diff_p < diff_m)
        if is_long:
            ep = high[1, j]
            sar = low[0, j]
        else:
            ep = low[1, j]
            sar = high[0, j]
        new_low = low[1, j]
        new_high = high[1, j]
        for i in range(1, nbars):
            prev_low = new_low
            prev_high = new_high
            new_low = low[i, j]
            new_high = high[i, j]
            if is_long:
                if new_low <= sar:
                    is_long = False
                    sar = max(ep, prev_high, new_high)
                    out[i, j] = sar
                    af = min(step, limit)
                    ep = new_low
                    sar = max(sar + af * (ep - sar), prev_high, new_high)
                else:
                    out[i, j] = sar
                    if new_high > ep:
                        ep = new_high
                        af = min(af + step, limit)
                    sar = min(sar + af * (ep - sar), prev_low, new_low)
            else:
                if new_high >= sar:
                    is_long = True
                    sar = min(ep, prev_low, new_low)
                    out[i, j] = sar
                    af = min(step, limit)
                    ep = new_high
                    sar = min(sar + af * (ep - sar), prev_low, new_low)
                else:
                    out[i, j] = sar
                    if new_low < ep:
                        ep = new_low
                        af = min(af + step, limit)
                    sar = max(sar + af * (ep - sar), prev_high, new_high)
    return out
