"""Financial indicators: hand-computed ratios, undefined cases and availability."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from quantlab.engine.data import Panel
from quantlab.engine.indicators import FINANCIAL_FIELDS, availability, compute, list_indicators

NAN = np.nan


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_inputs_are_declared_fields():
    specs = list_indicators(category="financial")
    assert len(specs) >= 10
    for spec in specs:
        assert set(spec.inputs) <= set(FINANCIAL_FIELDS)


def test_availability_explains_missing_fields():
    ok, reason = availability("PE", {"close", "volume"})
    assert not ok and "eps" in reason and "PE" in reason
    ok, reason = availability("ROE", ["net_profit"])
    assert not ok and "equity" in reason
    assert availability("PE", {"close", "eps"}) == (True, "")


def test_valuation_ratios_by_hand():
    # PE = 30/2 = 15; a loss (eps −1) or eps 0 has no PE; NaN eps stays NaN.
    data = {"close": a(30, 30, 30, 30), "eps": a(2, -1, 0, NAN)}
    assert_allclose(compute("PE", data)["PE"], a(15, NAN, NAN, NAN))
    # PB = 30/12 = 2.5; DY = 100·0.6/30 = 2 %.
    assert_allclose(compute("PB", {"close": a(30), "bps": a(12)})["PB"], a(2.5))
    assert_allclose(compute("DY", {"close": a(30), "dps": a(0.6)})["DY"], a(2.0))


def test_fundamental_ratios_by_hand():
    assert_allclose(compute("ROE", {"net_profit": a(5), "equity": a(50)})["ROE"], a(10))
    gm = compute("GROSS_MARGIN", {"revenue": a(100, 0), "cost_of_revenue": a(60, 1)})
    assert_allclose(gm["GROSS_MARGIN"], a(40, NAN))  # (100 − 60)/100; no revenue: NaN
    dr = compute("DEBT_RATIO", {"total_liabilities": a(30), "total_assets": a(120)})
    assert_allclose(dr["DEBT_RATIO"], a(25))
    cap = compute("MARKET_CAP", {"close": a(12.5), "total_shares": a(1e9)})
    assert_allclose(cap["MARKET_CAP"], a(1.25e10))
    turn = compute("TURNOVER", {"volume": a(2e6), "float_shares": a(1e8)})
    assert_allclose(turn["TURNOVER"], a(2.0))


def test_panel_masks_days_outside_existence():
    panel = Panel(
        calendar=np.arange(3).astype("datetime64[D]"),
        instruments=np.array(["A"], dtype=object),
        fields={"close": np.full((3, 1), 10.0, order="F"), "eps": np.full((3, 1), 2.0, order="F")},
        first=np.array([1]),
        last=np.array([2]),
    )
    assert_allclose(compute("PE", panel)["PE"][:, 0], a(NAN, 5, 5))
