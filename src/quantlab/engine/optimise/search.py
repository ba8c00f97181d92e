"""The search driver: grid, seeded random and Bayesian TPE (Optuna) studies over
:func:`quantlab.engine.run_batch`.

Trials run in chunks of ``chunk_size`` variants through ``run_batch`` (shared data and
expression cache within a chunk) and each finished trial is handed to ``on_trial`` at once;
the driver keeps only the best trial and the current Pareto front, so memory stays flat in
the number of trials (store trials from the callback). ``on_trial`` returning True stops the
study (cancel). Same seed, same space, same data: the same trials in the same order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantlab.engine.library.params import ParamSpec
from quantlab.engine.optimise.objectives import Goal
from quantlab.engine.optimise.space import Point, Space, SpaceError
from quantlab.engine.runner import RunResult, run_batch
from quantlab.engine.spec import RunSpec

CHUNK_SIZE = 128  # variants per run_batch call (results stream out one at a time)
METHODS = ("grid", "random", "tpe")


@dataclass(frozen=True)
class Trial:
    """One evaluated parameter point.

    ``values`` are the objectives' values (NaN when a metric is missing), ``feasible``
    whether every constraint holds, ``metrics`` the run's scalar metrics, ``returns`` the
    daily returns when the study keeps them (for PBO / DSR)."""

    number: int
    params: Point
    values: list[float]
    feasible: bool
    metrics: dict[str, Any]
    seconds: float
    returns: np.ndarray | None = field(default=None, repr=False)
    state: str = "complete"  # or "pruned": stopped early (values and metrics of the prefix)


@dataclass
class Outcome:
    """What a finished (or stopped) study found: counts, the best feasible trial (first
    objective) and the Pareto front of the feasible trials over all objectives."""

    n_trials: int = 0
    n_feasible: int = 0
    best: Trial | None = None
    pareto: list[Trial] = field(default_factory=list)
    stopped: bool = False
    optuna_seconds: float = 0.0
    n_pruned: int = 0


@dataclass(frozen=True)
class EarlyStopping:
    """Early stopping of hopeless TPE trials on a time prefix.

    Every trial of a batch first runs on the first ``fraction`` of the period; the prefix's
    first objective is reported to Optuna as the intermediate value of step 0, and Optuna's
    :class:`~optuna.pruners.PercentilePruner` stops the trials below the ``percentile``-th
    percentile of the completed trials' prefix values (after ``n_startup_trials`` complete
    trials; none is pruned before). Pruned trials are told ``PRUNED`` with their prefix
    value (TPE learns from them) and never run on the whole period; the others do. A trial
    costs ``fraction`` more when it survives and ``1 − fraction`` less when pruned, so it
    pays when more than ``fraction / (1 − fraction)`` of the survivors' share is pruned
    (with the defaults, once warmed up, about 0.33 + 0.25 = 58 % of the work).
    Single-objective studies only (Optuna prunes one objective)."""

    fraction: float = 0.33
    percentile: float = 25.0
    n_startup_trials: int = 20


TrialFn = Callable[[Trial], bool | None]


def to_variant(point: Mapping[str, Any], params: Sequence[ParamSpec] = ()) -> dict[str, Any]:
    """The ``run_batch`` variant of a point: a targeted parameter at its JSON pointer, the
    others as expression parameters."""
    targets = {p.name: p.target for p in params if p.target}
    return {targets.get(k, k): v for k, v in point.items()}


def _scalar(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and better somewhere
    (both oriented so that larger is better)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated rows (larger is better in every column).

    Parameters
    ----------
    points : sequence of sequences of float
        One row per candidate; NaN rows are never on the front.

    Returns
    -------
    list of int
        Indices of the front, in input order.
    """
    rows = [list(p) for p in points]
    keep = []
    for i, a in enumerate(rows):
        if any(math.isnan(x) for x in a):
            continue
        if not any(j != i and not any(math.isnan(x) for x in b) and dominates(b, a)
                   for j, b in enumerate(rows)):  # fmt: skip
            keep.append(i)
    return keep


class _Tracker:
    def __init__(self, goal: Goal, on_trial: TrialFn | None) -> None:
        self.goal, self.on_trial, self.out = goal, on_trial, Outcome()

    def oriented(self, t: Trial) -> list[float]:
        return [
            v if o.maximize else -v for v, o in zip(t.values, self.goal.objectives, strict=True)
        ]

    def add(self, t: Trial) -> bool:
        out = self.out
        out.n_trials += 1
        if t.feasible and not any(math.isnan(v) for v in t.values):
            out.n_feasible += 1
            if out.best is None or self.oriented(t)[0] > self.oriented(out.best)[0]:
                out.best = t
            mine = self.oriented(t)
            if not any(dominates(self.oriented(p), mine) or self.oriented(p) == mine
                       for p in out.pareto):  # fmt: skip
                out.pareto = [p for p in out.pareto if not dominates(mine, self.oriented(p))]
                out.pareto.append(t)
        if self.on_trial is not None and self.on_trial(t):
            out.stopped = True
        return out.stopped


def evaluate(
    spec: RunSpec,
    points: Iterable[Point],
    panel: Any,
    goal: Goal,
    *,
    params: Sequence[ParamSpec] = (),
    start: Any = None,
    end: Any = None,
    benchmark: Any = None,
    chunk_size: int = CHUNK_SIZE,
    keep_returns: bool = False,
    first_number: int = 0,
) -> Iterator[Trial]:
    """Run every point (lazily, ``chunk_size`` at a time through ``run_batch``).

    Yields
    ------
    Trial
        One per point, in order, numbered from ``first_number``.
    """
    number = first_number
    it = iter(points)
    while True:
        chunk = [p for _, p in zip(range(chunk_size), it, strict=False)]
        if not chunk:
            return
        t0 = time.perf_counter()
        variants = [to_variant(p, params) for p in chunk]
        results = run_batch(spec, variants, panel, start=start, end=end, benchmark=benchmark)
        for point, result in zip(chunk, results, strict=True):
            t1 = time.perf_counter()
            yield _trial(number, point, result, goal, t1 - t0, keep_returns)
            t0 = time.perf_counter()
            number += 1


def _trial(
    number: int, point: Point, result: RunResult, goal: Goal, seconds: float, keep: bool
) -> Trial:
    metrics = _scalar(result.metrics)
    values, feasible = goal.evaluate(metrics)
    returns = np.nan_to_num(result.returns, nan=0.0) if keep else None
    return Trial(number, dict(point), values, feasible, metrics, seconds, returns)


def grid_search(
    spec: RunSpec, space: Space, panel: Any, goal: Goal, *, on_trial: TrialFn | None = None,
    fixed: Point | None = None, **kw: Any,
) -> Outcome:  # fmt: skip
    """Every feasible grid point of ``space`` (see :meth:`Space.grid` for the size limit)."""
    points = space.grid(fixed)
    first = next(points, None)  # the size check runs here, before any work
    if first is None:
        raise SpaceError("no grid point satisfies the constraints")
    tracker = _Tracker(goal, on_trial)
    for t in evaluate(spec, _chain(first, points), panel, goal, **kw):
        if tracker.add(t):
            break
    return tracker.out


def random_search(
    spec: RunSpec, space: Space, panel: Any, goal: Goal, *, n_trials: int, seed: int,
    on_trial: TrialFn | None = None, fixed: Point | None = None, **kw: Any,
) -> Outcome:  # fmt: skip
    """``n_trials`` seeded random feasible points."""
    tracker = _Tracker(goal, on_trial)
    for t in evaluate(spec, space.sample(n_trials, seed, fixed), panel, goal, **kw):
        if tracker.add(t):
            break
    return tracker.out


def tpe_search(
    spec: RunSpec, space: Space, panel: Any, goal: Goal, *, n_trials: int, seed: int,
    on_trial: TrialFn | None = None, fixed: Point | None = None, batch: int = 1,
    storage: Any = None, study_name: str | None = None,
    should_stop: Callable[[], bool] | None = None,
    early_stopping: EarlyStopping | None = None, **kw: Any,
) -> Outcome:  # fmt: skip
    """Bayesian search with Optuna's TPE sampler (multi-objective when the goal has several
    objectives), seeded and reproducible: ``batch`` trials are asked (with the constant
    liar, so the trials of a batch spread out), run together through one ``run_batch`` call
    and told, so the same seed and batch give the same trials. Each bound's violation
    goes to the sampler through ``Trial.set_constraint`` (> 0 when broken). With a
    ``storage`` (an Optuna storage URL or object) and ``study_name``, the study is stored
    and a second call resumes it: trials a stopped process asked but never told are marked
    failed and do not count towards ``n_trials``. ``should_stop`` is asked before each batch
    (a pause between batches leaves no trial half done). ``early_stopping`` prunes hopeless
    trials on a time prefix (:class:`EarlyStopping`); pruned trials reach ``on_trial`` with
    ``state="pruned"``. ``Outcome.optuna_seconds`` is the time spent in Optuna itself (ask,
    tell, sampling, pruning)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if early_stopping is not None and len(goal.objectives) > 1:
        raise SpaceError("early stopping needs a single objective (Optuna prunes one)")
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=batch > 1)
    pruner: Any = optuna.pruners.NopPruner()
    if early_stopping is not None:
        pruner = optuna.pruners.PercentilePruner(
            early_stopping.percentile, n_startup_trials=early_stopping.n_startup_trials
        )
    directions: list[Any] = [o.direction for o in goal.objectives]
    study = optuna.create_study(
        directions=directions, sampler=sampler, pruner=pruner, storage=storage,
        study_name=study_name, load_if_exists=storage is not None,
    )  # fmt: skip
    running = optuna.trial.TrialState.RUNNING
    for stale in study.get_trials(deepcopy=False, states=(running,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
    done = len(study.get_trials(deepcopy=False)) - len(
        study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
    )
    tracker = _Tracker(goal, on_trial)
    spent = 0.0
    while done < n_trials:
        if should_stop is not None and should_stop():
            tracker.out.stopped = True
            break
        t0 = time.perf_counter()
        asked, points = [], []
        for _ in range(min(batch, n_trials - done)):
            trial = study.ask()
            point = {d.name: _suggest(trial, d) for d in space.dimensions}
            asked.append(trial)
            points.append(point)
        spent += time.perf_counter() - t0
        feasible = [space.feasible(p, fixed) for p in points]
        pruned: dict[int, Trial] = {}
        if early_stopping is not None:
            runnable = [(a, p) for a, p, f in zip(asked, points, feasible, strict=True) if f]
            prefix = prefix_trials(spec, {a.number: p for a, p in runnable}, panel, goal,
                                   early_stopping, **kw)  # fmt: skip
            for (trial, _), t in zip(runnable, prefix, strict=True):
                t0 = time.perf_counter()
                v = t.values[0]
                trial.report(v if math.isfinite(v) else _worst(goal.objectives[0].maximize), 0)
                if trial.should_prune():
                    pruned[trial.number] = t
                spent += time.perf_counter() - t0
        run_points = [p for a, p, f in zip(asked, points, feasible, strict=True)
                      if f and a.number not in pruned]  # fmt: skip
        results = iter(evaluate(spec, run_points, panel, goal, first_number=done, **kw))
        for trial, ok in zip(asked, feasible, strict=True):
            t0 = time.perf_counter()
            if not ok:  # a linked constraint broken: pruned, never run
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                spent += time.perf_counter() - t0
                done += 1
                continue
            if trial.number in pruned:  # hopeless on the prefix: stopped early
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                spent += time.perf_counter() - t0
                done += 1
                tracker.out.n_pruned += 1
                if tracker.add(pruned[trial.number]):
                    tracker.out.optuna_seconds = spent
                    return tracker.out
                continue
            t = next(results)
            t = Trial(trial.number, t.params, t.values, t.feasible, t.metrics, t.seconds,
                      t.returns)  # fmt: skip
            t0 = time.perf_counter()
            for i, bound in enumerate(goal.bounds):
                trial.set_constraint(f"c{i}", bound.violation(t.metrics))
            vals = [v if math.isfinite(v) else _worst(o.maximize)
                    for v, o in zip(t.values, goal.objectives, strict=True)]  # fmt: skip
            study.tell(trial, vals if len(vals) > 1 else vals[0])
            spent += time.perf_counter() - t0
            done += 1
            if tracker.add(t):
                tracker.out.optuna_seconds = spent
                return tracker.out
    tracker.out.optuna_seconds = spent
    return tracker.out


def prefix_trials(
    spec: RunSpec,
    points: Mapping[int, Point],
    panel: Any,
    goal: Goal,
    early_stopping: EarlyStopping,
    **kw: Any,
) -> list[Trial]:
    """The trials (trial number → point) run on the first ``early_stopping.fraction`` of
    the period: what pruning judges, and what a pruned trial stores (state ``pruned``,
    never feasible, no returns). ``kw`` are :func:`evaluate`'s options of the study."""
    end = _prefix_end(panel, kw.get("start", spec.start), kw.get("end", spec.end),
                      early_stopping.fraction)  # fmt: skip
    runs = evaluate(spec, list(points.values()), panel, goal,
                    **{**kw, "end": end, "keep_returns": False})  # fmt: skip
    return [
        Trial(n, t.params, t.values, False, t.metrics, t.seconds, None, "pruned")
        for n, t in zip(points, runs, strict=True)
    ]


def _prefix_end(panel: Any, start: Any, end: Any, fraction: float) -> np.datetime64:
    """The last day of the first ``fraction`` of the days in ``[start, end]``."""
    if not 0.0 < fraction < 1.0:
        raise SpaceError("early stopping's fraction must be between 0 and 1")
    cal = np.asarray(panel.calendar).astype("datetime64[D]")
    lo = 0 if start is None else int(np.searchsorted(cal, np.datetime64(start, "D")))
    hi = len(cal) if end is None else int(np.searchsorted(cal, np.datetime64(end, "D"), "right"))
    if hi - lo < 4:
        raise SpaceError("early stopping needs a longer period")
    return cal[lo + max(1, int((hi - lo) * fraction)) - 1]


def _worst(maximize: bool) -> float:
    return -1e12 if maximize else 1e12


def _suggest(trial: Any, d: Any) -> int | float:
    if d.choices is not None:
        return d._cast(trial.suggest_categorical(d.name, sorted(set(d.choices))))
    if d.type == "int":
        step = int(d.step) if d.step is not None and not d.log else 1
        return int(trial.suggest_int(d.name, int(d.low), int(d.high), step=step, log=d.log))
    if d.log:
        return float(trial.suggest_float(d.name, d.low, d.high, log=True))
    return float(trial.suggest_float(d.name, d.low, d.high, step=d.step))


def _chain(first: Point, rest: Iterator[Point]) -> Iterator[Point]:
    yield first
    yield from rest


def search(
    method: str, spec: RunSpec, space: Space, panel: Any, goal: Goal, *,
    n_trials: int | None = None, seed: int = 0, **kw: Any,
) -> Outcome:  # fmt: skip
    """Dispatch to :func:`grid_search`, :func:`random_search` or :func:`tpe_search`."""
    if method == "grid":
        return grid_search(spec, space, panel, goal, **kw)
    if method not in METHODS:
        raise SpaceError(f"unknown method {method!r}: use one of {list(METHODS)}")
    if n_trials is None or n_trials < 1:
        raise SpaceError(f"{method} search needs n_trials >= 1")
    fn = random_search if method == "random" else tpe_search
    return fn(spec, space, panel, goal, n_trials=n_trials, seed=seed, **kw)
