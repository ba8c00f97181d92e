"""Configuration tree, presets and the market-rule arrays derived from a panel."""

from __future__ import annotations

import numpy as np
import pytest
from _simkit import make_panel

from quantlab.engine.backtest.config import PRESETS, BacktestConfig, us_equity
from quantlab.engine.backtest.enums import PriceMode, Rebalance
from quantlab.engine.backtest.market import limit_pct, price_limits, stamp_tax_by_day
from quantlab.engine.backtest.strategies import rebalance_mask


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name):
    config = PRESETS[name]()
    assert BacktestConfig.from_json(config.to_json()) == config


def test_defaults_are_the_a_share_preset_and_unknown_fields_fail():
    c = BacktestConfig()
    assert c.rules.t_plus_1 and c.rules.lot_size == 100 and c.costs.commission_rate == 0.0003
    assert c.costs.commission_min == 5.0
    assert not us_equity().rules.t_plus_1 and us_equity().costs.stamp_tax == ()
    changed = c.replace(execution__price=PriceMode.CLOSE, rules__lot_size=1.0)
    assert changed.execution.price == PriceMode.CLOSE and changed.rules.lot_size == 1.0
    assert BacktestConfig.from_dict({"rules": {"t_plus_1": False}}).rules.t_plus_1 is False
    with pytest.raises(ValueError, match="unknown"):
        BacktestConfig.from_dict({"rules": {"t_plus_2": True}})


def test_stamp_tax_schedule_by_day():
    cal = np.array(["2023-08-25", "2023-08-28", "2023-08-29"], dtype="datetime64[D]")
    assert stamp_tax_by_day(cal, BacktestConfig().costs.stamp_tax).tolist() == [
        0.001, 0.0005, 0.0005,
    ]  # fmt: skip
    assert stamp_tax_by_day(cal, (("2023-08-29", 0.002),)).tolist() == [0.0, 0.0, 0.002]


def test_limit_percent_by_board_and_rounding():
    codes = ("600000.SH", "300750.SZ", "688981.SH", "000001.SZ")
    close = np.array([[10.03, 10.03, 10.03, 10.03]] * 2)
    panel = make_panel(close, codes=codes, start="2020-08-21", is_st=[[0, 0, 0, 1]] * 2)
    pct = limit_pct(panel, BacktestConfig().rules)
    # 2020-08-21 (Fri) before the ChiNext reform, 2020-08-24 (Mon) after it.
    assert pct[0].tolist() == [0.10, 0.10, 0.20, 0.05]
    assert pct[1].tolist() == [0.10, 0.20, 0.20, 0.05]
    up, down = price_limits(panel, BacktestConfig().rules)
    assert up[1].tolist() == [11.03, 12.04, 12.04, 10.53]  # 10.03 × 1.1 = 11.033 → 11.03
    assert down[1].tolist() == [9.03, 8.02, 8.02, 9.53]
    assert np.isinf(up[0]).all()


def test_rebalance_masks():
    cal = np.arange(np.datetime64("2024-01-29"), np.datetime64("2024-02-13"))
    cal = cal[np.is_busday(cal)]
    weekly = cal[rebalance_mask(cal, Rebalance.WEEKLY)].astype(str).tolist()
    assert weekly == ["2024-01-29", "2024-02-05", "2024-02-12"]
    monthly = cal[rebalance_mask(cal, Rebalance.MONTHLY)].astype(str).tolist()
    assert monthly == ["2024-01-29", "2024-02-01"]
