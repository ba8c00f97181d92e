"""Backtest metrics: hand-worked cases, then the same numbers through empyrical and quantstats."""

from __future__ import annotations

import json
import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import quantstats.stats as qs

from quantlab.engine.backtest import metrics as m

# Five days worked by hand below.
R5 = np.array([0.10, -0.05, 0.02, -0.10, 0.05])
D5 = np.array(["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07", "2021-01-08"], "M8[D]")


def test_return_and_volatility_by_hand():
    # wealth: 1.10, 1.045, 1.0659, 0.95931, 1.0072755
    assert m.total_return(R5) == pytest.approx(0.0072755)
    assert m.annual_return(R5) == pytest.approx(1.0072755 ** (252 / 5) - 1)
    # mean 0.004; deviations .096 -.054 .016 -.104 .046; squares sum to 0.02532; var = /4
    sd = math.sqrt(0.02532 / 4)
    assert m.annual_volatility(R5) == pytest.approx(sd * math.sqrt(252))
    assert m.sharpe_ratio(R5) == pytest.approx(0.004 / sd * math.sqrt(252))
    # downside: (0.05² + 0.10²) / 5 days = 0.0025 -> 0.05 per day; 0.004 / 0.05 = 0.08
    assert m.sortino_ratio(R5) == pytest.approx(0.08 * math.sqrt(252))
    # np.std of the two losing days alone (another Sortino convention) gives another number
    assert m.sortino_ratio(R5) != pytest.approx(0.004 / np.std([-0.05, -0.10]) * math.sqrt(252))


def test_drawdown_by_hand():
    # peak 1.10 on day 0; trough 0.95931 on day 3: 0.95931 / 1.10 - 1 = -0.1279
    assert m.max_drawdown(R5) == pytest.approx(-0.1279)
    details = m.drawdown_details(R5, D5)
    assert details == {
        "max_drawdown": pytest.approx(-0.1279),
        "start": "2021-01-04",
        "trough": "2021-01-07",
        "recovery": None,
        "duration_days": 4,  # not recovered: peak to last date
        "duration_periods": 4,
    }
    # one episode (days 1..4) whose deepest point is the max drawdown
    assert m.average_drawdown(R5) == pytest.approx(-0.1279)
    assert m.calmar_ratio(R5) == pytest.approx(m.annual_return(R5) / 0.1279)
    # two episodes: -10 % recovered by +20 % (0.9 * 1.2 = 1.08), then 1.08 -> 1.026 is -5 %
    r = np.array([-0.10, 0.20, -0.05])
    assert m.average_drawdown(r) == pytest.approx((-0.10 - 0.05) / 2)
    d = np.array(["2021-01-04", "2021-01-05", "2021-01-11"], "M8[D]")
    rec = m.drawdown_details(r, d)
    # the peak is the starting capital, so the drawdown starts on the first date
    assert (rec["start"], rec["trough"], rec["recovery"]) == ("2021-01-04",) * 2 + ("2021-01-05",)
    assert rec["duration_days"] == 1 and rec["duration_periods"] == 1


def test_tail_and_moments_by_hand():
    # sorted: -.10 -.05 .02 .05 .10; the 5th percentile sits 0.2 of the way from -.10 to -.05
    assert m.value_at_risk(R5) == pytest.approx(-0.09)
    assert m.conditional_value_at_risk(R5) == pytest.approx(-0.10)
    # symmetric sample: skew 0
    assert m.skewness(np.array([-1.0, 0.0, 1.0])) == pytest.approx(0.0)
    # [0, 0, 0, 1]: mean .25, m2 = 0.1875, m3 = (3 * -.25³ + .75³) / 4 = 0.09375
    # g1 = m3 / m2^1.5 = 1.1547; bias-corrected G1 = g1 * sqrt(n (n - 1)) / (n - 2)
    g1 = 0.09375 / 0.1875**1.5
    assert m.skewness(np.array([0.0, 0, 0, 1])) == pytest.approx(g1 * math.sqrt(12) / 2)
    # m4 = (3 * 0.25**4 + 0.75**4) / 4 = 0.08203125; g2 = m4 / m2² - 3 = -0.6667
    g2 = 0.08203125 / 0.1875**2 - 3
    assert m.kurtosis(np.array([0.0, 0, 0, 1])) == pytest.approx((5 * g2 + 6) * 3 / (2 * 1))
    assert m.daily_win_rate(np.array([0.01, 0.0, -0.02, 0.03])) == pytest.approx(2 / 3)
    assert (m.best_day(R5), m.worst_day(R5)) == (0.10, -0.10)


def test_monthly_table_by_hand():
    d = np.array(["2021-01-28", "2021-01-29", "2021-02-01", "2021-02-02", "2021-03-01"], "M8[D]")
    table = m.monthly_returns(R5, d)
    # Jan: 1.10 * 0.95 - 1 = 0.045; Feb: 1.02 * 0.90 - 1 = -0.082; Mar: 0.05
    assert table["2021"][:3] == pytest.approx([0.045, -0.082, 0.05])
    assert table["2021"][3:] == [None] * 9
    assert m.best_month(R5, d) == pytest.approx(0.05)
    assert m.worst_month(R5, d) == pytest.approx(-0.082)


def test_benchmark_metrics_by_hand():
    b = np.array([0.05, -0.02, 0.01, -0.05, 0.03])
    r = 2 * b + 0.001  # beta 2, alpha 0.1 % a day
    assert m.beta(r, b) == pytest.approx(2.0)
    assert m.alpha(r, b) == pytest.approx(1.001**252 - 1)
    # active return b + 0.001 has the dispersion of b
    assert m.tracking_error(r, b) == pytest.approx(np.std(b, ddof=1) * math.sqrt(252))
    assert m.information_ratio(r, b) == pytest.approx(
        np.mean(b + 0.001) / np.std(b, ddof=1) * math.sqrt(252)
    )
    # up days are 0, 2, 4: strategy 0.101, 0.021, 0.061 vs 0.05, 0.01, 0.03, annualised over 3
    up_r = (1.101 * 1.021 * 1.061) ** (252 / 3) - 1
    up_b = (1.05 * 1.01 * 1.03) ** (252 / 3) - 1
    assert m.up_capture(r, b) == pytest.approx(up_r / up_b)
    down_r = (0.961 * 0.901) ** (252 / 2) - 1
    down_b = (0.98 * 0.95) ** (252 / 2) - 1
    assert m.down_capture(r, b) == pytest.approx(down_r / down_b)
    assert m.excess_return(r, b) == pytest.approx(m.annual_return(r) - m.annual_return(b))


TRADES = m.TradeRecords.from_arrays(
    pnl=[100.0, -50.0, 30.0, -20.0, -10.0, 0.0],
    holding_days=[5, 3, 10, 2, 1, 4],
    entry_value=[1000.0, 1000.0, 500.0, 400.0, 100.0, 100.0],
)


def test_trade_metrics_by_hand():
    assert m.trade_count(TRADES) == 6
    assert m.win_rate(TRADES) == pytest.approx(2 / 6)  # the break-even trade is no win
    # average win (100 + 30) / 2 = 65, average loss (50 + 20 + 10) / 3 = 26.67
    assert m.profit_loss_ratio(TRADES) == pytest.approx(65 / (80 / 3))
    assert m.profit_factor(TRADES) == pytest.approx(130 / 80)
    assert m.expectancy(TRADES) == pytest.approx(50 / 6)
    # per-trade returns: .1 -.05 .06 -.05 -.1 0
    assert m.average_trade_return(TRADES) == pytest.approx(-0.04 / 6)
    assert m.average_holding_days(TRADES) == pytest.approx(25 / 6)
    only_wins = m.TradeRecords.from_arrays([1.0, 2.0], [1, 1], [10.0, 10.0])
    assert m.profit_factor(only_wins) == math.inf
    assert math.isnan(m.profit_loss_ratio(only_wins))
    with pytest.raises(ValueError):
        m.TradeRecords.from_arrays([1.0], [1, 2], [1.0])


def test_position_metrics_by_hand():
    w = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0], [0.0, np.nan]])
    # |Δw| sums from an empty book: 1, 0, 1, 1 -> mean .75, one-way .375 a day
    assert m.turnover(w) == pytest.approx(0.375 * 252)
    assert m.exposure(w) == pytest.approx(0.75)
    assert m.net_exposure(-w) == pytest.approx(-0.75)


def test_nan_days_are_missing_observations():
    r = np.array([0.10, np.nan, -0.05, 0.02, np.nan, -0.10, 0.05])
    for fn in (m.total_return, m.annual_return, m.sharpe_ratio, m.sortino_ratio, m.skewness):
        assert fn(r) == pytest.approx(fn(R5))
    assert m.max_drawdown(r) == pytest.approx(m.max_drawdown(R5))
    assert math.isnan(m.sharpe_ratio(np.array([0.01])))
    assert math.isnan(m.max_drawdown(np.array([])))
    assert math.isnan(m.annual_volatility(np.array([np.nan, np.nan])))


# ------------------------------------------------------------------------------------------
# independent libraries on a longer series


@pytest.fixture(scope="module")
def series() -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(42)
    idx = pd.bdate_range("2019-01-01", periods=501)
    b = rng.normal(0.0003, 0.011, 501)
    r = 0.8 * b + rng.standard_t(4, 501) * 0.006 + 0.0002
    return pd.Series(r, idx), pd.Series(b, idx)


def test_against_empyrical(series):
    rs, bs = series
    r, b = rs.to_numpy(), bs.to_numpy()
    rf = m.period_rate(0.02)
    assert m.total_return(r) == pytest.approx(ep.cum_returns_final(r))
    assert m.annual_return(r) == pytest.approx(ep.annual_return(r))
    assert m.annual_volatility(r) == pytest.approx(ep.annual_volatility(r))
    assert m.sharpe_ratio(r) == pytest.approx(ep.sharpe_ratio(r))
    assert m.sharpe_ratio(r, 0.02) == pytest.approx(ep.sharpe_ratio(r, risk_free=rf))
    assert m.sortino_ratio(r) == pytest.approx(ep.sortino_ratio(r))
    assert m.downside_deviation(r) == pytest.approx(ep.downside_risk(r))
    assert m.max_drawdown(r) == pytest.approx(ep.max_drawdown(r))
    assert m.calmar_ratio(r) == pytest.approx(ep.calmar_ratio(r))
    assert m.value_at_risk(r) == pytest.approx(ep.value_at_risk(r))
    # (501 - 1) * 0.05 = 25 is whole, so empyrical's count-based tail is the same 26 days
    assert m.conditional_value_at_risk(r) == pytest.approx(ep.conditional_value_at_risk(r))
    assert m.beta(r, b) == pytest.approx(ep.beta(r, b))
    assert m.alpha(r, b) == pytest.approx(ep.alpha(r, b))
    assert m.alpha(r, b, 0.02) == pytest.approx(ep.alpha(r, b, risk_free=rf))
    assert m.beta(r, b, 0.02) == pytest.approx(ep.beta(r, b, risk_free=rf))
    # empyrical's excess_sharpe is the daily information ratio
    assert m.information_ratio(r, b) == pytest.approx(ep.excess_sharpe(r, b) * math.sqrt(252))
    assert m.up_capture(r, b) == pytest.approx(ep.up_capture(r, b))
    assert m.down_capture(r, b) == pytest.approx(ep.down_capture(r, b))


def test_against_quantstats(series):
    rs, bs = series
    r, b = rs.to_numpy(), bs.to_numpy()
    d = rs.index.to_numpy().astype("M8[D]")
    assert m.annual_return(r) == pytest.approx(qs.cagr(rs))
    assert m.annual_volatility(r) == pytest.approx(qs.volatility(rs))
    assert m.sharpe_ratio(r) == pytest.approx(qs.sharpe(rs))
    assert m.sharpe_ratio(r, 0.02) == pytest.approx(qs.sharpe(rs, rf=0.02))
    assert m.sortino_ratio(r) == pytest.approx(qs.sortino(rs))
    assert m.max_drawdown(r) == pytest.approx(qs.max_drawdown(rs))
    assert m.calmar_ratio(r) == pytest.approx(qs.calmar(rs))
    assert m.conditional_value_at_risk(r) == pytest.approx(qs.cvar(rs, method="historical"))
    assert m.skewness(r) == pytest.approx(qs.skew(rs))
    assert m.kurtosis(r) == pytest.approx(qs.kurtosis(rs))
    assert m.daily_win_rate(r) == pytest.approx(qs.win_rate(rs))
    assert m.best_day(r) == pytest.approx(qs.best(rs))
    assert m.worst_day(r) == pytest.approx(qs.worst(rs))
    assert m.best_month(r, d) == pytest.approx(qs.best(rs, aggregate="ME"))
    assert m.worst_month(r, d) == pytest.approx(qs.worst(rs, aggregate="ME"))
    # quantstats reports the information ratio per day, not annualised
    assert m.information_ratio(r, b) == pytest.approx(qs.information_ratio(rs, bs) * math.sqrt(252))
    assert m.beta(r, b) == pytest.approx(qs.greeks(rs, bs)["beta"])
    # quantstats annualises alpha arithmetically (daily * 252); ours compounds like empyrical
    daily_alpha = qs.greeks(rs, bs)["alpha"] / 252
    assert m.alpha(r, b) == pytest.approx((1 + daily_alpha) ** 252 - 1)
    # quantstats VaR is parametric (normal), ours historical: they differ by design
    assert m.value_at_risk(r) != pytest.approx(qs.value_at_risk(rs), rel=1e-3)

    table = m.monthly_returns(r, d)
    ref = qs.monthly_returns(rs, eoy=False, compounded=True)
    for year, row in ref.iterrows():
        ours = [np.nan if v is None else v for v in table[str(year)]]
        np.testing.assert_allclose(ours, row.to_numpy(dtype=float), equal_nan=False, atol=1e-12)


def test_trade_metrics_against_quantstats():
    # quantstats works on any number series; fed the trades' P&L it computes the same ratios
    pnl = pd.Series(TRADES.pnl, pd.bdate_range("2021-01-01", periods=len(TRADES.pnl)))
    assert m.profit_factor(TRADES) == pytest.approx(qs.profit_factor(pnl))
    assert m.profit_loss_ratio(TRADES) == pytest.approx(qs.payoff_ratio(pnl))


def test_registry_and_compute_metrics(series):
    rs, bs = series
    r, b = rs.to_numpy().copy(), bs.to_numpy()
    r[10] = np.nan
    d = rs.index.to_numpy().astype("M8[D]")
    listed = m.list_metrics()
    names = [x["name"] for x in listed]
    assert len(names) >= 25 and len(set(names)) == len(names)
    assert all(x["description"] and x["unit"] for x in listed)
    json.dumps(listed)

    w = np.full((len(r), 4), 0.25)
    out = m.compute_metrics(r, d, benchmark=b, trades=TRADES, positions=w)
    assert set(out) == set(names)
    json.dumps(out, allow_nan=False)
    assert out["sharpe_ratio"] == pytest.approx(m.sharpe_ratio(r))
    assert out["beta"] == pytest.approx(m.beta(r, b))
    assert out["max_drawdown_details"]["max_drawdown"] == out["max_drawdown"]
    assert out["turnover"] == pytest.approx(1.0 / len(r) / 2 * 252)

    bare = m.compute_metrics(r, d)
    for name in ("alpha", "beta", "win_rate", "turnover", "exposure"):
        assert bare[name] is None
    flat = m.compute_metrics(np.zeros(5), D5)
    assert flat["sharpe_ratio"] is None  # zero dispersion: NaN becomes None
    with pytest.raises(ValueError):
        m.register_metric("sharpe_ratio", "dup", "ratio", True, lambda x: 0.0)
