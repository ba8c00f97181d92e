"""Chunked runs, pause/resume through bytes, progress and cancellation."""

from __future__ import annotations

import io

import numpy as np
from _simkit import make_panel

from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.enums import Rebalance, StopMode
from quantlab.engine.backtest.simulator import Progress, Simulator
from quantlab.engine.backtest.state import SimState
from quantlab.engine.backtest.strategies import TopkDropout


def scenario(seed=3, t_len=260, n=30):
    rng = np.random.default_rng(seed)
    close = np.round(10 * np.exp(np.cumsum(rng.normal(0, 0.03, (t_len, n)), axis=0)), 2)
    open_ = np.round(close * np.exp(rng.normal(0, 0.01, (t_len, n))), 2)
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    volume = rng.uniform(0, 3e5, (t_len, n))
    volume[rng.random((t_len, n)) < 0.03] = 0.0  # some suspensions
    codes = [f"{600000 + j:06d}.SH" if j % 3 else f"{300000 + j:06d}.SZ" for j in range(n)]
    panel = make_panel(close, open_, high, low, volume, codes=codes, start="2020-01-02")
    strategy = TopkDropout(rng.normal(size=(t_len, n)), topk=8, n_drop=2,
                           rebalance=Rebalance.WEEKLY)  # fmt: skip
    config = BacktestConfig().replace(
        execution__stop_loss=StopMode.TRAILING, execution__stop_loss_value=0.08,
        rules__volume_cap=0.05, rules__min_volume_lots=5,
    )  # fmt: skip
    return Simulator(panel, strategy, config)


def assert_same(a, b):
    for name in ("equity", "cash", "positions"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for part in ("trades", "rejections"):
        for key, value in vars(getattr(a, part)).items():
            np.testing.assert_array_equal(value, getattr(getattr(b, part), key))


def test_resume_from_bytes_is_bit_identical():
    sim = scenario()
    straight = sim.run(chunk_days=10_000)
    assert len(straight.trades) > 50 and len(straight.rejections) > 0
    state = sim.initial_state()
    while not state.done:
        state = sim.run_chunk(state, 37)
        state = SimState.from_bytes(state.to_bytes())  # as if another process picked it up
    assert_same(sim.result(state), straight)


def test_progress_and_cancel():
    sim = scenario()
    seen: list[Progress] = []
    res = sim.run(chunk_days=50, on_progress=seen.append, should_stop=lambda: bool(len(seen) >= 2))
    assert res.incomplete and res.days_run == 100
    assert [p.day_index for p in seen] == [50, 100]
    assert seen[1].date == sim.panel.calendar[99]
    assert np.isnan(res.equity[100:]).all() and np.isfinite(res.equity[:100]).all()
    streamed = [int(p.trades.symbol.size) for p in seen]
    assert int(np.sum(streamed)) == len(res.trades)
    full = sim.run()
    assert not full.incomplete
    np.testing.assert_array_equal(full.equity[:100], res.equity[:100])


def test_invariants_cash_and_equity():
    res = scenario(seed=11).run()
    assert (res.cash >= 0).all()
    value = res.positions_value().sum(axis=1)
    np.testing.assert_allclose(res.equity[:, 0], res.cash[:, 0] + value, rtol=1e-12)
    buys = res.trades.side == 1
    assert (res.trades.quantity[buys] % 100 == 0).all()
    w = res.positions_weight()
    assert (w >= 0).all() and (w.sum(axis=1) <= 1 + 1e-9).all()


def test_a_lean_run_sums_the_days_and_replays_the_arrays_bit_identically():
    # shared cash, top-k, trailing stops: the general kernel; resumed through bytes and
    # stopped part-way, as a lean state may be
    sim = scenario(seed=5)
    full = sim.run(chunk_days=10_000)
    state = sim.initial_state(lean=True)
    assert state.lean and state.positions.shape == (0, 30) and state.n_days == 260
    while state.t < 150:
        state = SimState.from_bytes(sim.run_chunk(state, 41).to_bytes())
    part = sim.result(state)
    assert part.incomplete and part.days_run == 164 and not part.daily.held
    n = part.days_run
    np.testing.assert_array_equal(part.total_equity[:n], full.total_equity[:n])
    np.testing.assert_array_equal(part.total_cash[:n], full.total_cash[:n])
    np.testing.assert_array_equal(part.weight_sums(n), full.weight_sums(n))
    assert np.isnan(part.total_equity[n:]).all()
    # read anyway, the arrays are simulated again over the days run
    np.testing.assert_array_equal(part.equity[:n], full.equity[:n])
    np.testing.assert_array_equal(part.positions[:n], full.positions[:n])
    assert np.isnan(part.equity[n:]).all() and part.daily.held
    sim.run_chunk(state, 10_000)
    assert_same(sim.result(state), full)


def test_a_checkpoint_from_before_lean_states_resumes():
    sim = scenario()
    state = sim.run_chunk(sim.initial_state(), 50)
    blob = io.BytesIO()
    old = {k: v for k, v in np.load(io.BytesIO(state.to_bytes())).items()
           if k not in ("sums", "prev_w")}  # fmt: skip
    np.savez(blob, **old)
    resumed = SimState.from_bytes(blob.getvalue())
    assert not resumed.lean and resumed.n_days == 260
    sim.run_chunk(resumed, 10_000)
    assert_same(sim.result(resumed), sim.run())
