"""Native indicators on short series, checked against arithmetic done by hand."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from quantlab.engine.indicators import compute

NAN = np.nan


def a(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_ma_window_mean_with_warmup():
    # MA(3) of 1,2,3,4,5: (1+2+3)/3=2, (2+3+4)/3=3, (3+4+5)/3=4; first two bars warm up.
    out = compute("MA", {"close": a(1, 2, 3, 4, 5)}, {"n": 3})
    assert_allclose(out["MA"], a(NAN, NAN, 2, 3, 4))


def test_ema_seeded_with_first_close():
    # EMA(3): alpha = 2/(3+1) = 0.5; y0 = 10; y1 = 0.5·11 + 0.5·10 = 10.5;
    # y2 = 0.5·12 + 0.5·10.5 = 11.25.
    out = compute("EMA", {"close": a(10, 11, 12)}, {"n": 3})
    assert_allclose(out["EMA"], a(10, 10.5, 11.25))


def test_wma_linear_weights():
    # WMA(3) of 1,2,4: (1·1 + 2·2 + 3·4)/(1+2+3) = 17/6; next (1·2 + 2·4 + 3·8)/6 = 34/6.
    out = compute("WMA", {"close": a(1, 2, 4, 8)}, {"n": 3})
    assert_allclose(out["WMA"], a(NAN, NAN, 17 / 6, 34 / 6))


def test_macd_tdx_lines():
    # SHORT=2 (alpha 2/3), LONG=3 (alpha 1/2), MID=2 (alpha 2/3); close 10, 11, 12.
    # EMA2: 10, 2/3·11 + 1/3·10 = 32/3, 2/3·12 + 1/3·32/3 = 104/9
    # EMA3: 10, 10.5, 11.25
    # DIF: 0, 32/3 − 10.5 = 1/6, 104/9 − 45/4 = 11/36
    # DEA: 0, 2/3·1/6 = 1/9, 2/3·11/36 + 1/3·1/9 = 13/54
    # MACD bar = 2·(DIF − DEA): 0, 2·(1/6 − 1/9) = 1/9, 2·(11/36 − 13/54) = 7/54
    out = compute("MACD", {"close": a(10, 11, 12)}, {"short": 2, "long": 3, "mid": 2})
    assert_allclose(out["DIF"], a(0, 1 / 6, 11 / 36), atol=1e-12)
    assert_allclose(out["DEA"], a(0, 1 / 9, 13 / 54), atol=1e-12)
    assert_allclose(out["MACD"], a(0, 1 / 9, 7 / 54), atol=1e-12)


def test_rsi_wilder_seeded_with_first_change():
    # close 10, 11, 10, 12 -> change −, +1, −1, +2; gains 1, 0, 2; |change| 1, 1, 2.
    # SMA(x,2,1) has alpha 1/2, seeded with the first change (bar 1):
    # gains: 1, 0.5·0 + 0.5·1 = 0.5, 0.5·2 + 0.5·0.5 = 1.25
    # |chg|: 1, 1, 0.5·2 + 0.5·1 = 1.5
    # RSI = 100·gains/|chg|: 100, 50, 83.33…; bar 0 has no change.
    out = compute("RSI", {"close": a(10, 11, 10, 12)}, {"n1": 2, "n2": 2, "n3": 2})
    assert_allclose(out["RSI1"], a(NAN, 100, 50, 125 / 1.5))


def test_kdj_starts_at_fifty():
    # N=3, M1=M2=3 (alpha 1/3); K and D start from 50; HHV/LLV over the bars so far.
    # bar0: HHV 10, LLV 8, RSV = (9−8)/(10−8)·100 = 50; K = (50 + 2·50)/3 = 50; D = 50; J = 50
    # bar1: HHV 12, LLV 8, RSV = (11−8)/4·100 = 75; K = (75 + 100)/3 = 175/3;
    #       D = (175/3 + 2·50)/3 = 475/9; J = 3·175/3 − 2·475/9 = 625/9
    # bar2: HHV 12, LLV 8, RSV = (10−8)/4·100 = 50; K = (50 + 2·175/3)/3 = 500/9;
    #       D = (500/9 + 2·475/9)/3 = 1450/27; J = 1500/9 − 2900/27 = 1600/27
    data = {"high": a(10, 12, 11), "low": a(8, 9, 9), "close": a(9, 11, 10)}
    out = compute("KDJ", data, {"n": 3})
    assert_allclose(out["K"], a(50, 175 / 3, 500 / 9))
    assert_allclose(out["D"], a(50, 475 / 9, 1450 / 27))
    assert_allclose(out["J"], a(50, 625 / 9, 1600 / 27))


def test_kdj_flat_window_holds_k():
    # N=1: RSV = (C−L)/(H−L)·100. bar0: (9−8)/2 = 50 -> K = 50, D = 50.
    # bar1: (11−9)/3·100 = 200/3 -> K = (200/3 + 100)/3 = 500/9; D = (500/9 + 100)/3 = 1400/27.
    # bar2 is flat (H = L): no RSV, so K holds 500/9 and D keeps smoothing toward it:
    # D = (500/9 + 2·1400/27)/3 = 4300/81.
    data = {"high": a(10, 12, 11), "low": a(8, 9, 11), "close": a(9, 11, 11)}
    out = compute("KDJ", data, {"n": 1})
    assert_allclose(out["K"], a(50, 500 / 9, 500 / 9))
    assert_allclose(out["D"], a(50, 1400 / 27, 4300 / 81))


def test_boll_population_and_sample_std():
    # close 1,2,3,4, N=4: mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5;
    # population std = sqrt(5/4) = 1.118034; sample std = sqrt(5/3) = 1.290994.
    close = {"close": a(1, 2, 3, 4)}
    pop = compute("BOLL", close, {"n": 4, "k": 2.0})
    assert_allclose(pop["BOLL"], a(NAN, NAN, NAN, 2.5))
    assert_allclose(pop["UB"][3], 2.5 + 2 * np.sqrt(5 / 4))
    assert_allclose(pop["LB"][3], 2.5 - 2 * np.sqrt(5 / 4))
    sample = compute("BOLL", close, {"n": 4, "k": 2.0, "ddof": 1})
    assert_allclose(sample["UB"][3], 2.5 + 2 * np.sqrt(5 / 3))


def test_atr_simple_mean_of_true_range():
    # bar1 gaps up: TR = max(H−L = 13−12.5 = 0.5, |H − prevC| = 13−9.5 = 3.5,
    #                     |prevC − L| = |9.5−12.5| = 3) = 3.5
    # bar2: TR = max(14−12 = 2, |14−13| = 1, |13−12| = 1) = 2
    # ATR(2) at bar 2 = (3.5 + 2)/2 = 2.75; bar 0 has no previous close.
    data = {"high": a(10, 13, 14), "low": a(9, 12.5, 12), "close": a(9.5, 13, 13.5)}
    out = compute("ATR", data, {"n": 2})
    assert_allclose(out["MTR"], a(NAN, 3.5, 2))
    assert_allclose(out["ATR"], a(NAN, NAN, 2.75))


def test_obv_signed_volume_sum():
    # OBV0 = V0 = 100; up: +200 -> 300; flat: +0 -> 300; down: −400 -> −100.
    data = {"close": a(10, 11, 11, 10), "volume": a(100, 200, 300, 400)}
    out = compute("OBV", data, {"m": 2})
    assert_allclose(out["OBV"], a(100, 300, 300, -100))
    assert_allclose(out["MAOBV"], a(NAN, 200, 300, 100))


def test_suspended_bar_is_skipped_not_zeroed():
    # MA(2) over closes 1, 2, (suspended), 4: the window after the gap is (2 + 4)/2 = 3,
    # because the suspended day has no bar; the suspended day itself is NaN.
    out = compute("MA", {"close": a(1, 2, NAN, 4)}, {"n": 2})
    assert_allclose(out["MA"], a(NAN, 1.5, NAN, 3))
