"""Kernels of the diagnostics that read whole ``(T, N)`` or ``(samples, T)`` arrays, each
bit-identical to the NumPy expression it replaces (sums replay NumPy's pairwise order, see
:mod:`quantlab.engine.backtest.rows_nb`) but reading its input once, without temporaries.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from quantlab.engine.backtest.rows_nb import finite_nb, pairwise_plan, pairwise_sum_nb, weight_nb


def bootstrap_sharpes(
    base: np.ndarray, samples: int, rng: np.random.Generator, periods: int
) -> np.ndarray:
    """``null.mean(axis=1) / null.std(axis=1, ddof=1) * sqrt(periods)`` of
    ``null = base[rng.integers(0, len(base), size=(samples, len(base)))]``: the same draws
    (``rng`` ends in the same state), a row at a time, without the ``(samples, n)`` index
    and values arrays."""
    n = len(base)
    plan = pairwise_plan(n)
    return _sharpes_nb(np.ascontiguousarray(base, dtype=np.float64), int(samples), rng,  # type: ignore[no-any-return]
                       math.sqrt(periods), plan, np.empty(plan.shape[0] + 1))  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def _sharpes_nb(base, samples, rng, root, plan, stack):
    n = base.shape[0]
    out = np.empty(samples)
    row = np.empty(n)
    dev = np.empty(n)
    for s in range(samples):
        # a row of the (samples, n) draw: Generator.integers fills in C order from one
        # stream, so row by row gives the same numbers
        idx = rng.integers(0, n, n)
        for j in range(n):
            row[j] = base[idx[j]]
        mean = pairwise_sum_nb(row, plan, stack) / n
        for j in range(n):
            d = row[j] - mean
            dev[j] = d * d
        sd = math.sqrt(pairwise_sum_nb(dev, plan, stack) / max(n - 1, 0))
        out[s] = mean / sd * root
    return out


def concentration(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``gross = |w|.sum(axis=1)`` and, on the rows where it is positive,
    ``((|w| / gross) ** 2).sum(axis=1)`` (the Herfindahl index); NaN weights count as 0."""
    w = np.ascontiguousarray(weights, dtype=np.float64)
    plan = pairwise_plan(w.shape[1])
    gross, hhi = _concentration_nb(w, plan, np.empty(plan.shape[0] + 1))
    return gross, hhi[gross > 0]


@njit(cache=True, nogil=True, error_model="numpy")
def _concentration_nb(w, plan, stack):
    t_len, n = w.shape
    top = np.finfo(np.float64).max
    gross = np.empty(t_len)
    hhi = np.zeros(t_len)
    a = np.empty(n)
    for t in range(t_len):
        for i in range(n):
            a[i] = abs(finite_nb(w[t, i], top))
        g = pairwise_sum_nb(a, plan, stack)
        gross[t] = g
        if g > 0:
            for i in range(n):
                x = a[i] / g
                a[i] = x * x
            hhi[t] = pairwise_sum_nb(a, plan, stack)
    return gross, hhi


@njit(cache=True, nogil=True, error_model="numpy")
def contribution_totals_nb(weights, close):
    """``np.nansum(contributions_from_weights(weights, r), axis=0)`` with the asset returns
    ``r[t] = close[t] / close[t - 1] - 1`` (``r[0] = 0``): each instrument's summed daily
    contribution, rows added in order as NumPy's column reduction does."""
    t_len, n = weights.shape
    top = np.finfo(np.float64).max
    out = np.zeros(n)
    for t in range(1, t_len):
        for i in range(n):
            w = finite_nb(weights[t - 1, i], top)
            r = finite_nb(close[t, i] / close[t - 1, i] - 1.0, top)
            c = w * r
            out[i] += c if c == c else 0.0
    return out


def weight_analysis(
    positions: np.ndarray, marks: np.ndarray, equity: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Everything the metrics and diagnostics read from the weights
    ``weights_nb(positions, marks, equity)``, in one pass without the ``(T, N)`` weights:
    ``rows`` (:func:`~quantlab.engine.backtest.metrics.position_rows`), the raw daily sum
    ``np.nansum(weights, axis=1)``, the Herfindahl index per row (0 where the gross is 0,
    see :func:`concentration`) and :func:`contribution_totals_nb` against ``close``."""
    plan = pairwise_plan(positions.shape[1])
    return _weight_analysis_nb(positions, marks, equity, close, plan,  # type: ignore[no-any-return]
                               np.empty(plan.shape[0] + 1))  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def _weight_analysis_nb(positions, marks, equity, close, plan, stack):
    t_len, n = positions.shape
    shared = equity.shape[1] == 1
    top = np.finfo(np.float64).max
    rows = np.empty((3, t_len))
    raw_net = np.empty(t_len)
    hhi = np.zeros(t_len)
    totals = np.zeros(n)
    prev = np.zeros(n)
    raw = np.empty(n)
    row = np.empty(n)
    step = np.empty(n)
    gross = np.empty(n)
    for t in range(t_len):
        # one simple loop per quantity over the day's columns, then the day's sums (a
        # quarter faster than one loop computing everything)
        for i in range(n):
            raw[i] = weight_nb(positions, marks, equity, t, i, shared, top)
        clamped = False
        for i in range(n):
            w = finite_nb(raw[i], top)  # numpy.nan_to_num
            clamped |= not w == raw[i]
            row[i] = w
            step[i] = abs(w - prev[i])  # prev is 0 before the first day
            gross[i] = abs(w)
        if t > 0:
            for i in range(n):
                c = prev[i] * finite_nb(close[t, i] / close[t - 1, i] - 1.0, top)
                totals[i] += c if c == c else 0.0
        prev[:] = row
        rows[0, t] = pairwise_sum_nb(step, plan, stack)
        g = pairwise_sum_nb(gross, plan, stack)
        rows[1, t] = g
        rows[2, t] = pairwise_sum_nb(row, plan, stack)
        # the raw weights are the clamped ones, bit for bit, unless one was NaN or infinite
        raw_net[t] = pairwise_sum_nb(raw, plan, stack) if clamped else rows[2, t]
        if g > 0:
            for i in range(n):
                x = gross[i] / g
                step[i] = x * x
            hhi[t] = pairwise_sum_nb(step, plan, stack)
    return rows, raw_net, hhi, totals
