"""Backtest diagnostics: findings checked against hand-worked numbers and scipy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from quantlab.engine.backtest import diagnostics as dg
from quantlab.engine.backtest.metrics import TradeRecords


def _one(findings, title):
    hits = [f for f in findings if f.title == title]
    assert len(hits) == 1, [f.title for f in findings]
    return hits[0]


def _month_ends(n: int) -> np.ndarray:
    return np.arange("2020-01", n, dtype="datetime64[M]").astype("datetime64[D]") + 14


def test_contributions_from_weights_by_hand():
    w = np.array([[0.6, 0.4], [0.5, 0.5], [0.0, 1.0]])
    r = np.array([[0.1, 0.1], [0.02, -0.01], [0.1, np.nan]])
    # day 1: .6 * .02 and .4 * -.01; day 2: .5 * .1 and .5 * NaN -> 0
    np.testing.assert_allclose(
        dg.contributions_from_weights(w, r), [[0, 0], [0.012, -0.004], [0.05, 0]]
    )


def test_attribution_by_hand():
    # one return per month: + + - - - - - - + -> longest run of losses 6, of wins 2
    monthly = np.array([0.02, 0.03, -0.01, -0.02, -0.01, -0.03, -0.01, -0.02, 0.05])
    contrib = np.zeros((9, 6))
    contrib[0] = [0.05, -0.03, 0.01, 0.004, 0.002, 0.001]
    names = ["A", "B", "C", "D", "E", "F"]
    x = dg.DiagnosticInputs(
        monthly,
        _month_ends(9),
        contributions=contrib,
        instruments=names,
        industries={"A": "bank", "B": "bank", "C": "tech"},
    )
    found = dg.run_diagnostics(x, ["attribution"])
    top = _one(found, "Top-5 instruments' contribution")
    assert list(top.evidence["top5"]) == ["A", "B", "C", "D", "E"]
    # gross |.05| + |-.03| + .01 + .004 + .002 + .001 = .097; top-5 leaves out .001
    assert top.evidence["top5_share_of_gross"] == pytest.approx(0.096 / 0.097)
    assert top.severity == "warning"
    ind = _one(found, "Contribution by industry").evidence["share"]
    # net total .037: bank .05 - .03 = .02, tech .01, unknown .004 + .002 + .001
    assert ind == pytest.approx(
        {"bank": 0.02 / 0.037, "tech": 0.01 / 0.037, "unknown": 0.007 / 0.037}
    )
    prof = _one(found, "Monthly return profile")
    assert prof.evidence["longest_winning_months"] == 2
    assert prof.evidence["longest_losing_months"] == 6
    assert prof.severity == "warning"
    # Q1 = 1.02 * 1.03 * .99 - 1 = .040094; Q3 = .99 * .98 * 1.05 - 1 = .01871; Q2 < 0
    assert prof.evidence["best_quarter"] == "2020Q1"
    assert prof.evidence["best_quarter_return"] == pytest.approx(1.02 * 1.03 * 0.99 - 1)
    assert prof.evidence["monthly_std"] == pytest.approx(np.std(monthly, ddof=1))


def test_risk_by_hand():
    r = np.array([0.10, -0.10, -0.20, 0.05, 0.40])
    b = np.array([0.01, -0.02, 0.03, 0.00, 0.01])
    d = np.datetime64("2021-03-01") + np.arange(5)
    w = np.array([[0.5, 0.5]] * 3 + [[1.0, 0.0]] * 2)
    found = dg.run_diagnostics(dg.DiagnosticInputs(r, d, benchmark=b, weights=w), ["risk"])
    dd = _one(found, "Maximum drawdown period")
    # peak 1.1 on day 0, trough 1.1 * .9 * .8 = .792 on day 2 (-28 %);
    # recovered on day 4: .792 * 1.05 * 1.4 = 1.164 >= 1.1
    assert dd.evidence["max_drawdown"] == pytest.approx(-0.28)
    assert (dd.evidence["start"], dd.evidence["trough"]) == ("2021-03-01", "2021-03-03")
    assert dd.evidence["recovery"] == "2021-03-05"
    # benchmark over days 1..2: .98 * 1.03 - 1
    assert dd.evidence["benchmark_return_same_span"] == pytest.approx(0.98 * 1.03 - 1)
    assert dd.severity == "warning"
    conc = _one(found, "Concentration of holdings (weights HHI)")
    # HHI .5 on three days and 1.0 on two: mean .7
    assert conc.evidence["mean_hhi"] == pytest.approx(0.7)
    assert conc.severity == "critical"


def test_overfitting_checks():
    rng = np.random.default_rng(3)
    r = rng.normal(0.002, 0.01, 250)
    b = rng.normal(0.0, 0.01, 250)
    d = np.datetime64("2021-01-01") + np.arange(250)
    x = dg.DiagnosticInputs(r, d, benchmark=b, n_parameters=12, seed=11, bootstrap_samples=500)
    found = dg.run_diagnostics(x, ["overfitting"])
    assert _one(found, "Many free parameters").severity == "warning"
    split = _one(found, "In-sample versus out-of-sample").evidence
    assert split["split_date"] == str(d[175])  # last 30 % out of sample
    luck = _one(found, "Bootstrap luck percentile")
    assert luck.evidence["percentile"] > 99  # a strong drift beats demeaned resamples
    again = dg.run_diagnostics(x, ["overfitting"])
    assert _one(again, "Bootstrap luck percentile").evidence == luck.evidence
    noise = rng.normal(0, 0.01, 250)
    sharpe, pct = dg.bootstrap_luck_percentile(noise, 500, seed=1)
    assert 1 < pct < 99  # pure noise sits inside the luck distribution
    assert dg.bootstrap_luck_percentile(noise, 500, seed=1) == (sharpe, pct)  # seeded
    ttest = _one(found, "t-test of mean daily excess return").evidence
    ref = stats.ttest_1samp(r - b, 0.0)
    assert ttest["t_stat"] == pytest.approx(ref.statistic)
    assert ttest["p_value"] == pytest.approx(ref.pvalue)

    # the luck percentile handed in (or a function giving it, e.g. another thread's) is the
    # one the diagnostic would compute
    for given in (
        dg.bootstrap_luck_percentile(r, 500, 11),
        lambda: (luck.evidence["sharpe"], luck.evidence["percentile"]),
    ):
        handed = dg.DiagnosticInputs(
            r, d, benchmark=b, n_parameters=12, seed=11, bootstrap_samples=500, bootstrap=given
        )
        found_with = dg.run_diagnostics(handed, ["overfitting"])
        assert [f.to_dict() for f in found_with] == [f.to_dict() for f in found]

    late = dg.DiagnosticInputs(r, d, oos_start="2021-06-01", bootstrap_samples=10)
    ev = _one(dg.run_diagnostics(late, ["overfitting"]), "In-sample versus out-of-sample").evidence
    assert ev["split_date"] == "2021-06-01"


def test_sub_run_diagnostics_by_hand():
    runs = [({"n": 20}, 1.5), ({"n": 15}, 0.4), ({"n": 25}, 0.6), ({"n": 30}, 0.2)]
    f = dg.parameter_sensitivity(runs)
    # neighbours .4 .6 .2: median .4 < half of 1.5
    assert f.evidence["neighbour_median"] == pytest.approx(0.4)
    assert f.severity == "warning"
    wf = dg.walk_forward([(2.0, 1.2), (1.0, 0.6), (1.5, -0.3)])
    # mean IS 1.5, mean OOS .5 -> efficiency 1/3; 2 of 3 windows positive
    assert wf.evidence["efficiency"] == pytest.approx(0.5 / 1.5)
    assert wf.evidence["positive_oos_windows"] == pytest.approx(2 / 3)
    assert wf.severity == "warning"
    assert dg.walk_forward([(1.0, 0.9)]).severity == "info"


def test_execution_by_hand():
    w = np.array([[0.5, 0.1], [0.3, 0.1], [np.nan, 0.2]])
    x = dg.DiagnosticInputs(
        np.zeros(3),
        np.datetime64("2021-01-01") + np.arange(3),
        weights=w,
        rejected_orders={"limit_up": 6, "suspended": 2},
        order_count=100,
    )
    found = dg.run_diagnostics(x, ["execution"])
    rej = _one(found, "Rejected orders by reason")
    assert rej.evidence["by_reason"] == {"limit_up": 0.06, "suspended": 0.02}
    assert rej.evidence["rejected_share"] == pytest.approx(0.08)
    assert rej.severity == "warning"
    # cash: .4, .6, .8 -> mean .6
    assert _one(found, "Idle cash").evidence["mean_cash_share"] == pytest.approx(0.6)


def test_rules_and_json():
    d = np.datetime64("2021-01-01") + np.arange(6)
    r = np.array([0.01, -0.15, -0.10, 0.01, 0.02, np.nan])
    trades = TradeRecords.from_arrays([5.0, 3.0, 2.0, 1.0], [1, 1, 1, 1], [10.0] * 4)
    found = dg.run_diagnostics(dg.DiagnosticInputs(r, d, trades=trades), ["rules"])
    titles = {f.title for f in found}
    assert titles == {"Sharpe ratio below 1", "Maximum drawdown above 20 %", "Win rate above 70 %"}
    assert _one(found, "Win rate above 70 %").evidence == {"win_rate": 1.0, "basis": "trades"}

    listed = dg.list_diagnostics()
    assert [x["name"] for x in listed] == [
        "attribution",
        "risk",
        "overfitting",
        "execution",
        "rules",
        "universe",
    ]
    everything = dg.run_diagnostics(dg.DiagnosticInputs(r, d, trades=trades))
    assert {f.severity for f in everything} <= {"info", "warning", "critical"}
    payload = json.dumps([f.to_dict() for f in everything], allow_nan=False)
    assert "suggestion" in payload
    with pytest.raises(KeyError):
        dg.run_diagnostics(dg.DiagnosticInputs(r, d), ["nope"])


def test_study_overfitting_findings_from_a_study_report() -> None:
    """PBO 0.6 is critical, 0.25 a warning, 0.1 info; a DSR of 0.9 (under 0.95) is a
    warning; the findings also come through the registry for a run with a study report."""

    def report(pbo: float | None, dsr: float) -> dict[str, object]:
        return {"pbo": pbo, "n_trials": 90, "n_splits": 16,
                "dsr": {"dsr": dsr, "sharpe": 0.1, "benchmark_sharpe": 0.05}}  # fmt: skip

    for pbo, severity in ((0.6, "critical"), (0.25, "warning"), (0.1, "info")):
        found = dg.study_overfitting(report(pbo, 0.99))
        assert [(f.title, f.severity) for f in found] == [
            ("Probability of backtest overfitting", severity),
            ("Deflated Sharpe ratio", "info"),
        ]
    (only,) = dg.study_overfitting(report(None, 0.9))
    assert only.severity == "warning" and only.evidence["n_trials"] == 90
    assert "90 trials" in only.suggestion
    rng = np.random.default_rng(0)
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 300)
    inputs = dg.DiagnosticInputs(rng.normal(0, 0.01, 300), dates, study=report(0.7, 0.5))
    titles = {f.title: f.severity for f in dg.run_diagnostics(inputs, ["overfitting"])}
    assert titles["Probability of backtest overfitting"] == "critical"
    assert titles["Deflated Sharpe ratio"] == "warning"
