"""Running-window kernels for ``Skew`` and ``Kurt``: O(1) per day.

Same layout and rules as :mod:`quantlab.engine.expr.rolling_nb`. Both are pandas'
bias-corrected estimators over the window's valid values (``Skew`` needs three,
``Kurt`` four). A window whose valid values are all equal gives NaN: the quantity is
undefined there (older pandas returned 0 / -3, which it later treated as a bug). The
test is exact, on the values themselves, not on a computed variance.

Method
------
Per instrument the kernel keeps the power sums ``S_k = sum (y - ref)^k``, ``k = 1..4``,
of the window's valid values, adding today and dropping the day that leaves; ``ref`` is
a value of the window, reset when the sums are rebuilt from scratch once per window
length, so rounding cannot build up. Central sums follow from the power sums
(``M2 = S_2 - n m^2`` ...). When ``M2`` has lost more than eight of its sixteen digits to
cancellation, the day is recomputed in two passes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantlab.engine.expr.rolling_nb import _centred_nb, _empty_nb, _flat_add_nb, _start_nb

_CANCEL = 1e-8


@njit(cache=True)
def _moments_nb(x, first, last, window, kurt):
    n, T = x.shape
    out = _empty_nb(n, T)
    need = 4 if kurt else 3
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        cnt = 0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        s4 = 0.0
        ref = 0.0
        cur = 0.0
        last_valid = -1
        brk = -1
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            v = np.float64(x[j, t])
            if v == v:
                cur, last_valid, brk = _flat_add_nb(cur, last_valid, brk, t, v)
            rebuild = window > 0 and (t - f) % window == 0
            if rebuild:
                cnt = 0
                a = lo
            else:
                a = t
            for i in range(a, t + 1):
                w = np.float64(x[j, i])
                if w != w:
                    continue
                if cnt == 0:
                    ref = w
                    s1 = 0.0
                    s2 = 0.0
                    s3 = 0.0
                    s4 = 0.0
                d = w - ref
                d2 = d * d
                cnt += 1
                s1 += d
                s2 += d2
                s3 += d2 * d
                s4 += d2 * d2
            if not rebuild and window > 0 and lo > f:
                w = np.float64(x[j, lo - 1])
                if w == w:
                    cnt -= 1
                    d = w - ref
                    d2 = d * d
                    s1 -= d
                    s2 -= d2
                    s3 -= d2 * d
                    s4 -= d2 * d2
            if cnt < need or brk < lo:
                continue  # too few values, or all equal
            m = s1 / cnt
            m2 = s2 - s1 * m
            if not m2 > _CANCEL * s2:
                _c, _mean, m2, m3, m4, _same = _centred_nb(x, j, lo, t)
            else:
                mm = m * m
                m3 = s3 - 3.0 * m * s2 + 2.0 * cnt * mm * m
                m4 = s4 - 4.0 * m * s3 + 6.0 * mm * s2 - 3.0 * cnt * mm * mm
            b = m2 / cnt
            if b <= 1e-14:
                continue
            if kurt:
                d4 = m4 / cnt
                k = (cnt * cnt - 1.0) * d4 / (b * b) - 3.0 * (cnt - 1.0) ** 2
                out[j, t] = k / ((cnt - 2.0) * (cnt - 3.0))
            else:
                c3 = m3 / cnt
                out[j, t] = np.sqrt(cnt * (cnt - 1.0)) * c3 / ((cnt - 2.0) * b * np.sqrt(b))
    return out


@njit(cache=True)
def skew_nb(x, first, last, window):
    """Rolling bias-corrected sample skewness (pandas' ``rolling().skew()``).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, T)`` float32, instrument-major.
    first, last : numpy.ndarray
        ``(N,)`` int64 inclusive day range of each instrument (``-1``: absent).
    window : int
        Trailing window in days (``0``: expanding).

    Returns
    -------
    numpy.ndarray
        ``(N, T)`` float32, dimensionless; NaN with fewer than three valid values, where
        the window's valid values are all equal, and outside ``[first, last]``.
    """
    return _moments_nb(x, first, last, window, False)


@njit(cache=True)
def kurt_nb(x, first, last, window):
    """Rolling bias-corrected excess kurtosis (pandas' ``rolling().kurt()``).

    Same parameters as :func:`skew_nb`; NaN with fewer than four valid values, where the
    window's valid values are all equal, and outside ``[first, last]``.
    """
    return _moments_nb(x, first, last, window, True)
