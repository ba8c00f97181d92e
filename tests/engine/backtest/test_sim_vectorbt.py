"""Dual moving-average crossover with rules off: our engines against vectorbt's from_signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _simkit import make_panel

from quantlab.engine.backtest.config import rules_off
from quantlab.engine.backtest.crossover import ma_crossover, ma_crossover_grid
from quantlab.engine.backtest.enums import PortfolioMode
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals

FEES = 0.001


def prices(t_len=600, n=4, seed=7):
    rng = np.random.default_rng(seed)
    return 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (t_len, n)), axis=0))


def test_crossover_by_hand():
    # SMA(1) vs SMA(2): the price itself against the mean of the last two prices.
    close = np.array([10.0, 9.0, 10.0, 12.0, 11.0, 10.0, 12.0])
    # day 1: 9 < 9.5 (below); day 2: 10 > 9.5 → buy 100/10 = 10 shares;
    # day 4: 11 < 11.5 → sell 10 × 11 = 110; day 6: 12 > 11 → buy 110/12 shares.
    res = ma_crossover(close, 1, 2, init_cash=100.0)
    assert res.equity is not None
    assert res.orders.tolist() == [3]
    assert res.final_value[0] == pytest.approx(110.0)
    assert res.equity[:, 0].tolist() == pytest.approx([100, 100, 100, 120, 110, 110, 110])
    assert res.max_drawdown[0] == pytest.approx(1 - 110 / 120)


def _vbt_run(close, fast, slow):
    vbt = pytest.importorskip("vectorbt")
    df = pd.DataFrame(close)
    f, s = vbt.MA.run(df, fast), vbt.MA.run(df, slow)
    entries, exits = f.ma_crossed_above(s), f.ma_crossed_below(s)
    pf = vbt.Portfolio.from_signals(df, entries, exits, fees=FEES, init_cash=100.0)
    return entries.values, exits.values, pf


def test_fused_kernel_matches_vectorbt():
    close = prices()
    _, _, pf = _vbt_run(close, 10, 30)
    ours = ma_crossover(close, 10, 30, init_cash=100.0, fees=FEES)
    assert ours.equity is not None
    np.testing.assert_allclose(ours.final_value, pf.final_value().values, rtol=1e-12)
    np.testing.assert_array_equal(ours.orders, pf.orders.count().values)
    np.testing.assert_allclose(ours.equity, pf.value().values, rtol=1e-12)
    grid = ma_crossover_grid(close, [5, 10], [20, 30], init_cash=100.0, fees=FEES)
    k = int(np.flatnonzero((grid.fast == 10) & (grid.slow == 30))[0])
    np.testing.assert_array_equal(grid.final_value[k], ours.final_value)


@pytest.mark.parametrize("mode", [PortfolioMode.PER_COLUMN, PortfolioMode.SHARED])
def test_simulator_matches_vectorbt_trades(mode):
    close = prices()
    n_cols = close.shape[1] if mode == PortfolioMode.PER_COLUMN else 1
    close = close[:, :n_cols]
    entries, exits, pf = _vbt_run(close, 10, 30)
    config = rules_off().replace(
        costs__commission_rate=FEES, execution__init_cash=100.0, execution__portfolio=mode
    )
    codes = [f"S{j}" for j in range(n_cols)]
    res = Simulator(make_panel(close, codes=codes), Signals(entries, exits), config).run()
    rec = pf.orders.records
    order = np.lexsort((rec["idx"].values, rec["col"].values))
    ours = np.lexsort((res.trades.day, res.trades.symbol))
    np.testing.assert_array_equal(res.trades.symbol[ours], rec["col"].values[order])
    np.testing.assert_array_equal(res.trades.day[ours], rec["idx"].values[order])
    sides = np.where(rec["side"].values[order] == 0, 1, -1)
    np.testing.assert_array_equal(res.trades.side[ours], sides)
    np.testing.assert_allclose(res.trades.quantity[ours], rec["size"].values[order], rtol=1e-9)
    np.testing.assert_allclose(res.trades.commission[ours], rec["fees"].values[order], rtol=1e-9)
    np.testing.assert_allclose(res.equity[-1], pf.final_value().values, rtol=1e-9)
