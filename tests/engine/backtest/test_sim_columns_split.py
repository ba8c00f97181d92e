"""The per-column kernel on two threads (a column half each) against one thread."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _simkit import make_panel
from test_sim_resume import assert_same

from quantlab.engine.backtest import simulator
from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.enums import PortfolioMode, PriceMode, SizingMode
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals


def scenario(n: int, price: PriceMode = PriceMode.NEXT_OPEN, seed: int = 5) -> Simulator:
    """Per-column signals under the A-share rules: lots, T+1, limits, a volume cap and a
    liquidity floor refuse orders on both sides; holes in the data, a split in column 0
    (adjusted prices), listings that start late and end early."""
    rng = np.random.default_rng(seed)
    t_len = 300
    close = np.round(10 * np.exp(np.cumsum(rng.normal(0, 0.03, (t_len, n)), axis=0)), 2)
    open_ = np.round(close * np.exp(rng.normal(0, 0.01, (t_len, n))), 2)
    volume = rng.uniform(0, 4e4, (t_len, n))
    volume[rng.random((t_len, n)) < 0.03] = 0.0
    close[rng.random((t_len, n)) < 0.02] = np.nan
    close[:20, -1] = open_[:20, -1] = np.nan  # listed late
    close[-15:, 0] = open_[-15:, 0] = np.nan  # delisted early
    factor = np.ones((t_len, n))
    factor[150:, 0] = 2.0
    codes = [f"{600000 + j:06d}.SH" if j % 3 else f"{300000 + j:06d}.SZ" for j in range(n)]
    panel = make_panel(close, open_, close, close, volume, codes=codes, start="2020-01-02",
                       factor=factor)  # fmt: skip
    panel = dataclasses.replace(panel, meta={**panel.meta, "price_basis": "adjusted"})
    entries = rng.random((t_len, n)) < 0.08
    exits = rng.random((t_len, n)) < 0.08
    config = BacktestConfig().replace(
        execution__price=price, execution__portfolio=PortfolioMode.PER_COLUMN,
        execution__init_cash=50_000.0, sizing__mode=SizingMode.FIXED_FRACTION,
        sizing__fraction=0.9, rules__volume_cap=0.05, rules__min_volume_lots=2,
    )  # fmt: skip
    return Simulator(panel, Signals(entries, exits), config)


@pytest.mark.parametrize("n", [2, 3, 31])
@pytest.mark.parametrize("price", [PriceMode.NEXT_OPEN, PriceMode.CLOSE])
def test_two_halves_equal_one_thread(monkeypatch: pytest.MonkeyPatch, n: int, price: PriceMode):
    sim = scenario(n, price)
    monkeypatch.setattr(simulator, "SPLIT_CELLS", 10**12)
    alone = sim.run(chunk_days=10_000)
    monkeypatch.setattr(simulator, "SPLIT_CELLS", 0)
    halves = sim.run(chunk_days=10_000)
    assert len(alone.trades) > 20 and len(alone.rejections) > 20
    assert set(np.unique(alone.rejections.side)) == {-1, 1}  # refusals in both passes
    assert_same(halves, alone)


def test_halves_chunk_by_chunk_equal_one_run(monkeypatch: pytest.MonkeyPatch):
    """Every chunk split (records appended after earlier chunks' and grown on the way)."""
    sim = scenario(31)
    monkeypatch.setattr(simulator, "SPLIT_CELLS", 10**12)
    alone = sim.run(chunk_days=10_000)
    monkeypatch.setattr(simulator, "SPLIT_CELLS", 0)
    state = sim.initial_state()
    while not state.done:
        sim.run_chunk(state, 37)
    assert_same(sim.result(state), alone)
