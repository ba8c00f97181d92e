"""Each market rule on a hand-built scenario, with the expected numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from _simkit import cfg, flags, make_panel

from quantlab.engine.backtest.config import us_equity
from quantlab.engine.backtest.enums import (
    PriceMode,
    RejectReason,
    SizingMode,
    SlippageMode,
    StopMode,
)
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals


def run(panel, entries, exits=None, config=None):
    exits = np.zeros_like(entries) if exits is None else exits
    return Simulator(panel, Signals(entries, exits), config or cfg()).run()


def reasons(res):
    return [RejectReason(int(r)) for r in res.rejections.reason]


def test_lot_rounding_leaves_the_remainder_in_cash():
    # 100,000 / (33 × 1.0003) = 3029.4 shares → 30 lots; commission 0.03% × 99,000 = 29.70.
    res = run(make_panel([33.0, 33.0]), flags(2, [0]))
    assert res.trades.quantity.tolist() == [3000.0]
    assert res.trades.commission[0] == pytest.approx(29.70)
    assert res.cash[0, 0] == pytest.approx(100_000 - 99_000 - 29.70)
    assert res.equity[1, 0] == pytest.approx(res.cash[1, 0] + 3000 * 33.0)


def test_less_than_one_lot_is_rejected_with_lot_size():
    res = run(make_panel([33.0, 33.0]), flags(2, [0]), config=cfg(execution__init_cash=2_000.0))
    assert len(res.trades) == 0
    assert reasons(res) == [RejectReason.LOT_SIZE]
    assert res.rejections.quantity[0] == pytest.approx(2_000 / (33 * 1.0003))


def test_minimum_commission_applies_to_small_orders():
    # 100 shares × 10 = 1,000; 0.03% = 0.30 < 5 → 5 CNY.
    config = cfg(sizing__mode=SizingMode.FIXED_AMOUNT, sizing__amount=1_010.0)
    res = run(make_panel([10.0, 10.0]), flags(2, [0]), config=config)
    assert res.trades.quantity.tolist() == [100.0]
    assert res.trades.commission.tolist() == [5.0]
    assert res.cash[0, 0] == pytest.approx(100_000 - 1_005.0)


def test_stamp_tax_halves_on_2023_08_28():
    # Buy two names on Wed 2023-08-23; sell one on Fri 08-25 (0.1%), the other Mon 08-28 (0.05%).
    days = 6  # 08-21 .. 08-28
    close = np.full((days, 2), 10.0)
    entries = flags(days, [2], n=2, col=0) | flags(days, [2], n=2, col=1)
    exits = flags(days, [4], n=2, col=0) | flags(days, [5], n=2, col=1)
    config = cfg(sizing__mode=SizingMode.FIXED_AMOUNT, sizing__amount=20_000.0)
    res = run(make_panel(close, codes=("600000.SH", "600004.SH")), entries, exits, config=config)
    sells = res.trades.side == -1
    assert res.calendar[res.trades.day[sells]].astype(str).tolist() == ["2023-08-25", "2023-08-28"]
    value = res.trades.quantity[sells] * 10.0
    assert value.tolist() == [19_000.0, 19_000.0]  # 20,000 / 10.003 → 1,999 shares → 19 lots
    assert res.trades.tax[sells] == pytest.approx([19.0, 9.5])


def test_t_plus_1_refuses_a_same_day_stop_exit_of_shares_bought_at_the_open():
    # Decide on day 0, buy at day 1's open (10.00); day 1's low 9.00 hits the 5% stop (9.50).
    panel = make_panel(
        close=[10.0, 9.6, 9.6], open_=[10.0, 10.0, 9.6], high=[10.0, 10.0, 9.7],
        low=[10.0, 9.0, 9.5],
    )  # fmt: skip
    stops = {"execution__price": PriceMode.NEXT_OPEN, "execution__stop_loss": StopMode.PERCENT,
             "execution__stop_loss_value": 0.05}  # fmt: skip
    res = run(panel, flags(3, [0]), config=cfg(**stops))
    assert reasons(res) == [RejectReason.T_PLUS_1]
    assert res.rejections.day.tolist() == [1]
    # Next day the stop level is still touched (low 9.50), so it exits at 9.50.
    assert res.trades.side.tolist() == [1, -1]
    assert res.trades.day.tolist() == [1, 2]
    assert res.trades.price[1] == pytest.approx(9.5)
    # Without T+1 (US preset) the same bar's stop fills on the entry day.
    us = run(panel, flags(3, [0]), config=cfg(us_equity(), **stops))
    assert us.trades.day.tolist() == [1, 1]
    assert us.trades.price[1] == pytest.approx(9.5)
    assert len(us.rejections) == 0


def test_limit_up_open_blocks_the_buy():
    # Previous close 10.00 → up limit 11.00; day 1 opens at 11.00 limit-up.
    panel = make_panel(close=[10.0, 11.0, 11.5], open_=[10.0, 11.0, 11.2])
    res = run(panel, flags(3, [0]), config=cfg(execution__price=PriceMode.NEXT_OPEN))
    assert len(res.trades) == 0
    assert reasons(res) == [RejectReason.LIMIT_UP]
    # ChiNext after the 2020-08-24 reform has a 20% limit: 11.00 is tradable there.
    chinext = make_panel(close=[10.0, 11.0, 11.5], open_=[10.0, 11.0, 11.2], codes=("300750.SZ",))
    res = run(chinext, flags(3, [0]), config=cfg(execution__price=PriceMode.NEXT_OPEN))
    assert res.trades.price.tolist() == [11.0]


def test_limit_down_blocks_the_sell_and_flags_or_fields_override():
    panel = make_panel(close=[10.0, 10.0, 9.0, 9.5])
    res = run(panel, flags(4, [0]), flags(4, [2]))
    assert reasons(res) == [RejectReason.LIMIT_DOWN]
    assert res.positions[-1, 0] > 0
    # ST stock: 5% limit, so 9.50 on day 3 is limit-down too.
    st = make_panel(close=[10.0, 10.0, 9.5, 9.5], is_st=[1, 1, 1, 1])
    res = run(st, flags(4, [0]), flags(4, [2]), config=cfg(rules__exclude_st=False))
    assert reasons(res) == [RejectReason.LIMIT_DOWN]
    # A limit_up flag blocks buys whatever the price.
    flagged = make_panel(close=[10.0, 10.0], limit_up=[1, 0])
    assert reasons(run(flagged, flags(2, [0]))) == [RejectReason.LIMIT_UP]


def test_suspension_blocks_trades_on_zero_volume_and_missing_days():
    panel = make_panel(close=[10.0, 10.0, np.nan, 10.0], volume=[1e6, 0.0, np.nan, 1e6])
    res = run(panel, flags(4, [1, 2]))
    assert reasons(res) == [RejectReason.SUSPENDED, RejectReason.SUSPENDED]
    # Entries on both suspended days are refused; nothing is bought.
    assert len(res.trades) == 0
    assert np.isfinite(res.equity).all()


def test_liquidity_floor_and_volume_cap():
    thin = make_panel([10.0, 10.0], volume=[500.0, 500.0])
    res = run(thin, flags(2, [0]), config=cfg(rules__min_volume_lots=10))
    assert reasons(res) == [RejectReason.LOW_LIQUIDITY]
    # 10% of 2,000 shares = 200 shares filled; the rest of the ~9,997 wanted is refused.
    capped = make_panel([10.0, 10.0], volume=[2_000.0, 2_000.0])
    res = run(capped, flags(2, [0]), config=cfg(rules__volume_cap=0.1))
    assert res.trades.quantity.tolist() == [200.0]
    assert reasons(res) == [RejectReason.VOLUME_CAP]
    assert res.rejections.quantity[0] == pytest.approx(100_000 / (10 * 1.0003) - 200)


def test_st_and_new_listing_exclusions():
    panel = make_panel(np.full((2, 2), 10.0), codes=("600000.SH", "600004.SH"),
                       is_st=[[1, 0], [1, 0]], is_new=[[0, 1], [0, 1]])  # fmt: skip
    entries = np.zeros((2, 2), dtype=bool)
    entries[0] = True
    res = run(panel, entries)
    assert sorted(reasons(res)) == [RejectReason.EXCLUDED_ST, RejectReason.EXCLUDED_NEW]


def test_slippage_modes():
    base = {"costs__commission_rate": 0.0, "costs__commission_min": 0.0,
            "sizing__mode": SizingMode.FIXED_AMOUNT, "sizing__amount": 10_100.0}  # fmt: skip
    ratio = cfg(costs__slippage=SlippageMode.RATIO, costs__slippage_value=0.01, **base)
    res = run(make_panel([10.0, 10.0]), flags(2, [0]), config=ratio)
    assert res.trades.price[0] == pytest.approx(10.1)
    assert res.trades.slippage[0] == pytest.approx(0.1 * 1000)
    ticks = cfg(costs__slippage=SlippageMode.TICKS, costs__slippage_value=2, **base)
    res = run(make_panel([10.0, 10.0]), flags(2, [0]), config=ticks)
    assert res.trades.price[0] == pytest.approx(10.02)


def test_trailing_stop_follows_the_highest_high():
    # Entry at the close of day 0 (10.00). Day 1 high 12 lifts the 10% trail to 10.80;
    # day 2 opens 11.50 and trades down to 10.70, so the stop fills at 10.80.
    panel = make_panel(close=[10.0, 11.8, 10.9, 11.0], open_=[10.0, 10.5, 11.5, 11.0],
                       high=[10.0, 12.0, 11.6, 11.0], low=[10.0, 10.2, 10.7, 11.0])  # fmt: skip
    trail = {"execution__stop_loss": StopMode.TRAILING, "execution__stop_loss_value": 0.1}
    config = cfg(us_equity(), **trail)
    res = run(panel, flags(4, [0]), config=config)
    assert res.trades.side.tolist() == [1, -1]
    assert res.trades.day.tolist() == [0, 2]
    assert res.trades.price[1] == pytest.approx(10.8)
    assert res.trades.holding_days[1] == 2
    # A gap below the level fills at the open instead.
    gap = make_panel(close=[10.0, 11.8, 10.0], open_=[10.0, 10.5, 10.1],
                     high=[10.0, 12.0, 10.2], low=[10.0, 10.2, 9.9])  # fmt: skip
    res = run(gap, flags(3, [0]), config=config)
    assert res.trades.price[1] == pytest.approx(10.1)


def test_take_profit_and_atr_stop():
    panel = make_panel(close=[10.0, 10.5, 11.0], high=[10.0, 10.6, 11.5], low=[10.0, 10.4, 10.8])
    tp = cfg(us_equity(), execution__take_profit=StopMode.PERCENT, execution__take_profit_value=0.1)
    res = run(panel, flags(3, [0]), config=tp)
    assert res.trades.price[-1] == pytest.approx(11.0)  # 10 × 1.1 reached on day 2's high
    # ATR(1) known at day 1's entry is day 0's true range, high − low = 0.20.
    bars = make_panel(close=[10.0, 10.5, 10.2, 10.0], open_=[10.0, 10.5, 10.2, 10.2],
                      high=[10.1, 10.6, 10.3, 10.3], low=[9.9, 10.4, 10.15, 9.9])  # fmt: skip
    atr = cfg(us_equity(), execution__stop_loss=StopMode.ATR, execution__stop_loss_value=2.0,
              execution__atr_window=1)  # fmt: skip
    res = run(bars, flags(4, [1]), config=atr)
    # Entry at day 1's close 10.50 → stop 10.50 − 2 × 0.20 = 10.10; day 3's low 9.90 hits it.
    assert res.trades.day.tolist() == [1, 3]
    assert res.trades.price[1] == pytest.approx(10.1)


def test_cash_from_sales_is_usable_the_same_day():
    close = np.full((3, 2), 10.0)
    entries = flags(3, [0], n=2, col=0) | flags(3, [1], n=2, col=1)
    exits = flags(3, [1], n=2, col=0)
    res = run(make_panel(close, codes=("600000.SH", "600004.SH")), entries, exits)
    buys = res.trades.side == 1
    assert res.trades.symbol[buys].tolist() == [0, 1]
    assert res.trades.quantity[buys][1] > 9_000  # funded by day 1's sale of the first name
