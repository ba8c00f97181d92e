"""Numba kernels for the windowed operators: one flat list, one kernel per operator.

Every kernel takes instrument-major ``(N, T)`` C-contiguous float32 data (the transpose of
a panel's Fortran-ordered ``(T, N)`` array, so each instrument's series is contiguous),
the per-instrument existence range ``first``/``last`` (inclusive day indices, ``-1`` when
absent) and a window, and returns a new ``(N, T)`` float32 array.

Shared rules (Qlib semantics):

* each instrument is computed on its ``[first, last]`` slice only; output outside it is NaN;
* the window at day ``t`` is ``[max(first, t - window + 1), t]``; ``window == 0`` means
  expanding from ``first``;
* NaNs inside a window are skipped (``min_periods=1``): a window without valid values gives
  NaN (``Count`` gives 0); ``Std``, ``Var``, ``Cov``, ``Corr`` need two valid values,
  ``Skew`` three and ``Kurt`` four;
* arithmetic is float64, the result is rounded to float32 once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_NAN = np.float32(np.nan)
#: Qlib masks Corr and Rsquare where an input's rolling std is within this of zero.
FLAT_STD = 2e-5


#: Above this multiple of ``FLAT_STD ** 2 * (count - 1)`` an input's m2 is certainly not
#: flat (its std is well above ``FLAT_STD``): the exact test is skipped.
_NOT_FLAT = 1.01 * FLAT_STD * FLAT_STD


@njit(cache=True, inline="always")
def _flat_std_nb(cnt, m2):
    """Qlib's flat test of one input's own valid values: std (ddof 1) at most 2e-5."""
    if m2 > _NOT_FLAT * (cnt - 1):
        return False
    return np.sqrt(max(m2, 0.0) / (cnt - 1)) <= FLAT_STD


@njit(cache=True, inline="always")
def _start_nb(t: int, first: int, window: int) -> int:
    if window <= 0:
        return first
    return max(first, t - window + 1)


@njit(cache=True, nogil=True)
def _empty_nb(n: int, t: int) -> np.ndarray:
    out = np.empty((n, t), dtype=np.float32)
    out[:] = np.nan
    return out


@njit(cache=True, inline="always")
def _blank_row_nb(x, j, first, last):
    """NaN in row ``j`` outside ``[first, last]`` (all of it when ``first < 0``)."""
    if first < 0:
        x[j, :] = np.nan
    else:
        x[j, :first] = np.nan
        x[j, last + 1 :] = np.nan


@njit(cache=True, nogil=True)
def any_inf_nb(x):
    """True when ``x`` (``(N, T)``) holds +-inf."""
    n, T = x.shape
    for j in range(n):
        found = False
        for t in range(T):
            found |= np.isinf(x[j, t])
        if found:
            return True
    return False


@njit(cache=True, nogil=True)
def blank_absent_nb(x, first, last):
    """Set ``x`` (``(N, T)``) to NaN, in place, on the days an instrument does not exist."""
    for j in range(x.shape[0]):
        _blank_row_nb(x, j, first[j], last[j])


@njit(cache=True, nogil=True)
def ref_nb(x, first, last, offset):
    """Value ``offset`` days earlier (``< 0``: later; ``0``: the first day of life)."""
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        for t in range(f, l_ + 1):
            if offset == 0:
                out[j, t] = x[j, f]
            else:
                s = t - offset
                if f <= s <= l_:
                    out[j, t] = x[j, s]
    return out


@njit(cache=True, nogil=True)
def delta_nb(x, first, last, lag):
    """``x`` today minus ``x`` ``lag`` days earlier (``0``: minus the first day of life)."""
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        for t in range(f, l_ + 1):
            s = f if lag == 0 else t - lag
            if s >= f:
                out[j, t] = np.float64(x[j, t]) - np.float64(x[j, s])
    return out


@njit(cache=True, nogil=True)
def sum_nb(x, first, last, window):
    """Rolling sum of valid values; NaN when the window has none."""
    return _moment_nb(x, first, last, window, 0)


@njit(cache=True, nogil=True)
def mean_nb(x, first, last, window):
    """Rolling mean of valid values."""
    return _moment_nb(x, first, last, window, 1)


@njit(cache=True, nogil=True)
def count_nb(x, first, last, window):
    """Number of valid values in the window (0, not NaN, when none)."""
    return _moment_nb(x, first, last, window, 2)


@njit(cache=True, nogil=True)
def _moment_nb(x, first, last, window, what):
    # Running sum in float64: add today, drop the day leaving the window. Rounding cannot
    # build up: the sum restarts once per window length (every ``window`` days from the
    # first) from the window's own values added in order, and a window whose valid values
    # are all zero is exactly 0 (so a ratio like SUMP is 0, not 1e-13 / 1e-12). The
    # restart's sum is built alongside, as the days come in (``fresh``), so no day is read
    # twice and the two sums do not wait on each other.
    n, T = x.shape
    out = np.empty((n, T), dtype=np.float32)
    for j in range(n):
        f, l_ = first[j], last[j]
        _blank_row_nb(out, j, f, l_)
        if f < 0:
            continue
        acc = 0.0
        cnt = 0
        nonzero = 0
        fresh = 0.0  # sum, count and non-zeros of the days since the last restart
        fresh_cnt = 0
        fresh_nonzero = 0
        phase = 0  # (t - f) % window, counted instead of divided
        for t in range(f, l_ + 1):
            v = x[j, t]
            valid = v == v
            if window > 0 and phase == 0:
                acc, cnt, nonzero = fresh, fresh_cnt, fresh_nonzero
                fresh, fresh_cnt, fresh_nonzero = 0.0, 0, 0
                if valid:
                    acc += v
                    cnt += 1
                    nonzero += v != 0
            else:
                if valid:
                    acc += v
                    cnt += 1
                    nonzero += v != 0
                    fresh += v
                    fresh_cnt += 1
                    fresh_nonzero += v != 0
                if window > 0 and t - window >= f:
                    old = x[j, t - window]
                    if old == old:
                        acc -= old
                        cnt -= 1
                        nonzero -= old != 0
            phase = phase + 1 if phase + 1 < window else 0
            if what == 2:
                out[j, t] = cnt
            elif cnt > 0:
                total = acc if nonzero > 0 else 0.0
                out[j, t] = total if what == 0 else total / cnt
            else:
                out[j, t] = np.nan
    return out


@njit(cache=True, nogil=True, inline="always")
def _valid_sum_nb(x, j, lo, hi):
    """Count and sum of the valid values in x[j, lo:hi+1], added in day order."""
    cnt = 0
    s = 0.0
    for i in range(lo, hi + 1):
        v = x[j, i]
        if v == v:
            s += v
            cnt += 1
    return cnt, s


@njit(cache=True, nogil=True, inline="always")
def _centred2_nb(x, j, lo, hi):
    """Count, mean and m2 of the valid values in x[j, lo:hi+1]; as :func:`_centred_nb`'s
    (the same sums), mean 0 when there is none."""
    cnt, s = _valid_sum_nb(x, j, lo, hi)
    if cnt == 0:
        return 0, 0.0, 0.0
    m = s / cnt
    m2 = 0.0
    for i in range(lo, hi + 1):
        v = x[j, i]
        if v == v:
            d = v - m
            m2 += d * d
    return cnt, m, m2


@njit(cache=True, nogil=True)
def _centred_nb(x, j, lo, hi):
    """Count, mean and central sums m2, m3, m4 of the valid values in x[j, lo:hi+1]."""
    cnt, s = _valid_sum_nb(x, j, lo, hi)
    if cnt == 0:
        return 0, np.nan, 0.0, 0.0, 0.0, True
    m = s / cnt
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    same = True
    ref = np.nan
    for i in range(lo, hi + 1):
        v = x[j, i]
        if v == v:
            if ref != ref:
                ref = v
            elif v != ref:
                same = False
            d = v - m
            d2 = d * d
            m2 += d2
            m3 += d2 * d
            m4 += d2 * d2
    return cnt, m, m2, m3, m4, same


@njit(cache=True, nogil=True)
def var_nb(x, first, last, window):
    """Rolling sample variance (ddof 1); NaN with fewer than two valid values."""
    return _spread_nb(x, first, last, window, False)


@njit(cache=True, nogil=True)
def std_nb(x, first, last, window):
    """Rolling sample standard deviation (ddof 1)."""
    return _spread_nb(x, first, last, window, True)


@njit(cache=True, inline="always")
def _welford_add_nb(cnt, mean, m2, v):
    cnt += 1
    d = v - mean
    mean += d / cnt
    m2 += d * (v - mean)
    return cnt, mean, m2


@njit(cache=True, inline="always")
def _welford_drop_nb(cnt, mean, m2, v):
    # The exact inverse of _welford_add_nb: (v - M_n)(v - M_{n-1}) is the same product.
    cnt -= 1
    if cnt == 0:
        return 0, 0.0, 0.0
    d = v - mean
    mean -= d / cnt
    m2 -= d * (v - mean)
    return cnt, mean, m2


@njit(cache=True, inline="always")
def _flat_add_nb(cur, last_valid, brk, t, v):
    # A window's valid values are all equal iff the last valid day before the current run
    # of equal values (``brk``) lies before the window start; exact, no arithmetic. Before
    # the first valid day ``brk`` and ``last_valid`` are both -1, so no test of it is
    # needed: one select, no branch on the data.
    return v, t, last_valid if v != cur else brk


@njit(cache=True, nogil=True)
def _spread_nb(x, first, last, window, root):
    # Welford's running mean and m2: add today, drop the day leaving the window. Rounding
    # cannot build up: both are recomputed in two passes once per window length, and a
    # window whose valid values are all equal is exactly 0 (tracked without arithmetic).
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        cnt = 0
        mean = 0.0
        m2 = 0.0
        cur = 0.0
        last_valid = -1
        brk = -1
        phase = 0  # (t - f) % window, counted instead of divided
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            v = np.float64(x[j, t])
            if v == v:
                cur, last_valid, brk = _flat_add_nb(cur, last_valid, brk, t, v)
            rebuild = window > 0 and phase == 0
            phase = phase + 1 if phase + 1 < window else 0
            if rebuild:
                cnt, mean, m2 = _centred2_nb(x, j, lo, t)
            else:
                if v == v:
                    cnt, mean, m2 = _welford_add_nb(cnt, mean, m2, v)
                if window > 0 and lo > f:
                    old = np.float64(x[j, lo - 1])
                    if old == old:
                        cnt, mean, m2 = _welford_drop_nb(cnt, mean, m2, old)
            if cnt >= 2:
                var = 0.0 if brk < lo else max(m2, 0.0) / (cnt - 1)
                out[j, t] = np.sqrt(var) if root else var
    return out


@njit(cache=True, nogil=True)
def mad_nb(x, first, last, window):
    """Rolling mean absolute deviation of the valid values from their mean."""
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            cnt, m, _m2, _m3, _m4, _same = _centred_nb(x, j, lo, t)
            if cnt == 0:
                continue
            acc = 0.0
            for i in range(lo, t + 1):
                v = x[j, i]
                if v == v:
                    acc += abs(v - m)
            out[j, t] = acc / cnt
    return out


@njit(cache=True, inline="always")
def _beats_nb(a, b, want_max):
    """``a`` strictly better than ``b``: greater for a maximum, smaller for a minimum."""
    return a > b if want_max else a < b


@njit(cache=True, nogil=True)
def extremes_nb(x, first, last, window, want_max, want_value, want_index):
    """Rolling maximum (``want_max``) or minimum and its 1-based position, each when wanted.

    Returns ``(value, position)``, ``(N, T)`` float32 each (``(0, 0)`` for one not wanted):
    the maximum (minimum) of the window's valid values, and the 1-based position of its
    first occurrence counted from the window start; one pass for ``Max(x, d)`` and
    ``IdxMax(x, d)`` together.
    """
    # Van Herk / Gil-Werman: the days from ``first`` are cut into blocks of ``window``
    # days; a window is the tail of one block (a suffix, computed backwards beforehand)
    # and the head of the next (a prefix, carried forwards), so each day costs a few
    # selects and no branch on the data; exact (no arithmetic). Ties keep the earlier
    # day, as numpy's argmax picks: a later day wins only when strictly better. NaN days
    # are absent (position -1).
    n, T = x.shape
    values = _empty_nb(n, T) if want_value else _empty_nb(0, 0)
    index = _empty_nb(n, T) if want_index else _empty_nb(0, 0)
    # best day of [i, end of i's block] and its value (NaN: none)
    suffix = np.empty(T, dtype=np.int64)
    suffix_v = np.empty(T, dtype=np.float64)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        w = window if window > 0 else l_ - f + 1  # expanding: one block
        for start in range(f + ((l_ - f) // w) * w, f - 1, -w):
            best = -1
            bv = np.nan
            for i in range(min(start + w, l_ + 1) - 1, start - 1, -1):
                v = np.float64(x[j, i])
                take = (v == v) & ~_beats_nb(bv, v, want_max)  # i is the earlier day
                best = i if take else best
                bv = v if take else bv
                suffix[i] = best
                suffix_v[i] = bv
        head = -1  # best day of [start of t's block, t] and its value
        hv = np.nan
        phase = 0
        for t in range(f, l_ + 1):
            if phase == 0:
                head = -1
                hv = np.nan
            v = np.float64(x[j, t])
            take = (v == v) & ((hv != hv) | _beats_nb(v, hv, want_max))
            head = t if take else head
            hv = v if take else hv
            lo = _start_nb(t, f, window)
            at = head
            if lo < t - phase:  # the window reaches back into the previous block
                tv = suffix_v[lo]
                at = head if (tv != tv) | _beats_nb(hv, tv, want_max) else suffix[lo]
            phase = phase + 1 if phase + 1 < w else 0
            if at >= 0:
                if want_value:
                    values[j, t] = x[j, at]
                if want_index:
                    index[j, t] = at - lo + 1
    return values, index


@njit(cache=True, nogil=True)
def wma_nb(x, first, last, window):
    """Weighted mean of valid values, weight ``k`` for the ``k``-th day of the window."""
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            num = 0.0
            den = 0.0
            for i in range(lo, t + 1):
                v = x[j, i]
                if v == v:
                    w = i - lo + 1.0
                    num += w * v
                    den += w
            if den > 0:
                out[j, t] = num / den
    return out


@njit(cache=True, nogil=True)
def ema_nb(x, first, last, span):
    """Exponential mean as pandas ``ewm(adjust=True, ignore_na=False, min_periods=1)``.

    ``span >= 1``: alpha = 2 / (span + 1); ``0 < span < 1``: alpha = span; ``span == 0``:
    Qlib's expanding form (weights ``a**k`` with ``a = 1 - 2 / (L + 1)`` over the ``L``
    days of life so far, NaN days weighted but contributing nothing).
    """
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        if span == 0:
            for t in range(f, l_ + 1):
                size = t - f + 1
                a = 1.0 - 2.0 / (1.0 + size)
                wsum = 0.0
                acc = 0.0
                seen = False
                w = 1.0
                for i in range(t, f - 1, -1):
                    v = x[j, i]
                    if v == v:
                        acc += w * v
                        seen = True
                    wsum += w
                    w *= a
                if seen:
                    out[j, t] = acc / wsum
            continue
        alpha = span if span < 1 else 2.0 / (span + 1.0)
        decay = 1.0 - alpha
        weighted = np.float64(x[j, f])
        old_wt = 1.0
        if weighted == weighted:
            out[j, f] = weighted
        for t in range(f + 1, l_ + 1):
            cur = np.float64(x[j, t])
            if weighted == weighted:
                old_wt *= decay
                if cur == cur:
                    if weighted != cur:
                        weighted = (old_wt * weighted + cur) / (old_wt + 1.0)
                    old_wt += 1.0
            elif cur == cur:
                weighted = cur
            if weighted == weighted:
                out[j, t] = weighted
    return out
