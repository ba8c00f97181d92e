"""Walk-forward optimisation: search on each in-sample span, trade the chosen parameters on
the next out-of-sample span, stitch the out-of-sample returns.

Windows are cut on the panel's calendar (trading days) between ``start`` and ``end``:
rolling windows keep ``train_days`` of history, anchored ones grow from the first day. The
out-of-sample spans follow each other without overlap, so the stitched equity is what a
researcher re-optimising every ``test_days`` would have earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.engine.backtest.metrics import compute_metrics
from quantlab.engine.library.params import ParamSpec
from quantlab.engine.optimise.objectives import Goal
from quantlab.engine.optimise.search import Point, search, to_variant
from quantlab.engine.optimise.space import Space, SpaceError
from quantlab.engine.runner import run_batch
from quantlab.engine.spec import RunSpec


@dataclass(frozen=True)
class Window:
    """One walk-forward step (first and last days, inclusive, as ``datetime64[D]``)."""

    train_start: np.datetime64
    train_end: np.datetime64
    test_start: np.datetime64
    test_end: np.datetime64


@dataclass(frozen=True)
class WindowResult:
    """The chosen parameters of one window, their in-sample objective and out-of-sample
    returns."""

    window: Window
    params: Point | None
    in_sample: float
    out_of_sample: float
    dates: np.ndarray
    returns: np.ndarray


@dataclass(frozen=True)
class WalkForward:
    """Every window, the stitched out-of-sample returns / equity / metrics and, per
    parameter, its chosen values' mean, standard deviation and coefficient of variation."""

    windows: list[WindowResult]
    dates: np.ndarray
    returns: np.ndarray
    equity: np.ndarray
    metrics: dict[str, Any]
    stability: dict[str, dict[str, float]]


def windows(
    calendar: np.ndarray,
    train_days: int,
    test_days: int,
    *,
    anchored: bool = False,
    start: Any = None,
    end: Any = None,
) -> list[Window]:
    """Walk-forward windows over ``calendar`` (trading days) from ``start`` to ``end``.

    Raises
    ------
    SpaceError
        Non-positive spans or too few days for one window.
    """
    if train_days < 2 or test_days < 1:
        raise SpaceError("walk-forward needs train_days >= 2 and test_days >= 1")
    cal = np.asarray(calendar, dtype="datetime64[D]")
    lo = 0 if start is None else int(np.searchsorted(cal, np.datetime64(start, "D")))
    hi = len(cal) if end is None else int(np.searchsorted(cal, np.datetime64(end, "D"), "right"))
    out = []
    i = lo + train_days
    while i < hi:
        t_end = min(i + test_days, hi)
        first = lo if anchored else i - train_days
        out.append(Window(cal[first], cal[i - 1], cal[i], cal[t_end - 1]))
        i = t_end
    if not out:
        raise SpaceError(
            f"{hi - lo} days cannot hold one window of {train_days} + {test_days} days"
        )
    return out


def walk_forward(
    spec: RunSpec,
    space: Space,
    panel: Any,
    goal: Goal,
    *,
    train_days: int,
    test_days: int,
    anchored: bool = False,
    method: str = "grid",
    params: Sequence[ParamSpec] = (),
    start: Any = None,
    end: Any = None,
    **search_kw: Any,
) -> WalkForward:
    """Walk-forward optimisation of ``spec`` over ``space`` (see the module docstring).

    Each in-sample search uses :func:`quantlab.engine.optimise.search.search` with
    ``method`` and ``search_kw`` (``n_trials``, ``seed``...); the best feasible trial of
    the first objective is traded on the out-of-sample span (a window with no feasible
    trial stays in cash: zero returns). Metrics of the stitched returns come from the
    metrics registry.
    """
    steps = windows(panel.calendar, train_days, test_days, anchored=anchored,
                    start=start, end=end)  # fmt: skip
    results = []
    for w in steps:
        found = search(method, spec, space, panel, goal, params=params,
                       start=w.train_start, end=w.train_end, **search_kw)  # fmt: skip
        best = found.best
        if best is None:
            days = panel.calendar[(panel.calendar >= w.test_start) & (panel.calendar <= w.test_end)]
            results.append(WindowResult(w, None, np.nan, np.nan, days, np.zeros(len(days))))
            continue
        (oos,) = run_batch(spec, [to_variant(best.params, params)], panel,
                           start=w.test_start, end=w.test_end)  # fmt: skip
        value = goal.objectives[0].value(oos.metrics)
        r = np.nan_to_num(oos.returns, nan=0.0)
        results.append(WindowResult(w, best.params, best.values[0], value, oos.dates, r))
    dates = np.concatenate([r.dates for r in results])
    rets = np.concatenate([r.returns for r in results])
    equity = spec.initial_capital * np.cumprod(1.0 + rets)
    metrics = {k: v for k, v in compute_metrics(rets, dates).items() if not isinstance(v, dict)}
    return WalkForward(results, dates, rets, equity, metrics, _stability(results))


def _stability(results: list[WindowResult]) -> dict[str, dict[str, float]]:
    chosen = [r.params for r in results if r.params is not None]
    out: dict[str, dict[str, float]] = {}
    for name in chosen[0] if chosen else {}:
        v = np.asarray([float(p[name]) for p in chosen])
        mean, sd = float(v.mean()), float(v.std(ddof=0))
        out[name] = {"mean": mean, "std": sd, "cv": sd / abs(mean) if mean else float("nan")}
    return out
