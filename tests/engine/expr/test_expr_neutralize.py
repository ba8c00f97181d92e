"""``Neutralize`` (industry and/or size) and the derived ``$vwap``.

Neutralize is checked against a hand-computed case and against numpy's ``lstsq`` on the
full dummy-plus-size design (an independent route to the same OLS residual); ``$vwap``
against hand arithmetic and on real Tushare data, where it must lie within the day's
range once the units are converted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.expr import ExprError, available_fields, evaluate, stored_fields

NAN = np.nan


@pytest.fixture
def day_panel(panel_of) -> Panel:
    # one day, five instruments + one absent: industries 1, 1, 2, 2, 2; I4's size missing
    return panel_of(
        {
            "x": [[1.0], [3.0], [2.0], [4.0], [9.0], [7.0]],
            "ind": [[1.0], [1.0], [2.0], [2.0], [2.0], [1.0]],
            "size": [[1.0], [2.0], [1.0], [3.0], [NAN], [5.0]],
        },
        first=[0, 0, 0, 0, 0, -1],
        last=[0, 0, 0, 0, 0, -1],
    )


def test_neutralize_by_hand(day_panel: Panel) -> None:
    out = evaluate(
        ["Neutralize($x, $ind, 0)", "Neutralize($x, 0, $size)", "Neutralize($x, $ind, $size)"],
        day_panel,
        cache=None,
    )
    # industry only (size 0, a constant, so I4 takes part): demean within industry:
    # ind 1: 1, 3 -> -1, 1; ind 2: 2, 4, 9 (mean 5) -> -3, -1, 4; I5 does not exist
    np.testing.assert_allclose(out["Neutralize($x, $ind, 0)"][0], [-1, 1, -3, -1, 4, NAN])
    # with a size, I4 (size missing) drops out of the regression and gets NaN
    # size only: x = 1, 3, 2, 4 on s = 1, 2, 1, 3; means 2.5, 1.75;
    # ds = -.75, .25, -.75, 1.25; dx = -1.5, .5, -.5, 1.5; beta = 3.5 / 2.75 = 14/11
    b = 14 / 11
    want = [-1.5 + 0.75 * b, 0.5 - 0.25 * b, -0.5 + 0.75 * b, 1.5 - 1.25 * b, NAN, NAN]
    np.testing.assert_allclose(out["Neutralize($x, 0, $size)"][0], want, rtol=1e-6)
    # both: within-industry ds = -.5, .5, -1, 1; dx = -1, 1, -1, 1; beta = 3 / 2.5 = 1.2
    want = [-1 + 0.6, 1 - 0.6, -1 + 1.2, 1 - 1.2, NAN, NAN]
    np.testing.assert_allclose(out["Neutralize($x, $ind, $size)"][0], want, rtol=1e-6)


def test_neutralize_matches_lstsq() -> None:
    rng = np.random.default_rng(3)
    t, n = 6, 40
    ind = rng.integers(0, 5, (t, n)).astype(float)
    mcap = rng.lognormal(22, 1, (t, n))
    x = 0.3 * np.log(mcap) + ind * 0.1 + rng.normal(0, 1, (t, n))
    x[rng.random((t, n)) < 0.1] = NAN
    p = Panel.from_arrays(
        np.arange(t).astype("datetime64[D]"),
        [f"S{j}" for j in range(n)],
        {"x": x, "ind": ind, "mcap": mcap},
    )
    got = evaluate("Neutralize($x, $ind, Log($mcap))", p, cache=None)
    got = got["Neutralize($x, $ind, Log($mcap))"]
    xs = p["x"].astype(np.float32).astype(float)
    size = np.log(p["mcap"].astype(np.float32)).astype(np.float32).astype(float)
    for d in range(t):
        ok = ~np.isnan(xs[d])
        codes = np.unique(ind[d, ok])
        design = np.column_stack([(ind[d, ok] == c).astype(float) for c in codes] + [size[d, ok]])
        coef, *_ = np.linalg.lstsq(design, xs[d, ok], rcond=None)
        want = np.full(n, NAN)
        want[ok] = xs[d, ok] - design @ coef
        np.testing.assert_allclose(got[d], want, rtol=1e-4, atol=1e-5, equal_nan=True)
        # residuals are orthogonal to every regressor
        assert abs(float(np.nansum(got[d][ok] * size[d, ok]))) < 1e-3


def test_neutralize_needs_three_arguments(day_panel: Panel) -> None:
    with pytest.raises(ExprError) as info:
        evaluate("Neutralize($x, $ind)", day_panel, cache=None)
    assert info.value.kind == "arity"


def test_vwap_is_derived_from_amount_and_volume(panel_of) -> None:
    p = panel_of(
        {
            "close": [[10.0, 10.0, 10.0]],
            "amount": [[1000.0, 0.0, 2100.0]],
            "volume": [[100.0, 0.0, 200.0]],
        },
        first=[0],
        last=[2],
    )
    assert "vwap" in available_fields(p.fields)
    assert stored_fields(["vwap", "close"], p.fields) == ["amount", "volume", "close"]
    assert stored_fields(["vwap"], ["vwap", "amount", "volume"]) == ["vwap"]
    out = evaluate("$vwap/$close", p, cache=None)["$vwap/$close"]
    # 1000 / 100 = 10; no trade (volume 0) -> NaN; 2100 / 200 = 10.5
    np.testing.assert_allclose(out[:, 0], [1.0, NAN, 1.05], rtol=1e-6)
    no_amount = panel_of({"close": [[1.0]], "volume": [[1.0]]}, first=[0], last=[0])
    with pytest.raises(ExprError) as info:
        evaluate("$vwap", no_amount, cache=None)
    assert info.value.kind == "unknown_field"


@pytest.mark.realdata
def test_vwap0_on_real_tushare_data(realdata: Path) -> None:
    files = sorted((realdata / "cn" / "qbot_tushare_raw_2019_2020").glob("*.csv"))[:10]
    frames = [pd.read_csv(f, index_col=0) for f in files]
    df = pd.concat(frames)
    df["date"] = pd.to_datetime(df["trade_date"].astype(str))
    wide = {c: df.pivot(index="date", columns="ts_code", values=c) for c in df.columns}
    # Tushare units: vol in lots of 100 shares, amount in thousands of CNY
    fields = {
        "close": wide["close"].to_numpy(),
        "high": wide["high"].to_numpy(),
        "low": wide["low"].to_numpy(),
        "volume": wide["vol"].to_numpy() * 100,
        "amount": wide["amount"].to_numpy() * 1000,
    }
    p = Panel.from_arrays(
        wide["close"].index.to_numpy().astype("datetime64[D]"), list(wide["close"].columns), fields
    )
    vwap0 = evaluate("$vwap/$close", p, cache=None)["$vwap/$close"]  # Alpha158's VWAP0
    vwap = vwap0 * p["close"]
    # the first row of 000001.SZ by hand: 498,695.109 kCNY / 539,386.32 lots
    j = list(p.instruments).index("000001.SZ")
    assert vwap[0, j] == pytest.approx(498695.109e3 / 539386.32e2, rel=1e-6)
    ok = p["volume"] > 0
    assert ok.sum() > 3000 and np.isfinite(vwap[ok]).all()
    # raw prices: the day's VWAP lies within its low..high (2-decimal prices, float32)
    assert (vwap[ok] >= p["low"][ok] * (1 - 1e-3)).all()
    assert (vwap[ok] <= p["high"][ok] * (1 + 1e-3)).all()
