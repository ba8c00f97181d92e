"""The search driver over ``run_batch``: grid trials equal independent ``engine.run``s, seeded
random and TPE studies reproduce exactly, constraints and the Pareto front, streaming and
cancel, walk-forward windows, objectives read from the metrics registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.backtests.conftest import dual_ma
from tests.engine.backtest.test_run import _panel_from_frame

from quantlab import engine
from quantlab.engine.library import TEMPLATES
from quantlab.engine.optimise import (
    Goal,
    ObjectiveError,
    Space,
    Trial,
    grid_search,
    pareto_front,
    random_search,
    space_from_params,
    tpe_search,
    walk_forward,
    windows,
)
from quantlab.engine.optimise.search import to_variant
from quantlab.engine.spec import RunSpec, apply_variant

TEMPLATE = TEMPLATES["dual_moving_average"]
RANGES = {"fast": {"min": 3, "max": 9, "step": 3}, "slow": {"min": 10, "max": 30, "step": 10}}


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return _panel_from_frame()


def _spec(**extra: int) -> RunSpec:
    body = dual_ma("d")
    body["parameters"] = {"fast": 5, "slow": 20, **extra}
    body["strategy"] = {**body["strategy"], **{k: TEMPLATE.body["strategy"][k]
                                               for k in ("entry", "exit")}}  # fmt: skip
    return RunSpec.model_validate(body)


def _space() -> Space:
    return space_from_params(TEMPLATE.parameters, TEMPLATE.constraints, RANGES)


def test_grid_trials_equal_independent_single_runs(panel) -> None:  # type: ignore[no-untyped-def]
    spec, goal = _spec(), Goal.parse(["sharpe"])
    seen = []
    out = grid_search(spec, _space(), panel, goal, on_trial=seen.append, chunk_size=4)
    assert out.n_trials == len(seen) == 9  # 3 × 3, every fast < slow
    assert [t.number for t in seen] == list(range(9))
    for t in seen:
        single = engine.run(apply_variant(spec, to_variant(t.params)), panel, diagnostics=False)
        assert t.metrics["sharpe_ratio"] == single.metrics["sharpe_ratio"]
        assert t.metrics["trade_count"] == single.metrics["trade_count"]
        assert t.values == [single.metrics["sharpe_ratio"]]
    best = max(seen, key=lambda t: t.values[0])
    assert out.best is not None and out.best.params == best.params
    assert len({t.metrics["total_return"] for t in seen}) > 1  # the parameters matter


def test_targeted_parameters_go_to_their_pointer(panel) -> None:  # type: ignore[no-untyped-def]
    t = TEMPLATES["ma_trend_with_stop"]
    targeted = [p for p in t.parameters if p.target]
    assert targeted, "the template has a parameter set by JSON pointer"
    p = targeted[0]
    variant = to_variant({p.name: p.max, "x": 1}, t.parameters)
    assert variant == {p.target: p.max, "x": 1}


def test_constraints_objective_directions_and_weighted_sums(panel) -> None:  # type: ignore[no-untyped-def]
    spec = _spec()
    goal = Goal.parse(
        [{"weights": {"sharpe": 1.0, "max_drawdown": 2.0}}, "turnover"],
        [{"metric": "max_drawdown", "op": ">=", "value": -0.2},
         {"metric": "trades", "op": ">=", "value": 1e9}],
    )  # fmt: skip
    assert [o.maximize for o in goal.objectives] == [True, False]  # turnover: lower is better
    seen = []
    out = grid_search(spec, _space(), panel, goal, on_trial=seen.append)
    assert out.n_feasible == 0 and out.best is None  # nobody trades 10^9 times
    t = seen[0]
    m = t.metrics
    assert t.values[0] == pytest.approx(m["sharpe_ratio"] + 2.0 * m["max_drawdown"])
    assert t.values[1] == m["turnover"] and not t.feasible
    with pytest.raises(ObjectiveError, match="unknown metric 'sharp'"):
        Goal.parse(["sharp"])
    with pytest.raises(ObjectiveError, match="unknown metric 'monthly_returns'"):
        Goal.parse(["monthly_returns"])
    with pytest.raises(ObjectiveError, match="at least one objective"):
        Goal.parse([])


def test_pareto_front_of_a_study_equals_the_brute_force_front(panel) -> None:  # type: ignore[no-untyped-def]
    goal = Goal.parse(["sharpe", "max_drawdown", "turnover"])
    seen = []
    out = grid_search(_spec(), _space(), panel, goal, on_trial=seen.append)
    oriented = [[v if o.maximize else -v for v, o in zip(t.values, goal.objectives, strict=True)]
                for t in seen]  # fmt: skip
    brute = {seen[i].number for i in pareto_front(oriented)}
    assert {t.number for t in out.pareto} == brute and brute
    assert pareto_front([[1, 1], [2, 0], [0, 2], [0.5, 0.5], [math.nan, 9]]) == [0, 1, 2]


def test_seeded_random_reproduces_and_cancel_stops(panel) -> None:  # type: ignore[no-untyped-def]
    goal, space = Goal.parse(["sharpe"]), _space()
    a, b = [], []
    random_search(_spec(), space, panel, goal, n_trials=6, seed=5, on_trial=a.append)
    random_search(_spec(), space, panel, goal, n_trials=6, seed=5, on_trial=b.append)
    assert [(t.params, t.values) for t in a] == [(t.params, t.values) for t in b]
    out = random_search(_spec(), space, panel, goal, n_trials=6, seed=5,
                        on_trial=lambda t: t.number >= 1)  # fmt: skip
    assert out.stopped and out.n_trials == 2


def test_tpe_reproduces_exactly_and_handles_constraints(panel) -> None:  # type: ignore[no-untyped-def]
    t = TEMPLATE
    ranges = {"fast": {"min": 2, "max": 20}, "slow": {"min": 5, "max": 60}}
    space = space_from_params(t.parameters, t.constraints, ranges)
    goal = Goal.parse(["sharpe"], [{"metric": "max_drawdown", "op": ">=", "value": -0.2}])
    runs = []
    for _ in range(2):
        seen = []
        out = tpe_search(_spec(), space, panel, goal, n_trials=14, seed=3, batch=2,
                         on_trial=seen.append)  # fmt: skip
        runs.append([(x.number, x.params, x.values) for x in seen])
        assert all(x.params["fast"] < x.params["slow"] for x in seen)
        assert out.optuna_seconds > 0
    assert runs[0] == runs[1] and len(runs[0]) >= 1
    multi = tpe_search(_spec(), space, panel, Goal.parse(["sharpe", "turnover"]),
                       n_trials=6, seed=1)  # fmt: skip
    assert multi.n_trials >= 1 and multi.pareto


def test_walk_forward_windows_by_hand_and_a_stitched_run(panel) -> None:  # type: ignore[no-untyped-def]
    cal = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]")  # 10 days
    rolling = windows(cal, 4, 3)
    assert [(str(w.train_start), str(w.test_start), str(w.test_end)) for w in rolling] == [
        ("2024-01-01", "2024-01-05", "2024-01-07"),
        ("2024-01-04", "2024-01-08", "2024-01-10"),
    ]
    anchored = windows(cal, 4, 3, anchored=True)
    assert [str(w.train_start) for w in anchored] == ["2024-01-01", "2024-01-01"]
    assert str(anchored[1].train_end) == "2024-01-07"
    spec = _spec()
    wf = walk_forward(spec, _space(), panel, Goal.parse(["sharpe"]), train_days=80,
                      test_days=60, start="2023-03-01")  # fmt: skip
    assert len(wf.windows) >= 2
    assert len(wf.dates) == len(wf.returns) == len(wf.equity)
    assert np.all(np.diff(wf.dates.astype("int64")) > 0)  # no overlap between spans
    w0 = wf.windows[0]
    assert w0.params is not None
    oos = engine.run(apply_variant(spec, w0.params), panel, start=w0.window.test_start,
                     end=w0.window.test_end, diagnostics=False)  # fmt: skip
    np.testing.assert_allclose(w0.returns, np.nan_to_num(oos.returns), atol=0)
    assert set(wf.stability) == {"fast", "slow"} and "sharpe_ratio" in wf.metrics


def test_a_large_grid_is_streamed_not_built_and_feeds_the_overfitting_report(panel) -> None:  # type: ignore[no-untyped-def]
    from quantlab.engine.optimise import Dimension, overfitting_report

    # 2 × 700 × 700 = 980,000 combinations: under the limit, never materialised; the
    # callback cancels after 3 trials, so only the first chunk runs
    space = Space((Dimension("fast", low=3, high=4), Dimension("slow", low=10, high=709),
                   Dimension("unused", low=1, high=700)))  # fmt: skip
    assert space.grid_size() == 980_000
    seen = []

    def stop(t: Trial) -> bool:
        seen.append(t)
        return len(seen) >= 3

    spec = _spec(unused=1)  # a parameter no expression reads
    out = grid_search(spec, space, panel, Goal.parse(["sharpe"]), chunk_size=3,
                      keep_returns=True, on_trial=stop)  # fmt: skip
    assert out.stopped and out.n_trials == 3
    assert [t.params for t in seen] == [{"fast": 3, "slow": 10, "unused": u} for u in (1, 2, 3)]
    m = np.column_stack([t.returns for t in seen if t.returns is not None])
    assert m.shape[1] == 3
    report = overfitting_report(m, 0, n_splits=4)
    assert report["n_trials"] == 3 and 0.0 <= report["pbo"] <= 1.0


def test_a_stored_tpe_study_resumes_where_it_stopped(panel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    goal, space = Goal.parse(["sharpe"]), _space()
    first: list[Trial] = []
    tpe_search(_spec(), space, panel, goal, n_trials=3, seed=2, storage=storage,
               study_name="s", on_trial=first.append)  # fmt: skip
    rest: list[Trial] = []
    tpe_search(_spec(), space, panel, goal, n_trials=6, seed=2, storage=storage,
               study_name="s", on_trial=rest.append)  # fmt: skip
    stored = optuna.load_study(study_name="s", storage=storage)
    assert len(stored.trials) == 6
    assert [t.number for t in first] == [0, 1, 2] and [t.number for t in rest] == [3, 4, 5]
    values = {t.number: t.values for t in first + rest}
    assert {t.number: list(t.values) for t in stored.trials} == values


def test_tpe_early_stopping_prunes_on_a_prefix_reproducibly(panel) -> None:  # type: ignore[no-untyped-def]
    """Early stopping: each trial first runs on the first 40 % of the days; Optuna's
    percentile pruner stops the ones below the completed trials' median there. A pruned
    trial carries exactly the metrics of an independent run on that prefix and is told
    PRUNED with that intermediate value; a surviving trial equals an independent full run.
    Same seed, same trials and the same pruning decisions; one objective only."""
    import optuna

    from quantlab.engine.optimise import EarlyStopping, evaluate
    from quantlab.engine.optimise.search import _prefix_end

    t = TEMPLATE
    ranges = {"fast": {"min": 2, "max": 20}, "slow": {"min": 5, "max": 60}}
    space = space_from_params(t.parameters, t.constraints, ranges)
    goal = Goal.parse(["sharpe"])
    rule = EarlyStopping(fraction=0.4, percentile=50.0, n_startup_trials=4)
    prefix_end = _prefix_end(panel, _spec().start, _spec().end, 0.4)
    runs = []
    for _ in range(2):
        seen: list[Trial] = []
        storage = optuna.storages.InMemoryStorage()
        out = tpe_search(_spec(), space, panel, goal, n_trials=30, seed=5, batch=3,
                         on_trial=seen.append, early_stopping=rule, storage=storage,
                         study_name="es")  # fmt: skip
        runs.append([(x.number, x.params, x.values, x.state) for x in seen])
        pruned = [x for x in seen if x.state == "pruned"]
        done = [x for x in seen if x.state == "complete"]
        assert pruned and done and out.n_pruned == len(pruned)
        assert all(not x.feasible and x.returns is None for x in pruned)
        assert out.best is not None and out.best.state == "complete"
        study = optuna.load_study(study_name="es", storage=storage)
        frozen = {f.number: f for f in study.get_trials(deepcopy=False)}
        for x in pruned[:3]:
            ref = next(evaluate(_spec(), [x.params], panel, goal, end=prefix_end))
            assert x.values == pytest.approx(ref.values, rel=1e-12)
            assert frozen[x.number].state == optuna.trial.TrialState.PRUNED
            assert frozen[x.number].intermediate_values[0] == pytest.approx(x.values[0])
        for x in done[:3]:
            ref = next(evaluate(_spec(), [x.params], panel, goal))
            assert x.values == pytest.approx(ref.values, rel=1e-12)
    assert runs[0] == runs[1]
    with pytest.raises(Exception, match="single objective"):
        tpe_search(_spec(), space, panel, Goal.parse(["sharpe", "turnover"]), n_trials=2,
                   seed=0, early_stopping=rule)  # fmt: skip
