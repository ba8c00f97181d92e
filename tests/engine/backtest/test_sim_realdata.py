"""Smoke runs on real A-share and US data with invariants that must always hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.backtest.config import BacktestConfig, us_equity
from quantlab.engine.backtest.enums import PortfolioMode, Rebalance, RejectReason, StopMode
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals, TopkDropout
from quantlab.engine.data import Panel

pytestmark = pytest.mark.realdata

CN = ["000001.SZ", "000002.SZ", "300059.SZ", "600036.SH", "600519.SH", "601318.SH"]
US = ["AAPL", "MSFT", "XOM", "JPM", "DHR"]


def panel_from_long(df: pd.DataFrame, date: str, code: str, fields: dict[str, str]) -> Panel:
    wide = {k: df.pivot(index=date, columns=code, values=v).sort_index() for k, v in fields.items()}
    first = next(iter(wide.values()))
    return Panel.from_arrays(first.index.values, list(first.columns),
                             {k: w.values for k, w in wide.items()})  # fmt: skip


def check_invariants(res, lot: float) -> None:
    assert (res.cash >= -1e-9).all()
    value = res.positions_value()
    groups = res.equity.shape[1]
    total = value.sum(axis=1) if groups == 1 else value
    np.testing.assert_allclose(res.equity, res.cash + (total[:, None] if groups == 1 else total),
                               rtol=1e-9)  # fmt: skip
    buys = res.trades.side == 1
    assert (res.trades.quantity[buys] % lot == 0).all()
    # No fill on a day without a price for that instrument.
    assert np.isfinite(res.close[res.trades.day, res.trades.symbol]).all()


def test_cn_topk_with_all_rules(realdata):
    frames = [pd.read_csv(realdata / "cn/qbot_tushare_qfq_2010_2020" / f"{c}.csv") for c in CN]
    df = pd.concat(frames)
    df["vol"] *= 100  # lots → shares
    ohlcv = {k: k for k in ("open", "high", "low", "close")} | {"volume": "vol"}
    panel = panel_from_long(df, "trade_date", "ts_code", ohlcv)
    close = pd.DataFrame(panel["close"]).ffill()
    scores = (close / close.shift(20)).values
    config = BacktestConfig().replace(execution__stop_loss=StopMode.TRAILING,
                                      execution__stop_loss_value=0.15)  # fmt: skip
    res = Simulator(panel, TopkDropout(scores, 3, 1, Rebalance.WEEKLY), config).run()
    check_invariants(res, 100)
    assert len(res.trades) > 100
    assert np.isfinite(res.equity).all() and res.equity[-1, 0] > 0
    assert RejectReason.SUSPENDED in set(res.rejections.reason.tolist())


@pytest.mark.parametrize("mode", [PortfolioMode.SHARED, PortfolioMode.PER_COLUMN])
def test_us_dual_ma(realdata, mode):
    frames = [pd.read_csv(realdata / "us/sp500_5yr" / f"{c}_data.csv") for c in US]
    ohlcv = {k: k for k in ("open", "high", "low", "close", "volume")}
    panel = panel_from_long(pd.concat(frames), "date", "Name", ohlcv)
    close = pd.DataFrame(panel["close"])
    above = (close.rolling(10).mean() > close.rolling(30).mean()).values
    prev = np.vstack([np.zeros((1, above.shape[1]), bool), above[:-1]])
    config = us_equity().replace(execution__portfolio=mode, sizing__max_holdings=3)
    if mode == PortfolioMode.PER_COLUMN:
        config = config.replace(sizing__max_holdings=0)
    res = Simulator(panel, Signals(above & ~prev, ~above & prev), config).run()
    check_invariants(res, 1)
    assert len(res.trades) > 20
    if mode == PortfolioMode.SHARED:
        assert res.positions.astype(bool).sum(axis=1).max() <= 3
