"""Raw (traded) vs adjusted prices: orders, lots, limits, fees and the trade log use the raw
prices; equity follows the adjusted return path. The factor 5.53 case is SH601012's
(raw close 37.53, adjusted close 207.5409), by hand; then the Qlib sample of
../shared/realdata through the same engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from _simkit import cfg, make_panel

from quantlab.engine.backtest.analysis import trades_frame
from quantlab.engine.backtest.enums import Rebalance, RejectReason
from quantlab.engine.backtest.market import adjustment_factor, price_limits, traded_panel
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import TargetWeights, TopkDropout
from quantlab.engine.data import Panel
from quantlab.engine.data.qlib_bin import read_qlib

F = 5.53
RAW = 37.53


def adjusted(panel: Panel, volume_basis: str = "adjusted") -> Panel:
    meta = {**panel.meta, "price_basis": "adjusted", "volume_basis": volume_basis}
    return dataclasses.replace(panel, meta=meta)


def hold_all(t_len: int) -> TargetWeights:
    return TargetWeights(np.ones((t_len, 1)), Rebalance.DAILY)


def test_orders_are_sized_filled_and_charged_at_raw_prices():
    # Two days at raw 37.53 (adjusted 207.5409); 100% target weight, 100,000 of cash,
    # 0.03% commission (min 5), lots of 100, no slippage: 100,000 / 1.0003 / 37.53 =
    # 2,663.8 shares -> 2,600 (at adjusted prices it would be 400 shares, as the issue saw).
    close = np.full(2, RAW * F)
    panel = adjusted(make_panel(close, codes=["SH601012"], factor=np.full(2, F)))
    config = cfg(costs__commission_rate=0.0003, costs__commission_min=5.0)
    res = Simulator(panel, hold_all(2), config).run()
    tr = res.trades
    assert len(tr) == 1
    assert tr.price[0] == pytest.approx(RAW, abs=1e-9)
    assert tr.adjusted_price[0] == pytest.approx(RAW * F, abs=1e-9)
    assert tr.quantity[0] == 2600
    assert tr.commission[0] == pytest.approx(0.0003 * 2600 * RAW)  # 29.27
    assert res.cash[0, 0] == pytest.approx(100_000 - 2600 * RAW - 0.0003 * 2600 * RAW)
    assert res.equity[0, 0] == pytest.approx(res.cash[0, 0] + 2600 * RAW)
    frame = trades_frame(tr, res.calendar, res.instruments)
    assert frame.loc[0, "price"] == pytest.approx(37.53)
    assert frame.loc[0, "adjusted_price"] == pytest.approx(207.5409)
    # The same data declared raw: sized at 207.5409, 400 shares, no adjusted column.
    raw_decl = make_panel(close, codes=["SH601012"], factor=np.full(2, F))
    res2 = Simulator(raw_decl, hold_all(2), config).run()
    assert res2.trades.quantity[0] == 400
    assert "adjusted_price" not in trades_frame(res2.trades, res2.calendar, res2.instruments)


def test_minimum_commission_applies_to_the_raw_order():
    # 1,000 of cash at raw 3.00 (adjusted 16.59): (1,000 - 5) / 3.00 = 331 -> 300 shares,
    # 900 of value, so the 5.00 minimum commission applies. At adjusted prices 1,000 / 16.59
    # is 60 shares, less than one lot: no order at all.
    close = np.full(2, 3.0 * F)
    panel = adjusted(make_panel(close, codes=["SH601012"], factor=np.full(2, F)))
    config = cfg(execution__init_cash=1000.0, costs__commission_min=5.0)
    res = Simulator(panel, hold_all(2), config).run()
    assert res.trades.quantity.tolist() == [300]
    assert res.trades.commission[0] == 5.0
    assert res.cash[0, 0] == pytest.approx(1000 - 900 - 5)
    raw_decl = make_panel(close, codes=["SH601012"], factor=np.full(2, F))
    assert len(Simulator(raw_decl, hold_all(2), config).run().trades) == 0


def test_a_split_keeps_equity_on_the_adjusted_path():
    # Day 0 buy 2,600 at raw 37.53 (factor 5.53). Day 1 a 10-for-10 bonus issue: factor
    # 11.06, raw close 18.90 (adjusted 209.034). Holdings become 5,200 shares, worth
    # 98,280.00 = 2,600 x 37.53 x 209.034 / 207.5409: the adjusted return.
    factor = np.array([F, 2 * F, 2 * F])
    raw = np.array([RAW, 18.90, 19.10])
    # Thursday, Friday, Monday: weekly rebalancing trades on the first and the last day.
    panel = adjusted(
        make_panel(raw * factor, codes=["SH601012"], factor=factor, start="2023-08-24")
    )
    config = cfg(costs__commission_rate=0.0003, costs__commission_min=5.0)
    weights = TargetWeights(np.array([[1.0], [1.0], [0.0]]), Rebalance.WEEKLY)
    res = Simulator(panel, weights, config).run()
    cash0 = 100_000 - 2600 * RAW * 1.0003
    assert res.positions[:, 0].tolist() == [2600, 5200, 0]
    assert res.equity[1, 0] == pytest.approx(cash0 + 5200 * 18.90)
    adj_value = 2600 * RAW * (18.90 * 2 * F) / (RAW * F)
    assert res.equity[1, 0] == pytest.approx(cash0 + adj_value)
    # Day 2 sells the 5,200 raw shares at 19.10 (no false limit-down on the ex-date path).
    sell = res.trades.side == -1
    assert res.trades.quantity[sell].tolist() == [5200]
    assert res.trades.price[sell][0] == pytest.approx(19.10)
    value = 5200 * 19.10
    tax = 0.0005 * value  # stamp tax 0.05% from 2023-08-28
    comm = max(0.0003 * value, 5.0)
    assert res.trades.tax[sell][0] == pytest.approx(tax)
    assert res.equity[2, 0] == pytest.approx(cash0 + value - tax - comm)


def test_price_limits_use_the_ex_rights_reference_price():
    # The raw close halves on the ex-date: the limits are 10% around 37.53 x 5.53 / 11.06
    # = 18.765 (17.13 .. 20.64 after rounding to 0.01), not around the raw 37.53.
    factor = np.array([F, 2 * F])
    raw = np.array([RAW, 18.90])
    panel = adjusted(make_panel(raw * factor, codes=["SH601012"], factor=factor))
    traded, f = traded_panel(panel)
    assert f is not None
    np.testing.assert_allclose(traded["close"][:, 0], raw)
    up, down = price_limits(traded, cfg().rules, f)
    assert up[1, 0] == pytest.approx(20.64)
    assert down[1, 0] == pytest.approx(16.89)
    # A buy at a raw limit-up close is refused: day 1 closes at 41.28 = 37.53 x 1.1 rounded.
    factor = np.array([F, F])
    panel = adjusted(make_panel(np.array([RAW, 41.28]) * F, codes=["SH601012"], factor=factor))
    weights = TargetWeights(np.array([[0.0], [1.0]]), Rebalance.DAILY)
    res = Simulator(panel, weights, cfg()).run()
    assert len(res.trades) == 0
    assert res.rejections.reason.tolist() == [RejectReason.LIMIT_UP]


@pytest.mark.parametrize(("basis", "raw_volume"), [("adjusted", 10_000 * F), ("raw", 10_000)])
def test_volume_cap_counts_raw_shares(basis, raw_volume):
    # Volume 10,000 in the data; Qlib's adjusted volume is raw / factor, so 55,300 raw
    # shares trade; a 10% cap allows 5,530 -> 5,500 shares (raw data: 1,000).
    close = np.full(2, RAW * F)
    vol = np.full(2, 10_000.0)
    panel = adjusted(make_panel(close, volume=vol, codes=["SH601012"], factor=np.full(2, F)),
                     basis)  # fmt: skip
    config = cfg(rules__volume_cap=0.1, execution__init_cash=1_000_000.0)
    res = Simulator(panel, hold_all(2), config).run()
    assert res.trades.quantity[0] == np.floor(0.1 * raw_volume / 100) * 100
    assert RejectReason.VOLUME_CAP in res.rejections.reason.tolist()


def test_missing_factor_values_take_the_previous_one():
    factor = np.array([np.nan, F, np.nan, 0.0, 2 * F])
    panel = adjusted(make_panel(np.full(5, 10.0), factor=factor))
    got = adjustment_factor(panel)
    assert got is not None
    np.testing.assert_allclose(got[:, 0], [F, F, F, F, 2 * F])
    assert adjustment_factor(make_panel(np.full(5, 10.0), factor=factor)) is None


@pytest.mark.realdata
def test_qlib_sample_trades_at_raw_prices(realdata):
    """Top-k on 12 CSI 300 names of the Qlib sample (back-adjusted prices, raw volume):
    every fill is at close / factor of its day, in lots of 100, with the minimum
    commission applied to the raw value and the 10% volume cap of raw shares."""
    root = realdata / "qlib" / "cn_data_csi300_sample"
    names = ["SH601012", "SH600519", "SH600036", "SZ000001", "SZ000002", "SH601318",
             "SH600000", "SZ000333", "SH600887", "SZ000858", "SH601166", "SH600030"]  # fmt: skip
    panel = read_qlib(root, instruments=names, start="2019-01-01", end="2021-12-31")
    assert panel.meta["price_basis"] == "adjusted"
    # This dump keeps volume in raw shares (not divided by the factor as official Qlib).
    panel = adjusted(panel, "raw")
    close = pd.DataFrame(panel["close"]).ffill()
    scores = (close / close.shift(20)).to_numpy()
    config = cfg(execution__init_cash=2_000_000.0, rules__volume_cap=0.1,
                 costs__commission_min=5.0)  # fmt: skip
    res = Simulator(panel, TopkDropout(scores, 4, 1, Rebalance.WEEKLY), config).run()
    tr = res.trades
    assert len(tr) > 50
    factor = panel["factor"][tr.day, tr.symbol]
    raw_close = panel["close"][tr.day, tr.symbol] / factor
    np.testing.assert_allclose(tr.price, raw_close, rtol=1e-9)
    np.testing.assert_allclose(tr.adjusted_price, panel["close"][tr.day, tr.symbol], rtol=1e-9)
    assert (factor > 1.5).any()  # the factor really differs from 1 here
    buys = tr.side == 1
    assert (tr.quantity[buys] % 100 == 0).all()
    assert (tr.quantity[buys] <= 0.1 * panel["volume"][tr.day, tr.symbol][buys] + 1e-6).all()
    value = tr.price * tr.quantity
    np.testing.assert_allclose(tr.commission, np.maximum(0.0003 * value, 5.0), rtol=1e-9)
    # Equity = cash + raw shares x raw closes (valuation consistent with the fills).
    value_held = res.positions_value().sum(axis=1)
    np.testing.assert_allclose(res.equity[:, 0], res.cash[:, 0] + value_held, rtol=1e-9)
