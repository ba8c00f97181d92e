"""A template's example: the template really run through :func:`quantlab.engine.run` on a
dataset, reduced to what a gallery card shows (key metrics and a small equity curve)."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab.engine.backtest.analysis import SUMMARY_KEYS
from quantlab.engine.data import Panel
from quantlab.engine.library.params import apply as apply_values
from quantlab.engine.library.params import resolve
from quantlab.engine.library.templates import Template
from quantlab.engine.runner import run
from quantlab.engine.spec import RunSpec

CURVE_POINTS = 120
EXAMPLE_YEARS = 3


def template_spec(template: Template, dataset_id: str, **config: Any) -> RunSpec:
    """The template with its default parameters as a runnable spec on ``dataset_id``."""
    values = resolve(template.parameters, template.constraints, {})
    body = apply_values(template.body, template.parameters, values)
    return RunSpec.model_validate({**body, **config, "dataset_id": dataset_id})


def example_window(calendar: np.ndarray, years: int = EXAMPLE_YEARS) -> tuple[Any, Any]:
    """The last ``years`` of the calendar (the whole calendar when shorter)."""
    last = calendar[-1]
    first = max(calendar[0], last - np.timedelta64(int(years * 365.25), "D"))
    return first, last


def compute_example(
    spec: RunSpec, panel: Panel, *, years: int = EXAMPLE_YEARS, benchmark: str | None = None
) -> dict[str, Any]:
    """Run ``spec`` over the last ``years`` of ``panel`` and summarise it.

    Returns
    -------
    dict
        ``start``, ``end``, ``metrics`` (the summary metrics: returns as fractions,
        ratios unitless, counts), ``curve`` (about 120 ``[date, equity / capital]`` points,
        the last day always included) and ``benchmark_curve`` when a benchmark is given.
    """
    first, last = example_window(panel.calendar, years)
    result = run(spec, panel, start=first, end=last, benchmark=benchmark, diagnostics=False)
    dates = result.dates
    idx = _sample(len(dates), CURVE_POINTS)
    nav = result.equity / spec.initial_capital
    out: dict[str, Any] = {
        "start": str(dates[0]) if len(dates) else None,
        "end": str(dates[-1]) if len(dates) else None,
        "metrics": {k: result.metrics.get(k) for k in SUMMARY_KEYS},
        "curve": [[str(dates[i]), round(float(nav[i]), 6)] for i in idx],
        "warnings": list(result.warnings),
    }
    bench = result.benchmark
    if bench is not None:
        scaled = bench / spec.initial_capital
        out["benchmark_curve"] = [[str(dates[i]), round(float(scaled[i]), 6)] for i in idx]
    return out


def _sample(n: int, points: int) -> list[int]:
    if n <= points:
        return list(range(n))
    return sorted({*np.linspace(0, n - 1, points).round().astype(int).tolist(), n - 1})
