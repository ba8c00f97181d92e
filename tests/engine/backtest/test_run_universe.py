"""Point-in-time universes through ``quantlab.engine.run`` (a name is bought only while it
is a member; a holding that leaves is dropped), the survivorship diagnostic on static
lists, and ``$vwap`` derived from amount / volume. Hand cases, then the real CSI 300
membership of the Qlib sample."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from tests.engine.backtest._simkit import make_panel

from quantlab import engine
from quantlab.engine.backtest.compile import SpecError, SpecExpressionError, validate_spec
from quantlab.engine.backtest.diagnostics import list_diagnostics
from quantlab.engine.data.qlib_bin import read_qlib, read_qlib_instruments
from quantlab.engine.spec import RunSpec


def _spec(strategy: dict, **extra: object) -> RunSpec:
    body = {
        "dataset_id": "d",
        "initial_capital": 1_000_000,
        "preset": "cn_a_share",
        "execution": {"price": "close"},
        "strategy": strategy,
        **extra,
    }
    return RunSpec.model_validate(body)


MAX_DAYS_OUTSIDE = 15  # a weekly rebalance drops 2 a week; suspensions can delay a sale
TOPK1 = {"kind": "scores", "score": "$score", "top_k": 1, "n_drop": 1, "rebalance": "daily"}


def _with_universe(panel, name: str, spans: dict) -> object:
    meta = {**panel.meta, "universes": {name: spans}}
    return dataclasses.replace(panel, meta=meta)


def test_a_dated_member_is_bought_only_while_a_member_and_dropped_after() -> None:
    # AAA scores highest every day but is a member of "idx" only on days 2-3 (0-based);
    # BBB and CCC (scored lower) are members throughout. Top-1 with one drop: BBB on days
    # 0-1, AAA on days 2-3 (BBB sold for it), then AAA leaves the index, ranks last and is
    # sold for BBB on day 4. CCC is never held.
    close = np.full((6, 3), 10.0)
    score = np.tile([2.0, 1.0, 0.5], (6, 1))
    panel = make_panel(close, codes=("AAA", "BBB", "CCC"), score=score)
    cal = panel.calendar
    spans = {"AAA": [(cal[2], cal[3])], "BBB": [(cal[0], cal[-1])], "CCC": [(cal[0], cal[-1])]}
    result = engine.run(_spec(TOPK1, dated_universe="idx"), _with_universe(panel, "idx", spans))
    held = result.positions > 0
    assert held[:, 0].tolist() == [False, False, True, True, False, False]
    assert held[:, 1].tolist() == [True, True, False, False, True, True]
    assert not held[:, 2].any()
    buys = result.trades.side == 1
    bought_days = result.trades.day[buys][result.trades.symbol[buys] == 0]
    assert bought_days.tolist() == [2]
    # Without the dated universe AAA is held from day 0: what survivorship looks like.
    free = engine.run(_spec(TOPK1), panel)
    assert (free.positions[:, 0] > 0).all()


def test_a_name_never_a_member_in_the_window_is_left_out() -> None:
    close = np.full((4, 3), 10.0)
    panel = make_panel(close, codes=("AAA", "BBB", "CCC"), score=np.tile([3.0, 2.0, 1.0], (4, 1)))
    cal = panel.calendar
    spans = {"BBB": [(cal[0], cal[-1])], "CCC": [(cal[0], cal[-1])], "AAA": [(cal[0], cal[0])]}
    spec = _spec(TOPK1, dated_universe="idx")
    result = engine.run(spec, _with_universe(panel, "idx", spans), start=cal[1])
    assert [str(s) for s in result.simulation.instruments] == ["BBB", "CCC"]
    assert (result.positions[:, 0] > 0).all()
    with pytest.raises(SpecError, match="not loaded"):
        engine.run(spec, panel)
    none = {"AAA": [(cal[0], cal[0])]}
    with pytest.raises(SpecError, match="no symbol of the universe is a member"):
        engine.run(spec, _with_universe(panel, "idx", none), start=cal[1])


def test_weights_outside_the_universe_are_renormalised_over_members() -> None:
    # Equal weights 1/2; BBB is not a member on day 0, so AAA gets the whole book then.
    close = np.full((2, 2), 10.0)
    panel = make_panel(close, codes=("AAA", "BBB"))
    cal = panel.calendar
    spans = {"AAA": [(cal[0], cal[1])], "BBB": [(cal[1], cal[1])]}
    strategy = {"kind": "weights", "weight": "1", "rebalance": "daily"}
    spec = _spec(strategy, dated_universe="idx", rules={"lot_size": 0},
                 costs={"commission_rate": 0, "commission_min": 0, "stamp_tax": []})  # fmt: skip
    result = engine.run(spec, _with_universe(panel, "idx", spans))
    np.testing.assert_allclose(result.positions[0], [100_000, 0])
    np.testing.assert_allclose(result.positions[1], [50_000, 50_000])


def test_static_list_with_late_names_gets_the_survivorship_finding() -> None:
    # Four names, two of which first trade 30 days after the start: 50 % absent at the
    # start (threshold 5 %) -> a critical "universe" finding naming them.
    close = np.full((60, 4), 10.0)
    close[:30, 2:] = np.nan
    score = np.tile([1.0, 2, 3, 4], (60, 1))
    panel = make_panel(close, codes=("A1", "A2", "L1", "L2"), score=score)
    spec = _spec(TOPK1, universe=["A1", "A2", "L1", "L2"])
    result = engine.run(spec, panel)
    found = [f for f in result.diagnostics if f["diagnostic"] == "universe"]
    assert len(found) == 1
    ev = found[0]["evidence"]
    assert found[0]["severity"] == "critical"
    assert ev["absent_at_start"] == 2 and ev["share_absent_at_start"] == 0.5
    assert ev["examples"] == ["L1", "L2"]
    assert "dated universe" in found[0]["suggestion"]
    # all symbols, or a list present from the start: no finding
    assert not [f for f in engine.run(_spec(TOPK1), panel).diagnostics
                if f["diagnostic"] == "universe"]  # fmt: skip
    early = engine.run(_spec(TOPK1, universe=["A1", "A2"]), panel)
    assert not [f for f in early.diagnostics if f["diagnostic"] == "universe"]
    assert "universe" in {d["name"] for d in list_diagnostics()}


def test_vwap_is_accepted_and_derived_from_amount_over_volume() -> None:
    # amount / volume = 2,050,000 / 200,000 = 10.25 on day 1: the entry rule "$close > $vwap"
    # holds there only (close 10.30), and a next-VWAP fill on day 2 is at 2,020,000 / 200,000
    # = 10.10 (no vwap field stored).
    close = [10.0, 10.3, 10.0]
    amount = [2_100_000.0, 2_050_000.0, 2_020_000.0]
    panel = make_panel(close, volume=[200_000.0] * 3, amount=amount)
    strategy = {"kind": "signals", "entry": "$close > $vwap", "exit": "$close < 0"}
    spec = _spec(strategy, execution={"price": "next_vwap"})
    validate_spec(spec, ["close", "volume", "amount"])
    with pytest.raises(SpecExpressionError):
        validate_spec(spec, ["close", "volume"])
    result = engine.run(spec, panel)
    assert result.trades.day.tolist() == [2]
    assert result.trades.price[0] == pytest.approx(10.10)


@pytest.mark.realdata
def test_real_csi300_membership_limits_buys_to_members(realdata) -> None:
    """The Qlib sample's instruments/csi300.txt over 2016-2017: a momentum top-10 on the
    sample's names buys a name only on days csi300.txt lists it as a member, and names
    that left are sold; the same run on the static list is flagged as survivor-biased."""
    root = realdata / "qlib" / "cn_data_csi300_sample"
    spans = read_qlib_instruments(root, "csi300")
    panel = read_qlib(root, instruments="csi300", start="2015-10-01", end="2017-12-31",
                      fields=["close", "open", "high", "low", "volume", "factor"])  # fmt: skip
    panel = dataclasses.replace(panel, meta={**panel.meta, "volume_basis": "raw"})
    strategy = {"kind": "scores", "score": "$close / Ref($close, 20) - 1", "top_k": 10,
                "n_drop": 2, "rebalance": "weekly"}  # fmt: skip
    spec = _spec(strategy, dated_universe="csi300", start="2016-01-04", end="2017-12-29")
    result = engine.run(spec, _with_universe(panel, "csi300", spans))
    sim = result.simulation
    names = [str(s) for s in sim.instruments]
    assert len(result.trades) > 100
    tr = result.trades
    for k in np.flatnonzero(tr.side == 1):
        # close fills: the decision and the fill are the same day
        day = sim.calendar[tr.day[k]]
        assert any(lo <= day <= hi for lo, hi in spans[names[tr.symbol[k]]]), names[tr.symbol[k]]
    stays = []
    for j, name in enumerate(names):  # holdings that left the index are dropped
        member = np.array([any(lo <= d <= hi for lo, hi in spans[name]) for d in sim.calendar])
        outside = (result.positions[:, j] > 0) & ~member
        if outside.any():
            edges = np.flatnonzero(np.diff(np.r_[0, outside.astype(int), 0]))
            stays.extend((edges[1::2] - edges[::2]).tolist())
    assert max(stays, default=0) <= MAX_DAYS_OUTSIDE, stays
    # The same run without the dated universe buys names on days they were not members.
    free = engine.run(_spec(strategy, start="2016-01-04", end="2017-12-29"), panel)
    ft, fsim = free.trades, free.simulation
    outside = [
        k for k in np.flatnonzero(ft.side == 1)
        if not any(lo <= fsim.calendar[ft.day[k]] <= hi
                   for lo, hi in spans[str(fsim.instruments[ft.symbol[k]])])
    ]  # fmt: skip
    assert outside


@pytest.mark.realdata
def test_todays_members_over_past_years_are_flagged(realdata) -> None:
    """The issue's case: the sample's current CSI 300 members (2026) as a static list over
    2012-2015. The share of names without data at the start is checked against a pandas
    count of the same files."""
    root = realdata / "qlib" / "cn_data_csi300_sample"
    spans = read_qlib_instruments(root, "csi300")
    today = np.datetime64("2026-05-08")
    panel = read_qlib(root, instruments="csi300", start="2011-12-01", end="2015-12-31",
                      fields=["close", "volume", "factor"])  # fmt: skip
    members = [str(s) for s in panel.instruments
               if any(lo <= today <= hi for lo, hi in spans[str(s)])]  # fmt: skip
    close = pd.DataFrame(panel["close"], index=panel.calendar, columns=panel.instruments)
    first = close[members].apply(lambda c: c.first_valid_index())
    late = sorted(s for s, d in first.items() if d is None or d > np.datetime64("2012-01-14"))
    strategy = {"kind": "scores", "score": "$close / Ref($close, 20) - 1", "top_k": 10,
                "n_drop": 2, "rebalance": "weekly"}  # fmt: skip
    spec = _spec(strategy, universe=members, start="2012-01-04", end="2015-12-31")
    result = engine.run(spec, panel)
    found = [f for f in result.diagnostics if f["diagnostic"] == "universe"]
    assert len(found) == 1, result.diagnostics
    ev = found[0]["evidence"]
    assert ev["names"] == len(members) and ev["absent_at_start"] == len(late)
    assert ev["share_absent_at_start"] == pytest.approx(len(late) / len(members))
    assert ev["share_absent_at_start"] > 0.05 and found[0]["severity"] == "warning"
