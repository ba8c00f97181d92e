"""The workflow end to end on small synthetic panels: label, configuration checks, signal
analysis against pandas, rolling retraining, reruns, and the backtest of predictions."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.expr import ExprError
from quantlab.engine.ml import (
    Segments,
    WorkflowConfig,
    backtest_predictions,
    build_dataset,
    check_config,
    risk_analysis,
    run_workflow,
)
from quantlab.engine.ml.dataset import check_label


def test_default_label_by_hand() -> None:
    close = np.array([[10.0, 20.0], [11.0, 20.0], [12.1, 22.0], [12.1, 24.2], [13.31, 24.2]])
    panel = Panel.from_arrays(np.arange(5).astype("datetime64[D]"), ["A", "B"], {"close": close})
    mask = np.ones((5, 2), dtype=bool)
    mask[1, 1] = False  # B is not a member on day 1
    data = build_dataset(panel, ["$close"], mask, "1970-01-01", "1970-01-05")
    assert data.day.tolist() == [0, 0, 1, 2, 2, 3, 3, 4, 4]
    assert data.inst.tolist() == [0, 1, 0, 0, 1, 0, 1, 0, 1]
    # label(t) = close(t+2) / close(t+1) - 1
    want = [0.1, 0.1, 0.0, 0.1, 0.0, np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(data.y, want, rtol=1e-6, equal_nan=True)
    assert data.names == ("F0",) and data.x[:, 0].tolist()[:2] == [10.0, 20.0]


def test_labels_must_read_the_future_and_features_must_not() -> None:
    assert check_label("Ref($close, -5) / $close - 1") == 5
    with pytest.raises(ValueError, match="does not read the future"):
        check_label("$close / Ref($close, 1) - 1")
    panel = synthetic()
    with pytest.raises(ExprError):
        check_config(dataclasses.replace(CONFIG, features=("Ref($close, -1)",)), panel)


def test_named_feature_sets_read_a_missing_vwap_as_nan_but_no_other_field() -> None:
    panel = synthetic(t_len=80, n=6)
    data = build_dataset(panel, "Alpha158", panel.exists(), "2020-03-01", "2020-03-10")
    assert len(data.names) == 158
    vwap0 = data.x[:, data.names.index("VWAP0")]
    assert np.isnan(vwap0).all()
    assert not np.isnan(data.x[:, data.names.index("KMID")]).any()
    fields = {k: v for k, v in panel.fields.items() if k != "volume"}
    no_volume = Panel(panel.calendar, panel.instruments, fields, panel.first, panel.last)
    with pytest.raises(ExprError, match="volume"):
        build_dataset(no_volume, "Alpha158", panel.exists(), "2020-03-01", "2020-03-10")


def synthetic(t_len: int = 220, n: int = 30, seed: int = 0) -> Panel:
    """Prices whose return from t+1 to t+2 is 1% × ``sig`` of day t plus noise."""
    rng = np.random.default_rng(seed)
    sig = rng.normal(size=(t_len, n))
    ret = 0.003 * rng.normal(size=(t_len, n))
    ret[2:] += 0.01 * sig[:-2]
    close = 10 * np.cumprod(1 + ret, axis=0)
    cal = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + t_len)
    fields = {
        "close": close,
        "open": close,
        "high": close,
        "low": close,
        "volume": np.full((t_len, n), 1e6),
        "sig": sig,
        "noise": rng.normal(size=(t_len, n)),
    }
    return Panel.from_arrays(cal, [f"S{j:02d}" for j in range(n)], fields)


SEG = Segments(
    ("2020-01-05", "2020-04-30"), ("2020-05-01", "2020-05-31"), ("2020-06-01", "2020-07-31")
)
CONFIG = WorkflowConfig(
    segments=SEG,
    features=(("SIG", "$sig"), ("NOISE", "$noise"), ("MOM", "$close / Ref($close, 5)")),
    params={"num_boost_round": 50, "learning_rate": 0.2, "num_leaves": 7},
    seed=1,
)


def test_workflow_finds_the_signal_and_matches_pandas_ic() -> None:
    panel = synthetic()
    cfg = dataclasses.replace(
        CONFIG, model="ridge", params={}, processors=({"name": "DropnaLabel"}, {"name": "Fillna"})
    )
    res = run_workflow(panel, cfg)
    assert res.feature_names == ("SIG", "NOISE", "MOM")
    coef = res.importance[0]["coef"]
    assert coef[0] > 0.005 and abs(coef[1]) < 0.1 * coef[0]
    # Qlib's calc_ic transcribed with pandas on the test rows
    rows = np.argwhere(~np.isnan(res.predictions))
    frame = pd.DataFrame(
        {
            "day": rows[:, 0],
            "pred": res.predictions[rows[:, 0], rows[:, 1]],
            "label": res.label[rows[:, 0], rows[:, 1]],
        }
    )
    ic = frame.groupby("day")[["pred", "label"]].apply(lambda d: d["pred"].corr(d["label"]))
    ric = frame.groupby("day")[["pred", "label"]].apply(
        lambda d: d["pred"].corr(d["label"], method="spearman")
    )
    got = res.signal.summary()
    assert got["ic"] == pytest.approx(ic.mean(), abs=1e-9)
    assert got["icir"] == pytest.approx(ic.mean() / ic.std(), abs=1e-9)
    assert got["rank_ic"] == pytest.approx(ric.mean(), abs=1e-9)
    assert got["rank_icir"] == pytest.approx(ric.mean() / ric.std(), abs=1e-9)
    assert got["ic"] > 0.7
    test_days = (panel.calendar >= np.datetime64("2020-06-01")) & (
        panel.calendar <= np.datetime64("2020-07-31")
    )
    assert not np.isnan(res.predictions[test_days]).any()
    assert np.isnan(res.predictions[~test_days]).all()


def test_lightgbm_rerun_is_bit_for_bit_and_reports_rounds() -> None:
    panel = synthetic()
    seen: list[tuple[str, dict]] = []
    a = run_workflow(panel, CONFIG, progress=lambda stage, info: seen.append((stage, info)))
    b = run_workflow(panel, CONFIG)
    np.testing.assert_array_equal(a.predictions, b.predictions)
    rounds = [i["round"] for s, i in seen if s == "training"]
    assert rounds == list(range(1, len(rounds) + 1)) and len(rounds) == len(a.curves[0]["valid"])
    assert [s for s, _ in seen if s != "training"] == ["features", "signal"]
    assert a.signal.rank_ic > 0.5
    assert set(a.timings) == {"features", "processing", "training", "prediction", "signal"}


def test_rolling_retraining_covers_the_test_span_once() -> None:
    panel = synthetic()
    cfg = dataclasses.replace(CONFIG, rolling_step=20, rolling_expanding=True)
    res = run_workflow(panel, cfg)
    assert len(res.windows) == 4  # 61 test days in steps of 20
    assert len(res.models) == 4 and res.windows[-1].train[0] == SEG.train[0]
    test_days = (panel.calendar >= np.datetime64("2020-06-01")) & (
        panel.calendar <= np.datetime64("2020-07-31")
    )
    assert not np.isnan(res.predictions[test_days]).any()


@pytest.mark.parametrize("model", ["lightgbm", "mlp"])
def test_resuming_from_finished_windows_predicts_bit_for_bit(model: str) -> None:
    """A run interrupted after two of four windows and resumed from their checkpointed
    models predicts, ranks features and reports curves exactly as an uninterrupted run."""
    panel = synthetic()
    cfg = dataclasses.replace(CONFIG, rolling_step=20, rolling_expanding=True, model=model)
    if model == "mlp":
        cfg = dataclasses.replace(
            cfg,
            params={"hidden_layer_sizes": [8], "epochs": 5},
            processors=({"name": "DropnaLabel"}, {"name": "Fillna"}),
        )
    states: list[dict] = []
    whole = run_workflow(panel, cfg, on_window=lambda w, state: states.append(state))
    assert len(states) == 4 and all(isinstance(s["model"], str) for s in states)
    checkpoint = json.loads(json.dumps(states[:2]))  # what a job checkpoint stores
    trained: list[int] = []
    resumed = run_workflow(
        panel,
        cfg,
        done_windows=checkpoint,
        on_window=lambda w, state: trained.append(w),
        progress=lambda stage, info: stage == "training" and trained.append(-info["window"]),
    )
    assert sorted(set(abs(w) for w in trained)) == [2, 3]  # only the unfinished windows train
    np.testing.assert_array_equal(whole.predictions, resumed.predictions)
    assert resumed.importance == whole.importance
    assert resumed.curves == whole.curves and resumed.best_rounds == whole.best_rounds


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "segments": Segments(
                    ("2020-01-05", "2020-05-10"), ("2020-05-01", "2020-05-31"), SEG.test
                )
            },
            "overlaps",
        ),
        (
            {"segments": Segments(SEG.train, SEG.valid, ("2021-01-01", "2021-01-31"))},
            "outside the data",
        ),
        ({"label": "$close / Ref($close, 1) - 1"}, "does not read the future"),
        ({"min_train_rows": 10_000}, "fewer than the 10000"),
        ({"params": {"num_leafs": 3}}, "unknown hyper-parameters"),
        ({"model": "mlp", "params": {}}, "add the Fillna processor"),
        ({"model": "svm"}, "unknown model"),
        ({"processors": ({"name": "MinMax"},)}, "unknown processor"),
    ],
)
def test_bad_configurations_fail_before_training(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_config(dataclasses.replace(CONFIG, **change), synthetic())


def test_risk_analysis_by_hand() -> None:
    r = np.array([0.01, -0.02, 0.03, np.nan])
    out = risk_analysis(r, periods=238)
    mean, std = 0.02 / 3, float(np.std([0.01, -0.02, 0.03], ddof=1))
    assert out["annualized_return"] == pytest.approx(mean * 238)
    assert out["information_ratio"] == pytest.approx(mean / std * math.sqrt(238))
    assert out["max_drawdown"] == pytest.approx(-0.02)  # cumulative sum 0.01 → -0.01


def test_backtest_of_predictions_by_hand() -> None:
    cal = np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-09"))
    a = [10.0, 10.0, 11.0, 11.0, 12.0]
    close = np.column_stack([a, [10.0] * 5, [10.0] * 5])
    fields = {"close": close, "open": close, "volume": np.full((5, 3), 1e6)}
    panel = Panel.from_arrays(cal, ["A", "B", "C"], fields)
    scores = np.tile([3.0, 2.0, 1.0], (5, 1))
    run_config = {"preset": "rules_off", "initial_capital": 1_000_000}
    bt = backtest_predictions(
        panel, scores, start=cal[0], end=cal[-1], topk=1, n_drop=1, run_config=run_config
    )
    # day 0's score trades on day 1: 95% of 1,000,000 buys 95,000 A at 10
    want = [0.0, 0.0, 95_000 / 1_000_000, 0.0, 95_000 / 1_095_000]
    np.testing.assert_allclose(bt.returns, want, atol=1e-12)
    np.testing.assert_allclose(bt.returns_without_cost, want, atol=1e-12)
    summary = bt.summary()
    assert summary["annualized_excess_return_with_cost"] == pytest.approx(np.mean(want) * 238)
    assert summary["n_trades"] == 1 and summary["costs_paid"] == 0.0
    assert summary["initial_capital"] == 1_000_000  # the account the figures are for


def test_backtest_first_day_counts_against_the_capital_and_the_day_before() -> None:
    cal = np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-09"))
    close = np.column_stack([[10.0, 10.0, 11.0, 11.0, 12.0], [10.0] * 5])
    panel = Panel.from_arrays(cal, ["A", "B"], {"close": close, "open": close})
    scores = np.tile([2.0, 1.0], (5, 1))
    run_config = {
        "preset": "rules_off",
        "initial_capital": 1_000_000,
        "costs": {"commission_rate": 0.001},
    }
    bench = np.array([100.0, 101.0, 102.0, 102.0, 103.0])
    bt = backtest_predictions(panel, scores, start=cal[1], end=cal[-1], topk=1, n_drop=1,
                              run_config=run_config, benchmark=bench)  # fmt: skip
    # the run starts on day 1 and trades day 0's score: 95% of the capital buys 95,000 A
    # at 10 and pays 950 of commission, against the initial 1,000,000 (as Qlib's report)
    assert bt.costs[0] == pytest.approx(950 / 1_000_000)
    assert bt.returns[0] == pytest.approx(-950 / 1_000_000)
    assert bt.returns[1] == pytest.approx(95_000 / 999_050)
    np.testing.assert_allclose(bt.costs[1:], 0.0)
    # the benchmark's first return is from the day before the run
    np.testing.assert_allclose(bt.benchmark_returns, [0.01, 1 / 101, 0.0, 1 / 102])
