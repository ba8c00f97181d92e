"""Numba kernels for the two-input windowed operators ``Corr`` and ``Cov``.

Same layout and rules as :mod:`quantlab.engine.expr.rolling_nb`: a day counts when both
inputs are valid; ``Corr`` is NaN where either input's own rolling std is at most 2e-5
(Qlib's flat mask).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantlab.engine.expr.rolling_nb import (
    _centred2_nb,
    _empty_nb,
    _flat_add_nb,
    _flat_std_nb,
    _start_nb,
    _welford_add_nb,
    _welford_drop_nb,
)


@njit(cache=True)
def _paired_centred_nb(x, y, j, lo, hi):
    """Count, means and centred sums sxx, syy, sxy over days where both are valid."""
    cnt = 0
    sx = 0.0
    sy = 0.0
    for i in range(lo, hi + 1):
        a = x[j, i]
        b = y[j, i]
        if a == a and b == b:
            cnt += 1
            sx += a
            sy += b
    if cnt == 0:
        return 0, 0.0, 0.0, 0.0, 0.0, 0.0
    mx = sx / cnt
    my = sy / cnt
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(lo, hi + 1):
        a = x[j, i]
        b = y[j, i]
        if a == a and b == b:
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
            sxy += (a - mx) * (b - my)
    return cnt, mx, my, sxx, syy, sxy


@njit(cache=True)
def _pair_nb(x, y, first, last, window, corr):
    # Running Welford sums, as _spread_nb: for the paired days (co-moment sxy) and, for
    # Qlib's flat test, for each input's own valid days; all recomputed in two passes once
    # per window length. Flatness is tracked exactly, paired and own, so a flat input
    # gives exactly 0 covariance and NaN correlation as the two-pass sums do.
    # While every day since the last recomputation had both inputs valid or both missing
    # (``same``), each input's own sums are the paired ones, bit for bit (the same
    # operations on the same days): they are then not kept apart, only copied out when a
    # day breaks the match.
    n, T = x.shape
    out = _empty_nb(n, T)
    for j in range(n):
        f, l_ = first[j], last[j]
        if f < 0:
            continue
        cnt = 0
        mx = 0.0
        my = 0.0
        sxx = 0.0
        syy = 0.0
        sxy = 0.0
        peak_x = 0.0
        peak_y = 0.0
        cx = 0
        ox = 0.0
        m2x = 0.0
        cy = 0
        oy = 0.0
        m2y = 0.0
        same = True
        # flat trackers: (value, last valid day, break day) for own x, own y, paired x, y
        vx, lx, bx = 0.0, -1, -1
        vy, ly, by = 0.0, -1, -1
        vpx, lpx, bpx = 0.0, -1, -1
        vpy, lpy, bpy = 0.0, -1, -1
        phase = 0  # (t - f) % window, counted instead of divided
        for t in range(f, l_ + 1):
            lo = _start_nb(t, f, window)
            a = np.float64(x[j, t])
            b = np.float64(y[j, t])
            if a == a:
                vx, lx, bx = _flat_add_nb(vx, lx, bx, t, a)
            if b == b:
                vy, ly, by = _flat_add_nb(vy, ly, by, t, b)
            if a == a and b == b:
                vpx, lpx, bpx = _flat_add_nb(vpx, lpx, bpx, t, a)
                vpy, lpy, bpy = _flat_add_nb(vpy, lpy, bpy, t, b)
            if window > 0 and phase == 0:
                cnt, mx, my, sxx, syy, sxy = _paired_centred_nb(x, y, j, lo, t)
                peak_x = sxx
                peak_y = syy
                cx, ox, m2x = _centred2_nb(x, j, lo, t)
                cy, oy, m2y = _centred2_nb(y, j, lo, t)
                same = cx == cnt and cy == cnt
            else:
                if same and (a == a) != (b == b):
                    same = False
                    cx, ox, m2x = cnt, mx, sxx
                    cy, oy, m2y = cnt, my, syy
                if not same:
                    if a == a:
                        cx, ox, m2x = _welford_add_nb(cx, ox, m2x, a)
                    if b == b:
                        cy, oy, m2y = _welford_add_nb(cy, oy, m2y, b)
                if a == a and b == b:
                    cnt += 1
                    dx = a - mx
                    mx += dx / cnt
                    dy = b - my
                    my += dy / cnt
                    sxx += dx * (a - mx)
                    syy += dy * (b - my)
                    sxy += dx * (b - my)
                if window > 0 and lo > f:
                    a = np.float64(x[j, lo - 1])
                    b = np.float64(y[j, lo - 1])
                    if not same:
                        if a == a:
                            cx, ox, m2x = _welford_drop_nb(cx, ox, m2x, a)
                        if b == b:
                            cy, oy, m2y = _welford_drop_nb(cy, oy, m2y, b)
                    if a == a and b == b:
                        cnt -= 1
                        if cnt == 0:
                            mx = my = sxx = syy = sxy = 0.0
                        else:
                            dx = a - mx
                            mx -= dx / cnt
                            dy = b - my
                            my -= dy / cnt
                            sxx -= dx * (a - mx)
                            syy -= dy * (b - my)
                            sxy -= dx * (b - my)
            phase = phase + 1 if phase + 1 < window else 0
            # Dropping a day leaves an absolute error near 1e-16 of the largest sum seen;
            # if the paired spread has since shrunk 1e8-fold, re-add this window in full.
            peak_x = max(peak_x, sxx)
            peak_y = max(peak_y, syy)
            if sxx < 1e-8 * peak_x or syy < 1e-8 * peak_y:
                if same:  # the own sums part from the paired ones here
                    same = False
                    cx, ox, m2x = cnt, mx, sxx
                    cy, oy, m2y = cnt, my, syy
                cnt, mx, my, sxx, syy, sxy = _paired_centred_nb(x, y, j, lo, t)
                peak_x = sxx
                peak_y = syy
            if cnt < 2:
                continue
            flat_px = bpx < lo
            flat_py = bpy < lo
            cov = 0.0 if flat_px or flat_py else sxy
            if not corr:
                out[j, t] = cov / (cnt - 1)
                continue
            # Qlib's flat test uses each input's own valid values, not the paired ones.
            if same:
                cx, m2x, cy, m2y = cnt, sxx, cnt, syy
            if cx >= 2 and (bx < lo or _flat_std_nb(cx, m2x)):
                continue
            if cy >= 2 and (by < lo or _flat_std_nb(cy, m2y)):
                continue
            px = 0.0 if flat_px else max(sxx, 0.0)
            py = 0.0 if flat_py else max(syy, 0.0)
            den = np.sqrt(px * py)
            out[j, t] = cov / den if den > 0 else np.nan
    return out


@njit(cache=True)
def corr_nb(x, y, first, last, window):
    """Rolling Pearson correlation over days where both are valid (Qlib's flat mask)."""
    return _pair_nb(x, y, first, last, window, True)


@njit(cache=True)
def cov_nb(x, y, first, last, window):
    """Rolling sample covariance (ddof 1) over days where both are valid."""
    return _pair_nb(x, y, first, last, window, False)
