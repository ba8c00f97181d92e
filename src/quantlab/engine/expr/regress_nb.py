"""Running-window kernels for ``Slope``, ``Rsquare`` and ``Resi``: O(1) per day.

Same layout and rules as :mod:`quantlab.engine.expr.rolling_nb` (instrument-major
``(N, T)`` float32 in and out, each instrument on its ``[first, last]`` slice). The
regression is of the window's valid values on their day position, so a NaN day keeps its
gap (Qlib's Cython rolling). A window holding +-inf gives NaN (its sums are undefined).

Method
------
Per instrument the kernel keeps, over the window's finite values, the count ``n`` and
the sums ``S_t``, ``S_tt`` (exact integers), ``S_y``, ``S_ty`` and ``S_yy``, adding today
and dropping the day that leaves. Positions ``t`` are counted from an origin day and
values ``y`` are shifted by a reference value, both reset when the sums are rebuilt from
scratch once per window length, so the sums stay small and rounding cannot build up. The
centred sums then are ``sxx = S_tt - S_t^2 / n``, ``sxy = S_ty - S_t S_y / n`` and
``syy = S_yy - S_y^2 / n``. When ``syy`` has lost more than eight of its sixteen digits
to cancellation (a nearly flat window), the day is recomputed in two passes, which keeps
Qlib's flat-window test (std at most 2e-5) exact enough.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantlab.engine.expr.rolling_nb import _empty_nb, _flat_std_nb, _start_nb

#: Relative size of ``syy`` below which a day is recomputed in two passes.
_CANCEL = 1e-8


@njit(cache=True)
def _two_pass_nb(x, j, lo, hi):
    """Centred sums over the finite values of x[j, lo:hi+1], positions relative to ``hi``.

    Returns ``(n, mean position, mean value, sxx, sxy, syy)``.
    """
    cnt = 0
    sx = 0.0
    sy = 0.0
    for i in range(lo, hi + 1):
        v = x[j, i]
        if v == v:
            cnt += 1
            sx += i - hi
            sy += v
    if cnt == 0:
        return 0, 0.0, 0.0, 0.0, 0.0, 0.0
    mx = sx / cnt
    my = sy / cnt
    sxx = 0.0
    sxy = 0.0
    syy = 0.0
    for i in range(lo, hi + 1):
        v = x[j, i]
        if v == v:
            dx = (i - hi) - mx
            dy = v - my
            sxx += dx * dx
            sxy += dx * dy
            syy += dy * dy
    return cnt, mx, my, sxx, sxy, syy


@njit(cache=True)
def regress_nb(x, first, last, window, want_slope, want_rsquare, want_resi):
    """Slope, R^2 and residual of one regression pass, each when wanted.

    ``x``, ``first``, ``last`` and ``window`` as for every kernel of
    :mod:`quantlab.engine.expr.rolling_nb`; the ``want_*`` flags choose the outputs filled.
    Returns ``(slope, rsquare, resi)``, ``(N, T)`` float32 each (``(0, 0)`` for one not
    wanted): the OLS slope of the valid values on their day position; its R^2, NaN where
    the window's std is at most 2e-5 (Qlib); today's value minus the fitted value, NaN when
    today is NaN. Each is NaN with fewer than two valid values, with a +-inf in the window,
    and outside ``[first, last]``.
    """
    n, T = x.shape
    slopes = _empty_nb(n, T) if want_slope else _empty_nb(0, 0)
    rsqs = _empty_nb(n, T) if want_rsquare else _empty_nb(0, 0)
    resis = _empty_nb(n, T) if want_resi else _empty_nb(0, 0)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        cnt = 0  # finite values in the window
        ninf = 0  # +-inf values in the window
        st = 0  # sum of positions (from origin o), exact
        stt = 0  # sum of squared positions, exact
        sy = 0.0  # sums of y - ref
        sty = 0.0
        syy = 0.0
        o = f
        ref = 0.0
        phase = 0  # (t - f) % window, counted instead of divided
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            rebuild = window > 0 and phase == 0
            phase = phase + 1 if phase + 1 < window else 0
            if rebuild:
                cnt = 0
                ninf = 0
                st = 0
                stt = 0
                sy = 0.0
                sty = 0.0
                syy = 0.0
                o = t
                a = lo
            else:
                a = t
            for i in range(a, t + 1):
                v = np.float64(x[j, i])
                if v != v:
                    continue
                if np.isinf(v):
                    ninf += 1
                    continue
                if cnt == 0:
                    ref = v
                    st = 0
                    stt = 0
                    sy = 0.0
                    sty = 0.0
                    syy = 0.0
                p = i - o
                d = v - ref
                cnt += 1
                st += p
                stt += p * p
                sy += d
                sty += p * d
                syy += d * d
            if not rebuild and window > 0 and lo > f:
                v = np.float64(x[j, lo - 1])
                if v == v:
                    if np.isinf(v):
                        ninf -= 1
                    else:
                        p = lo - 1 - o
                        d = v - ref
                        cnt -= 1
                        st -= p
                        stt -= p * p
                        sy -= d
                        sty -= p * d
                        syy -= d * d
                        if cnt == 0:
                            sy = 0.0
                            sty = 0.0
                            syy = 0.0
            if cnt == 0 or ninf > 0:
                continue
            mt = st / cnt  # mean position, from o
            my = sy / cnt  # mean of y - ref
            sxx = (cnt * stt - st * st) / cnt
            sxy = sty - st * my
            cyy = syy - sy * my
            if cyy < _CANCEL * syy:
                # nearly flat: the running difference has lost too many digits
                _c2, mx2, my2, sxx, sxy, cyy = _two_pass_nb(x, j, lo, t)
                mt = mx2 + (t - o)
                my = my2 - ref
            slope = sxy / sxx if sxx > 0 else np.nan
            if want_slope:
                slopes[j, t] = slope
            if want_rsquare and not (cnt >= 2 and window > 0 and _flat_std_nb(cnt, cyy)):
                den = sxx * cyy
                rsqs[j, t] = sxy * sxy / den if den > 0 else np.nan
            if want_resi:
                v = np.float64(x[j, t])
                resis[j, t] = (v - ref) - (my + slope * ((t - o) - mt))
    return slopes, rsqs, resis
