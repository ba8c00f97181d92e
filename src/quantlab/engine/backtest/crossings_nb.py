"""Crossing tests on instrument-major ``(N, T)`` float32 values (flat list; see ``crossings``).

A crossing of ``a`` and ``b`` is true on panel row ``r`` of instrument ``j`` when the
instrument exists that day and the day before (``first[j] < r <= last[j]``) and
:func:`quantlab.engine.expr.cross_nb.crossed_nb` holds: exactly where ``Cross`` /
``CrossDown`` evaluate to 1 (they are 0 on the first day of life and NaN outside it).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from quantlab.engine.expr.cross_nb import crossed_nb


@njit(cache=True, nogil=True, inline="always")
def crossed_at_nb(a, b, first, last, j, r, up):
    """Whether ``a`` crosses ``b`` (above when ``up``, else below) on row ``r`` of ``j``."""
    f = first[j]
    if f < 0 or r <= f or r > last[j]:
        return False
    return crossed_nb(a, b, j, r, up)


@njit(cache=True, nogil=True)
def crossings_nb(a, b, first, last, up, cols, lo):
    """The crossings of columns ``cols`` on rows ``[lo:]`` as a C-ordered boolean ``(T, N)``
    panel (a signal as compiled: ``Cross(...)`` non-zero and not NaN)."""
    t_len = a.shape[1] - lo
    n = cols.shape[0]
    out = np.zeros((t_len, n), dtype=np.bool_)
    for t in range(t_len):
        for i in range(n):
            out[t, i] = crossed_at_nb(a, b, first, last, cols[i], lo + t, up)
    return out
