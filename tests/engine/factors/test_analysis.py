"""Factor IC analysis: a tiny panel by hand, then scipy per day and pandas qcut."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantlab.engine.data import Panel
from quantlab.engine.factors import analysis as fa

# 3 days x 4 instruments; day 0 -> day 1 returns are +10 %, 0, -10 %, +10 %
CLOSE = np.array([[10.0, 20, 30, 40], [11, 20, 27, 44], [12, 21, 27, 40]])
FACTOR = np.array([[1.0, 2, 3, 4], [4, 3, 2, 1], [1, 2, 3, np.nan]])


def test_forward_returns_by_hand():
    fwd = fa.forward_returns(CLOSE, 1)
    np.testing.assert_allclose(fwd[0], [0.1, 0.0, -0.1, 0.1])
    assert np.isnan(fwd[-1]).all()
    np.testing.assert_allclose(fa.forward_returns(CLOSE, 2)[0], [0.2, 0.05, -0.1, 0.0])
    bad = CLOSE.copy()
    bad[1, 0] = -5.0  # subtractive forward adjustment can leave non-positive prices
    assert np.isnan(fa.forward_returns(bad, 1)[:2, 0]).all()


def test_ic_by_hand():
    fwd = fa.forward_returns(CLOSE, 1)
    ic = fa.information_coefficient(FACTOR, fwd, min_instruments=3)
    # x = 1..4 (dx = -1.5 -.5 .5 1.5, Sxx = 5); y = .1 0 -.1 .1 (mean .025,
    # dy = .075 -.025 -.125 .075, Syy = .0275); Sxy = -.1125 + .0125 - .0625 + .1125 = -.05
    assert ic[0] == pytest.approx(-0.05 / math.sqrt(5 * 0.0275))
    rank_ic = fa.information_coefficient(FACTOR, fwd, "spearman", min_instruments=3)
    # y ranks with the tie averaged: 3.5 2 1 3.5 (dy = 1 -.5 -1.5 1, Syy = 4.5); Sxy = -.5
    assert rank_ic[0] == pytest.approx(-0.5 / math.sqrt(5 * 4.5))
    # day 1: factor 4 3 2 1 vs returns 1/11, .05, 0, -1/11: perfectly ordered
    assert rank_ic[1] == pytest.approx(1.0)
    assert np.isnan(ic[2])  # no forward return on the last day
    assert np.isnan(fa.information_coefficient(FACTOR, fwd, min_instruments=5)[0])


def test_quantiles_by_hand():
    res = fa.analyse_factor(FACTOR, CLOSE, horizons=(1,), quantiles=2, min_instruments=3)
    # day 0 edges [1, 2.5, 4]: groups 1 1 2 2; group means (.1 + 0) / 2 = .05 and (-.1 + .1) / 2 = 0
    # day 1 groups (factor 4 3 2 1) 2 2 1 1; returns 1/11 .05 0 -1/11: means -1/22 and .0955
    day1 = (0.0 - 1 / 11) / 2, (1 / 11 + 0.05) / 2
    assert res.quantile_returns[0] == pytest.approx([(0.05 + day1[0]) / 2, (0.0 + day1[1]) / 2])
    assert res.long_short[0] == pytest.approx(((0 - 0.05) + (day1[1] - day1[0])) / 2)
    # layered backtest: row t includes the t -> t + 1 return; the last day is flat
    assert res.quantile_cumulative[:, 0] == pytest.approx(
        [0.05, 1.05 * (1 + day1[0]) - 1, 1.05 * (1 + day1[0]) - 1]
    )
    # the top group changes completely from day 0 to day 1 (instruments 2, 3 -> 0, 1)
    assert res.top_turnover[1] == pytest.approx(1.0)
    assert res.autocorrelation[1] == pytest.approx(-1.0)
    assert res.coverage == pytest.approx([1.0, 1.0, 0.75])


@pytest.fixture(scope="module")
def random_panel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    t, n = 60, 40
    close = np.asfortranarray(40 * np.exp(np.cumsum(rng.normal(0, 0.02, (t, n)), axis=0)))
    factor = np.asfortranarray(rng.normal(size=(t, n)))
    factor[rng.random((t, n)) < 0.1] = np.nan
    factor[5, :] = np.round(factor[5, :], 0)  # ties for the rank
    close[rng.random((t, n)) < 0.05] = np.nan
    dates = np.datetime64("2022-01-03") + np.arange(t)
    return factor, close, dates


def test_ic_against_scipy(random_panel):
    factor, close, _ = random_panel
    for h in (1, 5):
        fwd = fa.forward_returns(close, h)
        ic = fa.information_coefficient(factor, fwd)
        ric = fa.information_coefficient(factor, fwd, "spearman")
        for t in range(len(factor) - h):
            ok = ~np.isnan(factor[t]) & ~np.isnan(fwd[t])
            assert ic[t] == pytest.approx(stats.pearsonr(factor[t, ok], fwd[t, ok])[0])
            assert ric[t] == pytest.approx(stats.spearmanr(factor[t, ok], fwd[t, ok])[0])
        both = fa.information_coefficients(factor, fwd)
        np.testing.assert_allclose(both, [ic, ric], equal_nan=True)


def test_summary_against_scipy(random_panel):
    factor, close, dates = random_panel
    res = fa.analyse_factor(factor, close, dates, horizons=(1, 5, 10, 20))
    for k, s in enumerate(res.rank_ic_summary):
        v = res.rank_ic[:, k][~np.isnan(res.rank_ic[:, k])]
        assert s.n_days == len(factor) - s.horizon
        assert s.t_stat == pytest.approx(stats.ttest_1samp(v, 0.0).statistic)
        assert s.ir == pytest.approx(v.mean() / v.std(ddof=1))
    assert list(res.ic_decay) == [1, 5, 10, 20]


def test_quantiles_against_pandas_qcut(random_panel):
    factor, close, dates = random_panel
    factor = factor.copy()
    factor[5] = np.linspace(-1, 1, factor.shape[1])  # qcut refuses the tied edges of day 5
    res = fa.analyse_factor(factor, close, dates, horizons=(1, 5), quantiles=5)
    t, n = factor.shape
    for k, h in enumerate((1, 5)):
        fwd = fa.forward_returns(close, h)
        df = pd.DataFrame(
            {"date": np.repeat(np.arange(t), n), "f": factor.ravel(), "r": fwd.ravel()}
        ).dropna(subset=["f"])
        df["q"] = df.groupby("date")["f"].transform(lambda x: pd.qcut(x, 5, labels=False) + 1)
        daily = df.groupby(["date", "q"])["r"].mean().unstack()
        np.testing.assert_allclose(res.quantile_returns[k], daily.mean().to_numpy())
        assert res.long_short[k] == pytest.approx((daily[5] - daily[1]).mean())
        if h == 1:
            expected = (1 + daily.reindex(range(t)).fillna(0.0)).cumprod() - 1
            np.testing.assert_allclose(res.quantile_cumulative, expected.to_numpy())
    groups = fa.quantile_groups(factor, 5)
    df["g"] = groups.ravel()[df.index]
    assert (df["g"] == df["q"]).all()


def test_turnover_autocorrelation_and_json(random_panel):
    factor, close, dates = random_panel
    res = fa.analyse_panel_factor(
        Panel.from_arrays(dates, [f"S{i}" for i in range(40)], {"close": close}), factor
    )
    groups = fa.quantile_groups(factor, 5)
    top0, top1 = groups[0] == 5, groups[1] == 5
    assert res.top_turnover[1] == pytest.approx((top1 & ~top0).sum() / top1.sum())
    ok = ~np.isnan(factor[0]) & ~np.isnan(factor[1])
    assert res.autocorrelation[1] == pytest.approx(stats.spearmanr(factor[0, ok], factor[1, ok])[0])
    out = res.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert out["dates"][0] == "2022-01-03" and out["ic"]["1"][-1] is None
    assert "rank_ic_summary" in text


def test_real_prices(realdata):
    # a 20-day reversal factor on real A-share closes (suspended days absent -> NaN)
    folder = realdata / "cn" / "qbot_tushare_qfq_2010_2020"
    frames = {
        p.stem: pd.read_csv(p, usecols=["trade_date", "close"]).set_index("trade_date")["close"]
        for p in sorted(folder.glob("*.csv"))[:30]
    }
    wide = pd.DataFrame(frames).sort_index().loc[20180101:20191231]
    close = wide.to_numpy(dtype=float)
    factor = -(close / np.roll(close, 20, axis=0) - 1)
    factor[:20] = np.nan
    res = fa.analyse_factor(factor, close, horizons=(1, 5))
    ric = res.rank_ic[:, 0]
    fwd = fa.forward_returns(close, 1)
    t = 100
    ok = ~np.isnan(factor[t]) & ~np.isnan(fwd[t])
    assert ric[t] == pytest.approx(stats.spearmanr(factor[t, ok], fwd[t, ok])[0])
    assert res.rank_ic_summary[0].n_days > 400
    assert -0.3 < res.rank_ic_summary[0].mean < 0.3


def test_label_replaces_forward_returns_by_hand():
    # day 0's label: 1, 2, 3, 5 -> IC with the factor 1, 2, 3, 4 by hand:
    # dx = -1.5, -.5, .5, 1.5; dy = -1.75, -.75, .25, 2.25; sxy = 6.5, sxx = 5, syy = 8.75
    label = np.array([[1.0, 2, 3, 5], [4, 3, 2, 1], [np.nan] * 4])
    out = fa.analyse_factor(FACTOR, CLOSE, horizons=(1, 2), min_instruments=2, label=label)
    assert out.ic[0, 0] == pytest.approx(6.5 / math.sqrt(5 * 8.75))
    # horizon 2 compares day 0's factor with the label one day later: 4, 3, 2, 1 -> -1
    assert out.ic[0, 1] == pytest.approx(-1.0)
    assert out.rank_ic[1, 0] == pytest.approx(1.0)  # day 1: factor 4, 3, 2, 1 vs label
    assert np.isnan(out.ic[2]).all()  # no label on the last day
    np.testing.assert_array_equal(fa.label_ahead(label, 0), label)
    # the cumulative portfolios still earn the close's 1-day return, not the label
    plain = fa.analyse_factor(FACTOR, CLOSE, horizons=(1, 2), min_instruments=2)
    np.testing.assert_allclose(out.quantile_cumulative, plain.quantile_cumulative)
    with pytest.raises(ValueError, match="label"):
        fa.analyse_factor(FACTOR, CLOSE, label=label[:2])
