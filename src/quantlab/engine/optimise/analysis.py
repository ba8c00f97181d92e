"""What a study's result shows, computed from its trials: 2-D heat-map data for a pair of
parameters, 1-D sensitivity curves, and the overfitting report (PBO and the deflated Sharpe
ratio of the best trial). Inputs are iterables of :class:`~quantlab.engine.optimise.Trial`
(or anything with ``params`` and ``values``), so a caller can stream them from storage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from quantlab.engine.optimise.overfit import StreamingCSCV, deflated_sharpe_from_returns
from quantlab.engine.optimise.search import Trial


def _best(a: float, b: float, maximize: bool) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return max(a, b) if maximize else min(a, b)


def heatmap(
    trials: Iterable[Trial], x: str, y: str, *, objective: int = 0, maximize: bool = True
) -> dict[str, Any]:
    """Heat-map data of objective ``objective`` over parameters ``x`` and ``y``.

    Where other parameters vary too, a cell holds the best value over them (the best a
    researcher could have picked for that pair); cells without a trial are NaN.

    Returns
    -------
    dict
        ``x`` and ``y``: the sorted distinct values; ``z``: ``len(y) × len(x)`` nested list.
    """
    cells: dict[tuple[float, float], float] = {}
    for t in trials:
        if x not in t.params or y not in t.params:
            raise KeyError(f"trials have no parameter {x if x not in t.params else y!r}")
        key = (t.params[x], t.params[y])
        cells[key] = _best(cells.get(key, math.nan), t.values[objective], maximize)
    xs = sorted({k[0] for k in cells})
    ys = sorted({k[1] for k in cells})
    z = [[cells.get((a, b), math.nan) for a in xs] for b in ys]
    return {"x": xs, "y": ys, "z": z}


def sensitivity(
    trials: Iterable[Trial], name: str, *, objective: int = 0, maximize: bool = True
) -> dict[str, list[float]]:
    """1-D sensitivity of objective ``objective`` to parameter ``name``: per distinct value,
    the best and the mean objective over the other parameters (NaN values ignored)."""
    groups: dict[float, list[float]] = {}
    for t in trials:
        groups.setdefault(t.params[name], []).append(t.values[objective])
    values = sorted(groups)
    best, mean, count = [], [], []
    for v in values:
        finite = [u for u in groups[v] if not math.isnan(u)]
        best.append((max(finite) if maximize else min(finite)) if finite else math.nan)
        mean.append(float(np.mean(finite)) if finite else math.nan)
        count.append(float(len(groups[v])))
    return {"values": values, "best": best, "mean": mean, "count": count}


def cscv_splits(n_obs: int, n_splits: int = 16) -> int:
    """The CSCV block count used for ``n_obs`` returns: ``n_splits`` lowered to the largest
    even number that leaves each block at least two rows (0 when fewer than 2 fit)."""
    return min(n_splits, (n_obs // 2) // 2 * 2)


def overfitting_report(
    returns: np.ndarray, best: int, *, n_splits: int = 16, periods: int = 252
) -> dict[str, Any]:
    """PBO (CSCV, Sharpe ratio as performance) and the deflated Sharpe ratio of the chosen
    trial.

    Parameters
    ----------
    returns : numpy.ndarray
        ``(T, N)`` daily returns of the N trials on a common calendar.
    best : int
        Column of the trial the study selected.
    n_splits : int
        CSCV blocks; lowered to the largest even number that leaves each block at least
        two rows (and at least 2).
    periods : int
        Periods per year, to report the annualised Sharpe ratios beside the per-period ones.

    Returns
    -------
    dict
        ``pbo``, ``logits`` (histogram), ``degradation`` (slope, intercept, probability of an
        out-of-sample loss), ``n_splits``, and ``dsr`` with its inputs.
    """
    m = np.nan_to_num(np.asarray(returns, dtype=np.float64), nan=0.0)
    acc = cscv_accumulator(m.shape[0], n_splits)
    acc.add(m)
    return overfitting_report_from(acc, m[:, best], periods=periods)


def cscv_accumulator(n_obs: int, n_splits: int = 16) -> StreamingCSCV:
    """An empty :class:`~quantlab.engine.optimise.overfit.StreamingCSCV` for trials of
    ``n_obs`` returns, with ``n_splits`` lowered as :func:`cscv_splits` says."""
    if n_obs < 3:
        raise ValueError("the overfitting report needs at least 3 returns per trial")
    return StreamingCSCV(n_obs, max(cscv_splits(n_obs, n_splits), 2))


def overfitting_report_from(
    acc: StreamingCSCV, best_returns: np.ndarray, *, periods: int = 252
) -> dict[str, Any]:
    """:func:`overfitting_report` of the trials added to ``acc`` (their returns arrived a
    chunk of columns at a time, e.g. page by page from storage, so memory is bounded by the
    per-block moments, ``O(S · N)``, whatever the number of trials N); ``best_returns`` are
    the selected trial's ``(T,)`` returns (for the DSR's skew and kurtosis). Equal to
    :func:`overfitting_report` on the whole matrix."""
    n, splits = acc.n_trials, cscv_splits(acc.n_obs, acc.n_splits)
    if n == 0:
        raise ValueError("the overfitting report needs at least 1 trial")
    out: dict[str, Any] = {"n_trials": n, "n_obs": acc.n_obs}
    if n >= 2 and splits >= 2:
        p = acc.result()
        out.update(
            pbo=p.pbo,
            n_splits=splits,
            logits=p.logit_histogram(),
            degradation={
                "slope": p.degradation_slope,
                "intercept": p.degradation_intercept,
                "prob_oos_loss": p.prob_oos_loss,
            },
        )
    else:
        out.update(pbo=None, n_splits=None, logits=None, degradation=None)
    best = np.nan_to_num(np.asarray(best_returns, dtype=np.float64), nan=0.0)
    d = deflated_sharpe_from_returns(best, acc.sharpes())
    out["dsr"] = {
        "dsr": d.dsr,
        "sharpe": d.sharpe,
        "sharpe_annual": d.sharpe * math.sqrt(periods),
        "benchmark_sharpe": d.benchmark_sharpe,
        "benchmark_sharpe_annual": d.benchmark_sharpe * math.sqrt(periods),
        "skew": d.skew,
        "kurtosis": d.kurtosis,
    }
    return out
