"""One model run: features → label → processors → model → predictions → signal analysis."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantlab.engine.data.panel import Panel
from quantlab.engine.expr import ExprError, validate
from quantlab.engine.ml.analysis import SignalAnalysis, signal_analysis
from quantlab.engine.ml.dataset import (
    DEFAULT_LABEL,
    Dataset,
    build_dataset,
    check_label,
    fill_missing_fields,
    resolve_features,
)
from quantlab.engine.ml.models import Model, ProgressFn, make_model
from quantlab.engine.ml.processors import ALPHA158_PROCESSORS, Pipeline, make_processors
from quantlab.engine.ml.segments import Segments, rolling_segments
from quantlab.engine.ml.universe import Universe, membership_mask

#: ``progress(stage, info)``; training passes ``{"window", "round", "total", "losses"}``.
StageFn = Callable[[str, dict[str, Any]], None]
#: ``on_window(w, state)`` after each training window (a checkpoint to resume from).
WindowFn = Callable[[int, dict[str, Any]], None]


@dataclass(frozen=True)
class WorkflowConfig:
    """Everything that defines a model run (and, with the data version, reproduces it).

    ``rolling_step`` > 0 retrains every that many trading days over the test span
    (``rolling_expanding`` keeps the train start fixed); 0 trains once.
    """

    segments: Segments
    features: str | tuple[Any, ...] = "Alpha158"
    label: str = DEFAULT_LABEL
    universe: Universe = None
    processors: tuple[Mapping[str, Any], ...] = ALPHA158_PROCESSORS
    model: str = "lightgbm"
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    threads: int = 1
    rolling_step: int = 0
    rolling_expanding: bool = False
    min_train_rows: int = 100


@dataclass
class WorkflowResult:
    """Outputs of :func:`run_workflow`.

    ``predictions`` is float64 ``(T, N)`` on the panel's axes, NaN outside the test rows;
    ``models``, ``importance``, ``curves`` and ``best_rounds`` hold one entry per training
    window (one without rolling); ``timings`` are wall seconds per stage,
    ``cpu_timings`` the process's CPU seconds (all threads; steadier on a shared machine).
    """

    config: WorkflowConfig
    feature_names: tuple[str, ...]
    windows: list[Segments]
    predictions: np.ndarray
    label: np.ndarray
    models: list[Model]
    importance: list[dict[str, list[float]]]
    curves: list[dict[str, list[float]]]
    best_rounds: list[int]
    signal: SignalAnalysis
    timings: dict[str, float]
    cpu_timings: dict[str, float]
    n_rows: dict[str, int]
    dataset: Dataset | None = None


def check_config(config: WorkflowConfig, panel: Panel) -> None:
    """Refuse a bad configuration before any work: raises ``ValueError`` (or ``ExprError``,
    ``KeyError`` for unknown feature sets or instruments) with a message for the user.

    Checks: segments ordered, non-overlapping and inside the data; features valid and not
    reading the future; the label reading the future; processors and model hyper-parameters
    known; NaN features only for models that accept them; enough train rows.
    """
    config.segments.check(panel.calendar)
    fields = list(fill_missing_fields(panel, config.features).fields)
    for _, expr in resolve_features(config.features):
        validate(expr, fields)  # raises ExprError, e.g. kind "lookahead" for future reads
    check_label(config.label, fields)
    pipe = Pipeline(make_processors(config.processors))
    model = make_model(config.model, config.params, config.seed, config.threads)
    if not model.handles_nan and not pipe.fills_nan:
        raise ValueError(f"model {config.model} cannot take NaN features: add the Fillna processor")
    if config.rolling_step < 0:
        raise ValueError("rolling_step must be >= 0")
    mask = membership_mask(panel, config.universe)
    a, b = config.segments.train
    lo = int(np.searchsorted(panel.calendar, np.datetime64(a[:10], "D")))
    hi = int(np.searchsorted(panel.calendar, np.datetime64(b[:10], "D"), "right"))
    n_train = int(mask[lo:hi].sum())
    if n_train < config.min_train_rows:
        raise ValueError(
            f"the train segment has {n_train} rows, fewer than the {config.min_train_rows} needed"
        )


def run_workflow(
    panel: Panel,
    config: WorkflowConfig,
    progress: StageFn | None = None,
    keep_dataset: bool = False,
    done_windows: Sequence[Mapping[str, Any]] = (),
    on_window: WindowFn | None = None,
) -> WorkflowResult:
    """Run the whole model workflow on ``panel``.

    Parameters
    ----------
    panel : Panel
        Data from before the train span (for feature look-back) to after the test span
        (for the label's look-ahead; missing days give NaN labels, dropped in learning).
    config : WorkflowConfig
        The run; checked by :func:`check_config` first.
    progress : callable, optional
        Called per stage and per boosting round; raising from it stops the run.
    keep_dataset : bool
        Keep the feature rows on the result (tests compare them with Qlib's).
    done_windows : sequence of dict, optional
        Training windows finished by an earlier, interrupted run, as ``on_window`` gave
        them: their models are loaded, not retrained, so a resumed run predicts exactly as
        an uninterrupted one (processing is recomputed; it is deterministic).
    on_window : callable, optional
        ``on_window(w, state)`` after window ``w`` is trained, with ``state`` a JSON-ready
        dict (the model in its library's text format, its learning curve and best round)
        to keep as a checkpoint.

    Returns
    -------
    WorkflowResult
    """
    check_config(config, panel)
    report = progress or (lambda stage, info: None)
    timings: dict[str, float] = {"processing": 0.0, "training": 0.0, "prediction": 0.0}
    cpu: dict[str, float] = dict.fromkeys(timings, 0.0)
    windows = (
        rolling_segments(
            panel.calendar, config.segments, config.rolling_step, config.rolling_expanding
        )
        if config.rolling_step
        else [config.segments]
    )
    t0, c0 = time.perf_counter(), time.process_time()
    report("features", {})
    mask = membership_mask(panel, config.universe)
    data = build_dataset(
        panel, config.features, mask, windows[0].start, config.segments.end, config.label
    )
    timings["features"] = time.perf_counter() - t0
    cpu["features"] = time.process_time() - c0

    pred_rows = np.full(len(data), np.nan)
    models: list[Model] = []
    n_rows: dict[str, int] = {}
    for w, seg in enumerate(windows):
        t1, c1 = time.perf_counter(), time.process_time()
        spans = {k: data.rows(*v) for k, v in seg.spans().items()}
        pipe = Pipeline(make_processors(config.processors))
        tr = spans["train"]
        pipe.fit(data.x[tr], data.y[tr], data.day[tr])
        xt, yt, _ = pipe.apply(data.x[tr], data.y[tr], data.day[tr], learn=True)
        xv = yv = None
        if "valid" in spans:
            va = spans["valid"]
            xv, yv, _ = pipe.apply(data.x[va], data.y[va], data.day[va], learn=True)
        te = spans["test"]
        xs, _, kept = pipe.apply(data.x[te], data.y[te], data.day[te], learn=False)
        timings["processing"] += time.perf_counter() - t1
        cpu["processing"] += time.process_time() - c1
        if len(yt) < config.min_train_rows:
            raise ValueError(
                f"window {w}: {len(yt)} train rows after processing, fewer than "
                f"{config.min_train_rows}"
            )
        n_rows = {"train": len(yt), "valid": 0 if yv is None else len(yv), "test": len(kept)}

        def model_progress(rnd: int, total: int, losses: dict[str, float], w: int = w) -> None:
            report("training", {"window": w, "round": rnd, "total": total, "losses": losses})

        fit_progress: ProgressFn = model_progress
        t2, c2 = time.perf_counter(), time.process_time()
        model = make_model(config.model, config.params, config.seed, config.threads)
        if w < len(done_windows):
            model = _restore(model, done_windows[w], config.threads)
        else:
            model.fit(xt, yt, xv, yv, fit_progress)
            if on_window is not None:
                on_window(w, _window_state(model))
        timings["training"] += time.perf_counter() - t2
        cpu["training"] += time.process_time() - c2
        t3, c3 = time.perf_counter(), time.process_time()
        pred_rows[np.arange(te.start, te.stop)[kept]] = model.predict(xs)
        timings["prediction"] += time.perf_counter() - t3
        cpu["prediction"] += time.process_time() - c3
        models.append(model)

    t4, c4 = time.perf_counter(), time.process_time()
    report("signal", {})
    predictions = data.to_panel(pred_rows)
    test = data.rows(*config.segments.test)
    label = np.full(panel.shape, np.nan)
    label[data.day[test], data.inst[test]] = data.y[test]
    d0, d1 = data.day[test][[0, -1]] if test.stop > test.start else (0, -1)
    sig = signal_analysis(predictions[d0 : d1 + 1], label[d0 : d1 + 1], panel.calendar[d0 : d1 + 1])
    timings["signal"] = time.perf_counter() - t4
    cpu["signal"] = time.process_time() - c4
    return WorkflowResult(
        config=config,
        feature_names=data.names,
        windows=windows,
        predictions=predictions,
        label=label,
        models=models,
        importance=[m.importance() for m in models],
        curves=[m.curve for m in models],
        best_rounds=[m.best_round for m in models],
        signal=sig,
        timings=timings,
        cpu_timings=cpu,
        n_rows=n_rows,
        dataset=data if keep_dataset else None,
    )


def _window_state(model: Model) -> dict[str, Any]:
    return {"model": model.to_text(), "curve": model.curve, "best_round": model.best_round}


def _restore(blank: Model, state: Mapping[str, Any], threads: int) -> Model:
    model = type(blank).from_text(str(state["model"]), threads=threads)
    model.curve = {k: [float(v) for v in vals] for k, vals in state["curve"].items()}
    model.best_round = int(state["best_round"])
    return model


__all__: Sequence[str] = (
    "ExprError",
    "WorkflowConfig",
    "WorkflowResult",
    "check_config",
    "run_workflow",
)
