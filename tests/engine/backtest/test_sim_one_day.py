"""One-day runs on adjusted data: the kernel once took a one-day panel's ``(1, N)``
adjustment factor for its "raw data" stand-in and dropped it, so the trades' adjusted
prices came out raw. SH601012's factor 5.53 (raw close 37.53, adjusted 207.5409), by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _simkit import cfg, make_panel

from quantlab.engine.backtest.enums import Rebalance
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import TargetWeights

F = 5.53
RAW = 37.53
ADJ = 207.5409  # RAW x F


@pytest.mark.parametrize(("n_days", "n"), [(1, 1), (1, 2), (2, 1)])
def test_one_day_run_on_adjusted_prices_keeps_the_factor(n_days, n):
    # Equal target weights of 100,000 at raw 37.53, 0.03% commission (min 5), lots of 100:
    # one name: 100,000 / 1.0003 / 37.53 = 2,663.8 -> 2,600 shares;
    # two names: 50,000 / 1.0003 / 37.53 = 1,331.9 -> 1,300 shares each.
    codes = ["SH601012", "SH600000"][:n]
    panel = make_panel(np.full((n_days, n), ADJ), codes=codes, factor=np.full((n_days, n), F))
    meta = {**panel.meta, "price_basis": "adjusted", "volume_basis": "adjusted"}
    panel = dataclasses.replace(panel, meta=meta)
    weights = TargetWeights(np.full((n_days, n), 1.0 / n), Rebalance.DAILY)
    config = cfg(costs__commission_rate=0.0003, costs__commission_min=5.0)
    res = Simulator(panel, weights, config).run()
    tr = res.trades
    shares = 2600 if n == 1 else 1300
    assert len(tr) == n
    np.testing.assert_allclose(tr.price, RAW, rtol=1e-12)  # traded: adjusted / factor
    np.testing.assert_allclose(tr.adjusted_price, ADJ, rtol=1e-12)  # was 37.53 on one day
    np.testing.assert_array_equal(tr.quantity, shares)  # raw shares, whole lots
    cost = n * shares * RAW * 1.0003
    np.testing.assert_allclose(res.cash[:, 0], 100_000 - cost, rtol=1e-12)
    np.testing.assert_allclose(res.equity[:, 0], 100_000 - n * shares * RAW * 0.0003,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(res.adjusted_close, ADJ, rtol=1e-12)
