"""Row sums of a weights matrix ``(T, N)`` without temporaries, bit-identical to NumPy's.

NumPy sums the contiguous axis of a C-ordered array with pairwise summation (blocks of up
to 128 values in eight running sums, halves above that); :func:`pairwise_sum_nb` is that
algorithm (as a fixed tree per row length), so ``np.abs(w[1:] - w[:-1]).sum(axis=1)`` and
friends come out the same to the bit while the matrix is read once instead of through
three ``(T, N)`` temporaries.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_BLOCK = 128  # NumPy's PW_BLOCKSIZE


@njit(cache=True, nogil=True)
def _block_sum_nb(a, lo, n):
    """NumPy's sum of one block of at most 128 values (eight running sums)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    end = n - n % 8
    for b in range(lo + 8, lo + end, 8):  # counted loops: a fifth faster than ``while``
        r0 += a[b]
        r1 += a[b + 1]
        r2 += a[b + 2]
        r3 += a[b + 3]
        r4 += a[b + 4]
        r5 += a[b + 5]
        r6 += a[b + 6]
        r7 += a[b + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(lo + end, lo + n):
        res += a[i]
    return res


def pairwise_plan(n: int) -> np.ndarray:
    """NumPy's pairwise tree over ``n`` values in post-order: rows ``(lo, length)`` are
    blocks to sum, ``(-1, -1)`` adds the last two sums (halves split at a multiple of 8)."""
    ops: list[tuple[int, int]] = []

    def split(lo: int, size: int) -> None:
        if size <= _BLOCK:
            ops.append((lo, size))
            return
        half = size // 2
        half -= half % 8
        split(lo, half)
        split(lo + half, size - half)
        ops.append((-1, -1))

    split(0, n)
    return np.array(ops, dtype=np.int64).reshape(-1, 2)


@njit(cache=True, nogil=True)
def pairwise_sum_nb(a, plan, stack):
    """``a.sum()`` in NumPy's order of additions (``plan`` from :func:`pairwise_plan` for
    ``len(a)``; ``stack`` scratch of at least ``len(plan)`` floats)."""
    top = 0
    for k in range(plan.shape[0]):
        lo = plan[k, 0]
        if lo < 0:
            top -= 1
            stack[top - 1] = stack[top - 1] + stack[top]
        else:
            stack[top] = _block_sum_nb(a, lo, plan[k, 1])
            top += 1
    return stack[0]


def weight_row_sums(w: np.ndarray) -> np.ndarray:
    """Row sums of ``w`` (``(T, N)`` float64) as ``(3, T)``: the one-way step
    ``sum_i |w[t, i] - w[t-1, i]|`` (``w[-1] = 0``), the gross ``sum_i |w[t, i]|`` and the
    net ``sum_i w[t, i]``; each equal to NumPy's ``.sum(axis=1)`` of those terms."""
    a = np.ascontiguousarray(w, dtype=np.float64)
    plan = pairwise_plan(a.shape[1])
    return _row_sums_nb(a, plan, np.empty(plan.shape[0] + 1))


def position_weight_sums(
    positions: np.ndarray, marks: np.ndarray, equity: np.ndarray
) -> np.ndarray:
    """:func:`weight_row_sums` of ``result.weights_nb(positions, marks, equity)`` without
    the ``(T, N)`` weights: each row of weights is built (the same arithmetic) and summed."""
    n = positions.shape[1]
    plan = pairwise_plan(n)
    return _weight_sums_nb(positions, marks, equity, plan, np.empty(plan.shape[0] + 1))


@njit(cache=True, nogil=True, inline="always")
def weight_nb(positions, marks, equity, t, i, shared, top):
    """Weight of column ``i`` on day ``t``: ``nan_to_num(positions * marks) / equity`` (the
    column's own equity, or the portfolio's when ``shared``) where that equity is positive,
    else 0. The one definition every weight kernel uses."""
    d = equity[t, 0] if shared else equity[t, i]
    return weight_of_nb(positions[t, i], marks[t, i], d, top)


@njit(cache=True, nogil=True, inline="always")
def weight_of_nb(qty, mark, equity, top):
    """:func:`weight_nb` of one holding: ``qty`` shares marked at ``mark`` in a group of
    ``equity``."""
    if not equity > 0.0:
        return 0.0
    return finite_nb(qty * mark, top) / equity


@njit(cache=True, nogil=True, inline="always")
def finite_nb(v, top):
    """``numpy.nan_to_num(v, nan=0.0)`` of one value."""
    if v != v:
        return 0.0
    if v > top:
        return top
    if v < -top:
        return -top
    return v


@njit(cache=True, nogil=True)
def _row_sums_nb(w, plan, stack):
    t_len, n = w.shape
    top = np.finfo(np.float64).max
    out = np.empty((3, t_len))
    prev = np.zeros(n)
    row = np.empty(n)
    step = np.empty(n)
    gross = np.empty(n)
    for t in range(t_len):
        for i in range(n):
            v = finite_nb(w[t, i], top)
            row[i] = v
            step[i] = abs(v - prev[i]) if t > 0 else abs(v)
            gross[i] = abs(v)
            prev[i] = v
        out[0, t] = pairwise_sum_nb(step, plan, stack)
        out[1, t] = pairwise_sum_nb(gross, plan, stack)
        out[2, t] = pairwise_sum_nb(row, plan, stack)
    return out


@njit(cache=True, nogil=True)
def _weight_sums_nb(positions, marks, equity, plan, stack):
    t_len, n = positions.shape
    out = np.empty((3, t_len))
    prev = np.zeros(n)
    rows = np.empty((3, n))
    for t in range(t_len):
        day_weight_sums_nb(positions[t], marks[t], equity[t], t, prev, plan, stack, rows,
                           out[:, t])  # fmt: skip
    return out


@njit(cache=True, nogil=True, inline="always")
def day_weight_sums_nb(qty, marks, equity, t, prev, plan, stack, rows, out):
    """One day of :func:`position_weight_sums`: the weights of ``qty`` shares at ``marks``
    in groups of ``equity`` (one value: a shared portfolio), summed into ``out[0:3]``
    (step from ``prev``, which becomes today's weights; gross; net). ``rows`` is
    ``(3, N)`` scratch; ``t`` is the day's index (day 0 steps from nothing)."""
    shared = equity.shape[0] == 1
    top = np.finfo(np.float64).max
    row = rows[0]
    step = rows[1]
    gross = rows[2]
    for i in range(qty.shape[0]):
        d = equity[0] if shared else equity[i]
        w = finite_nb(weight_of_nb(qty[i], marks[i], d, top), top)
        row[i] = w
        step[i] = abs(w - prev[i]) if t > 0 else abs(w)
        gross[i] = abs(w)
        prev[i] = w
    out[0] = pairwise_sum_nb(step, plan, stack)
    out[1] = pairwise_sum_nb(gross, plan, stack)
    out[2] = pairwise_sum_nb(row, plan, stack)
