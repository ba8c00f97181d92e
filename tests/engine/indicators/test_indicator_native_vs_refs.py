"""Native indicators on 600519.SH (2010-2020) against TA-Lib and independent pandas code.

Where the TDX convention matches TA-Lib the values must agree to rounding. Where it
differs (EMA seeding, Wilder seeding of RSI, MACD bar ×2, KDJ starting at 50, WR's sign,
DMI's sums, ATR's simple mean) the test says how, checks against a pandas computation
of the TDX formula, and for seeding differences also against TA-Lib once the seed's
weight has decayed below the tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from numpy.testing import assert_allclose

from quantlab.engine.indicators import compute

pytestmark = pytest.mark.realdata

EXACT: dict[str, Any] = {"rtol": 1e-9, "atol": 1e-9, "equal_nan": True}
WARM = 300  # bars after which seeding differences (≤ ((N−1)/(N+1))^300) are negligible


def s(x: np.ndarray) -> pd.Series:
    return pd.Series(x)


def ema_tdx(x: pd.Series, n: int) -> pd.Series:
    """TDX EMA: pandas' adjust=False recursion is seeded with the first value."""
    return x.ewm(span=n, adjust=False).mean()


def sma_tdx(x: pd.Series, n: int, m: int, init: float | None = None) -> pd.Series:
    """TDX SMA(X,N,M); an ``init`` is prepended as the value before the first bar."""
    if init is None:
        return x.ewm(alpha=m / n, adjust=False).mean()
    padded = pd.concat([pd.Series([init]), x], ignore_index=True)
    return padded.ewm(alpha=m / n, adjust=False).mean().iloc[1:].reset_index(drop=True)


def test_ma_wma_equal_talib(maotai):
    c = maotai["close"]
    assert_allclose(compute("MA", maotai, {"n": 20})["MA"], talib.SMA(c, 20), **EXACT)
    assert_allclose(compute("WMA", maotai, {"n": 10})["WMA"], talib.WMA(c, 10), **EXACT)
    assert_allclose(
        compute("BBI", maotai)["BBI"],
        (talib.SMA(c, 3) + talib.SMA(c, 6) + talib.SMA(c, 12) + talib.SMA(c, 24)) / 4,
        **EXACT,
    )


def test_ema_first_value_seed_vs_pandas_and_talib(maotai):
    c = maotai["close"]
    out = compute("EMA", maotai, {"n": 12})["EMA"]
    assert_allclose(out, ema_tdx(s(c), 12), **EXACT)
    # TA-Lib seeds with the mean of the first 12 closes: same recursion afterwards.
    assert_allclose(out[WARM:], talib.EMA(c, 12)[WARM:], rtol=1e-10)
    expma = compute("EXPMA", maotai)
    assert_allclose(expma["EXP2"], ema_tdx(s(c), 50), **EXACT)


def test_macd_tdx_vs_pandas_and_talib(maotai):
    c = maotai["close"]
    out = compute("MACD", maotai)
    dif = ema_tdx(s(c), 12) - ema_tdx(s(c), 26)
    dea = ema_tdx(dif, 9)
    assert_allclose(out["DIF"], dif, **EXACT)
    assert_allclose(out["DEA"], dea, **EXACT)
    assert_allclose(out["MACD"], 2 * (dif - dea), **EXACT)
    # TA-Lib: same EMAs after its SMA seed fades; its histogram is DIF − DEA, without ×2.
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    assert_allclose(out["DIF"][WARM:], macd[WARM:], rtol=1e-8, atol=1e-8)
    assert_allclose(out["DEA"][WARM:], signal[WARM:], rtol=1e-8, atol=1e-8)
    assert_allclose(out["MACD"][WARM:], 2 * hist[WARM:], rtol=1e-8, atol=1e-8)


def test_rsi_wilder_vs_pandas_and_talib(maotai):
    c = maotai["close"]
    out = compute("RSI", maotai, {"n1": 6, "n2": 14, "n3": 24})
    chg = s(c).diff()
    for line, n in (("RSI1", 6), ("RSI2", 14), ("RSI3", 24)):
        up = sma_tdx(chg.clip(lower=0).iloc[1:], n, 1)
        mag = sma_tdx(chg.abs().iloc[1:], n, 1)
        assert np.isnan(out[line][0])
        assert_allclose(out[line][1:], 100 * up / mag, **EXACT)
        # TA-Lib seeds with the mean of the first n changes; same Wilder recursion after.
        assert_allclose(out[line][WARM * 2 :], talib.RSI(c, n)[WARM * 2 :], rtol=1e-7)


def test_kdj_vs_pandas_and_talib(maotai):
    h, lo, c = (s(maotai[k]) for k in ("high", "low", "close"))
    out = compute("KDJ", maotai)
    hh = h.rolling(9, min_periods=1).max()
    ll = lo.rolling(9, min_periods=1).min()
    rsv = (c - ll) / (hh - ll) * 100
    k = sma_tdx(rsv, 3, 1, init=50.0)
    d = sma_tdx(k, 3, 1, init=50.0)
    assert_allclose(out["K"], k, **EXACT)
    assert_allclose(out["D"], d, **EXACT)
    assert_allclose(out["J"], 3 * k - 2 * d, **EXACT)
    if hasattr(talib, "KDJ"):  # TA-Lib ≥ 0.6: Wilder-smoothed, seeded by a mean, not 50
        tk, td, tj = talib.KDJ(maotai["high"], maotai["low"], maotai["close"])
        assert_allclose(out["K"][WARM:], tk[WARM:], rtol=1e-8)
        assert_allclose(out["D"][WARM:], td[WARM:], rtol=1e-8)
        assert_allclose(out["J"][WARM:], tj[WARM:], rtol=1e-6, atol=1e-6)


def test_boll_population_std_equals_bbands(maotai):
    c = maotai["close"]
    out = compute("BOLL", maotai)
    up, mid, low = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)
    assert_allclose(out["BOLL"], mid, **EXACT)
    assert_allclose(out["UB"], up, rtol=1e-9, equal_nan=True)
    assert_allclose(out["LB"], low, rtol=1e-9, equal_nan=True)
    sample = compute("BOLL", maotai, {"ddof": 1})  # TDX's STD: pandas' default ddof=1
    assert_allclose(sample["UB"], s(c).rolling(20).mean() + 2 * s(c).rolling(20).std(), **EXACT)


def test_atr_tdx_simple_mean(maotai):
    h, lo, c = maotai["high"], maotai["low"], maotai["close"]
    out = compute("ATR", maotai)
    assert_allclose(out["MTR"], talib.TRANGE(h, lo, c), **EXACT)
    # TA-Lib ATR is Wilder-smoothed; TDX ATR is MA(MTR, N): compare with pandas.
    assert_allclose(out["ATR"], s(talib.TRANGE(h, lo, c)).rolling(14).mean(), **EXACT)


def test_conventions_equal_to_talib(maotai):
    h, lo, c, v = (maotai[k] for k in ("high", "low", "close", "volume"))
    assert_allclose(compute("OBV", maotai)["OBV"], talib.OBV(c, v), **EXACT)
    assert_allclose(
        compute("CCI", maotai)["CCI"], talib.CCI(h, lo, c, 14), rtol=1e-8, equal_nan=True
    )
    wr = compute("WR", maotai, {"n": 14})["WR1"]
    assert_allclose(wr, -talib.WILLR(h, lo, c, 14), **EXACT)  # TDX sign: 0…100
    assert_allclose(compute("ROC", maotai)["ROC"], talib.ROC(c, 12), **EXACT)
    assert_allclose(compute("MTM", maotai)["MTM"], talib.MOM(c, 12), **EXACT)
    assert_allclose(compute("SAR", maotai)["SAR"], talib.SAR(h, lo, 0.02, 0.2), **EXACT)
    assert_allclose(compute("MFI", maotai)["MFI"], talib.MFI(h, lo, c, v, 14), **EXACT)
    vol = compute("VOL", maotai)
    assert_allclose(vol["MAVOL1"], talib.SMA(v, 5), **EXACT)
    assert_allclose(vol["MAVOL2"], talib.SMA(v, 10), **EXACT)


def test_trix_vs_pandas_and_talib(maotai):
    c = maotai["close"]
    out = compute("TRIX", maotai)
    mtr = ema_tdx(ema_tdx(ema_tdx(s(c), 12), 12), 12)
    trix = mtr.pct_change() * 100
    assert_allclose(out["TRIX"], trix, **EXACT)
    assert_allclose(out["MATRIX"], trix.rolling(9).mean(), **EXACT)
    assert_allclose(out["TRIX"][WARM:], talib.TRIX(c, 12)[WARM:], rtol=1e-6)


def test_dmi_tdx_sums_vs_pandas(maotai):
    # TA-Lib PLUS_DI/MINUS_DI/ADX Wilder-smooth; TDX sums over N and averages over M.
    h, lo, c = (s(maotai[k]) for k in ("high", "low", "close"))
    out = compute("DMI", maotai)
    pc = c.shift()
    tr = pd.concat([h - lo, (h - pc).abs(), (pc - lo).abs()], axis=1).max(axis=1, skipna=False)
    hd, ld = h - h.shift(), lo.shift() - lo
    dmp = hd.where((hd > 0) & (hd > ld), 0.0).where(hd.notna())
    dmm = ld.where((ld > 0) & (ld > hd), 0.0).where(ld.notna())
    mtr = tr.rolling(14).sum()
    pdi, mdi = dmp.rolling(14).sum() * 100 / mtr, dmm.rolling(14).sum() * 100 / mtr
    adx = ((mdi - pdi).abs() / (mdi + pdi) * 100).rolling(6).mean()
    assert_allclose(out["PDI"], pdi, **EXACT)
    assert_allclose(out["MDI"], mdi, **EXACT)
    assert_allclose(out["ADX"], adx, **EXACT)
    assert_allclose(out["ADXR"], (adx + adx.shift(6)) / 2, **EXACT)


def test_other_tdx_formulas_vs_pandas(maotai):
    o, h, lo, c, v = (s(maotai[k]) for k in ("open", "high", "low", "close", "volume"))
    pc = c.shift()
    bias = compute("BIAS", maotai)
    ma6 = c.rolling(6).mean()
    assert_allclose(bias["BIAS1"], (c - ma6) / ma6 * 100, **EXACT)
    psy = compute("PSY", maotai)
    ups = (c > pc).astype(float).where(pc.notna())
    assert_allclose(psy["PSY"], ups.rolling(12).sum() / 12 * 100, **EXACT)
    vr = compute("VR", maotai)
    th = v.where(c > pc, 0.0).where(pc.notna()).rolling(26).sum()
    tl = v.where(c < pc, 0.0).where(pc.notna()).rolling(26).sum()
    tq = v.where(c == pc, 0.0).where(pc.notna()).rolling(26).sum()
    assert_allclose(vr["VR"], 100 * (2 * th + tq) / (2 * tl + tq), **EXACT)
    brar = compute("BRAR", maotai)
    br = (h - pc).clip(lower=0).rolling(26).sum() / (pc - lo).clip(lower=0).rolling(26).sum()
    assert_allclose(brar["BR"], br * 100, **EXACT)
    ar = (h - o).rolling(26).sum() / (o - lo).rolling(26).sum() * 100
    assert_allclose(brar["AR"], ar, **EXACT)
    dma = compute("DMA", maotai)
    dif = c.rolling(10).mean() - c.rolling(50).mean()
    assert_allclose(dma["DIF"], dif, **EXACT)
    assert_allclose(dma["DIFMA"], dif.rolling(10).mean(), **EXACT)
