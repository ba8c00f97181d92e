"""A batch's variants share one simulator's data and market-rule arrays; the one-pass
weights and carried-forward closes equal their definitions; nothing changes a number."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests.backtests.conftest import dual_ma
from tests.engine.backtest._simkit import make_panel
from tests.engine.backtest.test_run import _panel_from_frame

from quantlab import engine
from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.result import ffill_nb, weights_nb
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals
from quantlab.engine.spec import RunSpec, apply_variant


def _spec() -> RunSpec:
    body = dual_ma("d")
    body["parameters"] = {"fast": 5, "slow": 20}
    body["strategy"] = {
        **body["strategy"],
        "entry": "Cross(Mean($close, {fast}), Mean($close, {slow}))",
        "exit": "CrossDown(Mean($close, {fast}), Mean($close, {slow}))",
    }
    return RunSpec.model_validate(body)


def test_variants_that_change_costs_universe_or_capital_equal_single_runs() -> None:
    panel = _panel_from_frame()
    spec = _spec()
    names = [str(s) for s in panel.instruments if str(s) != "IDX"]
    variants = [
        {},
        {"fast": 8},
        {"/costs/commission_rate": 0.002},  # another configuration: its own market arrays
        {"/universe": names[2:8]},  # another traded panel
        {"/initial_capital": 500_000, "slow": 30},
        {"fast": 3},  # back on the first simulator's arrays
    ]
    batch = list(engine.run_batch(spec, variants, panel, diagnostics=True))
    for variant, got in zip(variants, batch, strict=True):
        single = engine.run(apply_variant(spec, variant), panel)
        assert got.metrics == single.metrics
        assert got.diagnostics == single.diagnostics
        np.testing.assert_array_equal(got.equity, single.equity)
        np.testing.assert_array_equal(got.positions, single.positions)
        pd.testing.assert_frame_equal(got.series, single.series)
    assert batch[2].metrics != batch[0].metrics
    assert batch[3].simulation.instruments.tolist() == names[2:8]


def test_a_simulator_takes_the_market_arrays_only_of_the_same_data_and_rules() -> None:
    close = np.array([[10.0, 20.0], [10.5, np.nan], [11.0, 19.0], [10.0, 21.0], [9.5, 22.0]])
    panel = make_panel(close, codes=("600000.SH", "000001.SZ"))
    entries = np.array([[1, 0], [0, 1], [0, 0], [0, 0], [0, 0]], dtype=bool)
    exits = np.array([[0, 0], [0, 0], [1, 0], [0, 0], [0, 1]], dtype=bool)
    config = BacktestConfig()
    first = Simulator(panel, Signals(entries, exits), config)
    second = Simulator(panel, Signals(exits, entries), config, market=first)
    assert second.close is first.close and second.mkt is first.mkt and second.panel is first.panel
    alone = Simulator(panel, Signals(exits, entries), config)
    got, want = second.run(), alone.run()
    np.testing.assert_array_equal(got.equity, want.equity)
    np.testing.assert_array_equal(got.positions, want.positions)
    other = config.replace(rules__price_limits=False)
    third = Simulator(panel, Signals(entries, exits), other, market=first)
    assert third.mkt is not first.mkt  # another configuration builds its own
    copy = make_panel(close, codes=("600000.SH", "000001.SZ"))
    assert Simulator(copy, Signals(entries, exits), config, market=first).close is not first.close


def test_carried_forward_closes_and_weights_by_hand() -> None:
    close = np.array([[np.nan, 2.0], [4.0, np.nan], [np.nan, np.nan], [5.0, 3.0]])
    marks = ffill_nb(close)
    np.testing.assert_array_equal(
        marks, np.array([[np.nan, 2.0], [4.0, 2.0], [4.0, 2.0], [5.0, 3.0]])
    )
    np.testing.assert_array_equal(marks, pd.DataFrame(close).ffill().to_numpy())
    positions = np.array([[0.0, 10.0], [3.0, 10.0], [3.0, 0.0], [2.0, 5.0]])
    shared = np.array([[100.0], [0.0], [np.nan], [40.0]])  # one portfolio: total equity
    # day 0: 0 × NaN → 0 and 10 × 2 / 100; day 1: equity 0 → 0; day 2: unknown → 0
    want = np.array([[0.0, 0.2], [0.0, 0.0], [0.0, 0.0], [0.25, 0.375]])
    np.testing.assert_array_equal(weights_nb(positions, marks, shared), want)
    per_column = np.array([[50.0, 40.0], [12.0, 20.0], [24.0, 8.0], [10.0, 30.0]])
    want = np.array([[0.0, 0.5], [1.0, 1.0], [0.5, 0.0], [1.0, 0.5]])
    np.testing.assert_array_equal(weights_nb(positions, marks, per_column), want)
