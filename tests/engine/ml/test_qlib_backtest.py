"""The top-k backtest of predictions against Qlib's ``backtest_daily`` on the real CSI 300
sample, with Qlib's limit and suspension rules aligned to quantlab's.

Qlib's ``limit_threshold=0.095`` reads the data's ``$change`` field, which this sample
stores in percent (0.62 for a 0.62% move): a rise of 0.095% already counts as limit-up, so
Qlib as configured in its workflow blocks most trades here (``benchmarks/models_backtest.py``
shows the effect: 0.26% of costs a year against 4.8%, 7.8% annualised excess return with
cost against 13.2%). Qlib also takes a stock for suspended only when its close is NaN; the
sample keeps a suspended stock's close with zero volume, and Qlib trades it at that stale
price. And Qlib's TopkDropout forbids by default every trade of a stock at either limit
(``forbid_all_trade_at_limit``), so it does not buy a stock at its down limit. quantlab
computes limits from the closes, trades nothing on a day without volume and blocks only
the side that cannot fill (buys at the up limit, sells at the down limit). With those
rules given to Qlib (limit expressions, ``forbid_all_trade_at_limit=False``), it holds the
same names every day and its daily returns, costs and risk analysis agree with ours.

The scores have no ties: the two order tied scores differently (pandas' unstable sort
against instrument order), so with ties their holdings drift apart, which says nothing
about the rules. A LightGBM model of few rounds predicts many equal values, and quantlab
reads a score field in float32 (the expression engine's precision), which ties float64
predictions closer than about 1e-7 relative that Qlib still orders.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.ml import backtest_predictions, risk_analysis
from quantlab.engine.ml.backtest import SCORE_FIELD, prediction_spec, with_scores
from quantlab.engine.ml.universe import membership_mask
from quantlab.engine.runner import run

pytestmark = pytest.mark.realdata

#: Qlib ``limit_threshold`` expressions (buy blocked, sell blocked) for quantlab's rules:
#: the ±9.5% limit from the closes, and no trade on a day without volume.
ALIGNED_LIMITS = tuple(
    f"Or({e}, Eq($volume, 0))"
    for e in ("Ge($close/Ref($close,1)-1, 0.095)", "Le($close/Ref($close,1)-1, -0.095)")
)
START, END = "2017-01-01", "2017-12-31"


def qlib_topk_report(
    signal: pd.Series, start: str, end: str, limits: object, forbid_all: bool = True
) -> tuple:
    """Qlib's ``backtest_daily`` of TopkDropout(50, 5) at the close, Qlib's workflow costs;
    ``forbid_all`` is the strategy's ``forbid_all_trade_at_limit`` (Qlib's default True)."""
    from qlib.contrib.evaluate import backtest_daily
    from qlib.contrib.strategy import TopkDropoutStrategy

    strategy = TopkDropoutStrategy(
        signal=signal.to_frame("score"), topk=50, n_drop=5, forbid_all_trade_at_limit=forbid_all
    )
    return backtest_daily(
        start_time=start,
        end_time=end,
        strategy=strategy,
        benchmark="SH000300",
        exchange_kwargs={"limit_threshold": limits, "deal_price": "close"},
    )


def sample_panel(panel: Panel) -> Panel:
    """The CSI 300 sample as it is stored: adjusted prices (``raw x $factor``, so lots are
    sized on raw shares, as Qlib does) and raw volumes (not divided by the factor)."""
    return dataclasses.replace(panel, meta={**panel.meta, "volume_basis": "raw"})


@pytest.mark.timeout(900)
def test_topk_backtest_matches_qlib_once_limits_and_suspension_are_aligned(
    realdata: Path, tmp_path: Path
) -> None:
    pytest.importorskip("qlib")
    from quantlab.engine.data.qlib_bin import read_qlib
    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    src = realdata / "qlib" / "cn_data_csi300_sample"
    fields = ["open", "high", "low", "close", "volume", "factor"]
    span = {"start": "2016-10-01", "end": "2018-01-31"}
    panel = sample_panel(read_qlib(src, instruments="csi300", fields=fields, **span))
    bench = read_qlib(src, instruments=["SH000300"], fields=["close"], **span)
    close = panel["close"]
    scores = np.full(panel.shape, np.nan)
    # each day's rank of a 20-day reversal, ties in instrument order: whole numbers, exact
    # in the float32 a score field is read with, so both sides rank the very same values
    member = membership_mask(panel, "csi300")
    for t in range(20, panel.shape[0]):
        ratio = close[t - 20] / close[t]
        ok = np.flatnonzero(member[t] & ~np.isnan(ratio))
        scores[t, ok[np.lexsort((ok, ratio[ok]))]] = np.arange(len(ok))
    ours = backtest_predictions(panel, scores, start=START, end=END, benchmark=bench["close"][:, 0])

    qlib_data_api(lowercase_view(src, tmp_path))
    day, inst = np.nonzero(~np.isnan(scores))
    index = pd.MultiIndex.from_arrays(
        [pd.DatetimeIndex(panel.calendar[day]), list(panel.instruments[inst])],
        names=["datetime", "instrument"],
    )
    signal = pd.Series(scores[day, inst], index=index)
    report, positions = qlib_topk_report(signal, START, END, ALIGNED_LIMITS, forbid_all=False)
    days = pd.DatetimeIndex(report.index).values.astype("datetime64[D]")
    assert np.array_equal(days, ours.dates)

    # the same names held at every close
    full = with_scores(panel, scores, SCORE_FIELD)
    sim = run(prediction_spec(50, 5), full, start=days[0], end=days[-1], diagnostics=False,
              cache=None).simulation  # fmt: skip
    for t, d in enumerate(report.index):
        held = set(sim.instruments[sim.positions[t] > 0])
        assert held == set(positions[d].get_stock_list()), str(d)

    # daily series: Qlib's return is before costs, its cost over the previous day's value
    r, b, c = report["return"].to_numpy(), report["bench"].to_numpy(), report["cost"].to_numpy()
    np.testing.assert_allclose(ours.benchmark_returns, b, atol=1e-7)
    np.testing.assert_allclose(ours.costs, c, atol=1e-6)
    np.testing.assert_allclose(ours.returns + ours.costs, r, atol=1e-5)
    assert np.corrcoef(ours.returns + ours.costs, r)[0, 1] > 0.999999
    got = ours.risk["excess_return_with_cost"]
    want = risk_analysis(r - b - c)
    assert got["annualized_return"] == pytest.approx(want["annualized_return"], abs=2e-4)
    assert got["information_ratio"] == pytest.approx(want["information_ratio"], abs=2e-3)
    assert got["max_drawdown"] == pytest.approx(want["max_drawdown"], abs=1e-4)
    # without cost quantlab trades again with free orders (slightly larger positions); Qlib
    # adds the costs back to the same run's returns
    free = ours.risk["excess_return_without_cost"]["annualized_return"]
    assert free == pytest.approx(risk_analysis(r - b)["annualized_return"], abs=5e-4)
