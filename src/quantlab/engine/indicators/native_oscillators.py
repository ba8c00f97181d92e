"""Native oscillator and volume indicators (通达信/同花顺 formulas; conventions in ``native``)."""

from __future__ import annotations

import numpy as np

from quantlab.engine.indicators import kernels_nb as nb
from quantlab.engine.indicators.native import (
    Arrays,
    Params,
    div,
    if_prev,
    period,
    ref,
    registrar,
    tdx_sma,
)
from quantlab.engine.indicators.spec import IndicatorSpec

SPECS: list[IndicatorSpec] = []
indicator = registrar(SPECS)

# ---------------------------------------------------------------------- oscillator


@indicator(
    "RSI", "相对强弱指标", "Relative strength index", "oscillator", ("close",),
    ("RSI1", "RSI2", "RSI3"),
    (period("n1", 6), period("n2", 12), period("n3", 24)),
    "LC:=REF(CLOSE,1); RSI1:SMA(MAX(CLOSE-LC,0),N1,1)/SMA(ABS(CLOSE-LC),N1,1)*100 "
    "(RSI2, RSI3 likewise with N2, N3)",
    "Wilder smoothing (alpha 1/N) of gains and absolute changes, seeded with the first "
    "change (bar 1), as TDX does; TA-Lib seeds with the mean of the first N changes and "
    "starts at bar N, so the two converge after a few times N bars. NaN when the "
    "smoothed absolute change is zero (no movement yet).",
)  # fmt: skip
def rsi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``RSI`` with three periods."""
    c = x["close"]
    chg = c - ref(c)
    up = np.maximum(chg, 0.0)  # np.maximum keeps bar 0's NaN
    mag = np.abs(chg)
    out = {}
    for line, key in (("RSI1", "n1"), ("RSI2", "n2"), ("RSI3", "n3")):
        out[line] = div(tdx_sma(up, p[key], 1), tdx_sma(mag, p[key], 1)) * 100.0
    return out


@indicator(
    "KDJ", "随机指标", "KDJ stochastic", "oscillator", ("high", "low", "close"),
    ("K", "D", "J"),
    (period("n", 9), period("m1", 3), period("m2", 3)),
    "RSV:=(CLOSE-LLV(LOW,N))/(HHV(HIGH,N)-LLV(LOW,N))*100; K:SMA(RSV,M1,1); "
    "D:SMA(K,M2,1); J:3*K-2*D  {K and D start at 50}",
    "同花顺/TDX KDJ: K and D are SMA(·,3,1) recursions started at 50 (K0 = (RSV0 + 2·50)/3), "
    "HHV/LLV use the bars available so far during the first N−1 bars, so K, D, J exist "
    "from the first bar. On a bar whose high-low range over the window is zero, RSV is "
    "undefined: K holds its previous value and D keeps smoothing toward it. Differs "
    "from TA-Lib STOCH (SMA smoothing, no 50 start, no J).",
)  # fmt: skip
def kdj(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """同花顺/TDX ``KDJ``."""
    n = p["n"]
    hh = nb.rolling_extreme_nb(x["high"], n, 1, True)
    ll = nb.rolling_extreme_nb(x["low"], n, 1, False)
    rsv = div(x["close"] - ll, hh - ll) * 100.0
    k = tdx_sma(rsv, p["m1"], 1, 50.0)
    d = tdx_sma(k, p["m2"], 1, 50.0)
    return {"K": k, "D": d, "J": 3.0 * k - 2.0 * d}


@indicator(
    "CCI", "顺势指标", "Commodity channel index", "oscillator", ("high", "low", "close"),
    ("CCI",),
    (period("n", 14, 2),),
    "TYP:=(HIGH+LOW+CLOSE)/3; CCI:(TYP-MA(TYP,N))/(0.015*AVEDEV(TYP,N))",
    "Typical price's distance from its N-bar mean in units of 0.015 mean absolute "
    "deviation. Same as TA-Lib CCI. NaN for the first N−1 bars.",
)  # fmt: skip
def cci(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``CCI``."""
    n = p["n"]
    typ = (x["high"] + x["low"] + x["close"]) / 3.0
    return {"CCI": div(typ - nb.rolling_mean_nb(typ, n), 0.015 * nb.avedev_nb(typ, n))}


@indicator(
    "WR", "威廉指标", "Williams %R", "oscillator", ("high", "low", "close"), ("WR1", "WR2"),
    (period("n", 10), period("n1", 6)),
    "WR1:100*(HHV(HIGH,N)-CLOSE)/(HHV(HIGH,N)-LLV(LOW,N)); WR2 likewise with N1",
    "TDX sign convention: 0 at the window high, 100 at the window low (TA-Lib WILLR is "
    "the negative, −100…0). NaN for the first N−1 bars.",
)  # fmt: skip
def wr(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``WR``."""
    out = {}
    for line, key in (("WR1", "n"), ("WR2", "n1")):
        hh = nb.rolling_extreme_nb(x["high"], p[key], p[key], True)
        ll = nb.rolling_extreme_nb(x["low"], p[key], p[key], False)
        out[line] = div(hh - x["close"], hh - ll) * 100.0
    return out


@indicator(
    "ROC", "变动率指标", "Rate of change", "oscillator", ("close",), ("ROC", "MAROC"),
    (period("n", 12), period("m", 6)),
    "ROC:100*(CLOSE-REF(CLOSE,N))/REF(CLOSE,N); MAROC:MA(ROC,M)",
    "Percent change over N bars (same as TA-Lib ROC) and its M-bar mean.",
)  # fmt: skip
def roc(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``ROC``."""
    c = x["close"]
    prev = ref(c, p["n"])
    r = div(c - prev, prev) * 100.0
    return {"ROC": r, "MAROC": nb.rolling_mean_nb(r, p["m"])}


@indicator(
    "MTM", "动量线", "Momentum (MOM)", "oscillator", ("close",), ("MTM", "MTMMA"),
    (period("n", 12), period("m", 6)),
    "MTM:CLOSE-REF(CLOSE,N); MTMMA:MA(MTM,M)",
    "Price change over N bars (same as TA-Lib MOM) and its M-bar mean.",
)  # fmt: skip
def mtm(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MTM``."""
    m = x["close"] - ref(x["close"], p["n"])
    return {"MTM": m, "MTMMA": nb.rolling_mean_nb(m, p["m"])}


@indicator(
    "BIAS", "乖离率", "Bias ratio", "oscillator", ("close",), ("BIAS1", "BIAS2", "BIAS3"),
    (period("n1", 6), period("n2", 12), period("n3", 24)),
    "BIAS1:(CLOSE-MA(CLOSE,N1))/MA(CLOSE,N1)*100 (BIAS2, BIAS3 likewise)",
    "Percent distance of the close from its N-bar simple mean.",
)  # fmt: skip
def bias(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BIAS``."""
    c = x["close"]
    out = {}
    for line, key in (("BIAS1", "n1"), ("BIAS2", "n2"), ("BIAS3", "n3")):
        m = nb.rolling_mean_nb(c, p[key])
        out[line] = div(c - m, m) * 100.0
    return out


@indicator(
    "PSY", "心理线", "Psychological line", "oscillator", ("close",), ("PSY", "PSYMA"),
    (period("n", 12), period("m", 6)),
    "PSY:COUNT(CLOSE>REF(CLOSE,1),N)/N*100; PSYMA:MA(PSY,M)",
    "Percent of the last N bars that closed up. Starts at bar N (bar 0 has no change).",
)  # fmt: skip
def psy(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``PSY``."""
    c = x["close"]
    prev = ref(c)
    ups = if_prev(c > prev, 1.0, prev)
    ps = nb.rolling_sum_nb(ups, p["n"]) / p["n"] * 100.0
    return {"PSY": ps, "PSYMA": nb.rolling_mean_nb(ps, p["m"])}


@indicator(
    "BRAR", "情绪指标", "BR/AR sentiment", "oscillator", ("open", "high", "low", "close"),
    ("BR", "AR"),
    (period("n", 26),),
    "BR:SUM(MAX(0,HIGH-REF(CLOSE,1)),N)/SUM(MAX(0,REF(CLOSE,1)-LOW),N)*100; "
    "AR:SUM(HIGH-OPEN,N)/SUM(OPEN-LOW,N)*100",
    "Buying versus selling pressure around the previous close (BR) and the open (AR).",
)  # fmt: skip
def brar(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BRAR``."""
    n = p["n"]
    pc = ref(x["close"])
    up = np.maximum(x["high"] - pc, 0.0)
    dn = np.maximum(pc - x["low"], 0.0)
    br = div(nb.rolling_sum_nb(up, n), nb.rolling_sum_nb(dn, n)) * 100.0
    ar_up = nb.rolling_sum_nb(x["high"] - x["open"], n)
    ar = div(ar_up, nb.rolling_sum_nb(x["open"] - x["low"], n)) * 100.0
    return {"BR": br, "AR": ar}


# -------------------------------------------------------------------------- volume


@indicator(
    "VOL", "成交量均线", "Volume moving averages", "volume", ("volume",),
    ("VOLUME", "MAVOL1", "MAVOL2"),
    (period("m1", 5), period("m2", 10)),
    "VOLUME:VOL; MAVOL1:MA(VOLUME,M1); MAVOL2:MA(VOLUME,M2)",
    "Volume with its M1- and M2-bar simple means, in the dataset's volume unit.",
)  # fmt: skip
def vol(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``VOL``."""
    v = x["volume"]
    return {
        "VOLUME": v.copy(order="F"),
        "MAVOL1": nb.rolling_mean_nb(v, p["m1"]),
        "MAVOL2": nb.rolling_mean_nb(v, p["m2"]),
    }


@indicator(
    "OBV", "能量潮", "On-balance volume", "volume", ("close", "volume"), ("OBV", "MAOBV"),
    (period("m", 30),),
    "VA:=IF(CLOSE>REF(CLOSE,1),VOL,-VOL); OBV:SUM(IF(CLOSE=REF(CLOSE,1),0,VA),0); "
    "MAOBV:MA(OBV,M)  {OBV0 = VOL0}",
    "Running sum of signed volume. The level is arbitrary; it is anchored at the first "
    "bar's volume as TA-Lib OBV does, so OBV equals TA-Lib's.",
)  # fmt: skip
def obv(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``OBV``."""
    c, v = x["close"], x["volume"]
    prev = ref(c)
    signed = np.where(c > prev, v, np.where(c < prev, -v, 0.0))
    signed[0] = v[0]
    o = np.asfortranarray(np.cumsum(signed, axis=0))
    return {"OBV": o, "MAOBV": nb.rolling_mean_nb(o, p["m"])}


@indicator(
    "VR", "成交量变异率", "Volume ratio", "volume", ("close", "volume"), ("VR", "MAVR"),
    (period("n", 26), period("m", 6)),
    "TH:=SUM(IF(CLOSE>REF(CLOSE,1),VOL,0),N); TL:=SUM(IF(CLOSE<REF(CLOSE,1),VOL,0),N); "
    "TQ:=SUM(IF(CLOSE=REF(CLOSE,1),VOL,0),N); VR:100*(TH*2+TQ)/(TL*2+TQ); MAVR:MA(VR,M)",
    "Up-day volume against down-day volume over N bars, flat days counted half to each. "
    "Starts at bar N.",
)  # fmt: skip
def vr(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``VR``."""
    c, v, n = x["close"], x["volume"], p["n"]
    prev = ref(c)
    th = nb.rolling_sum_nb(if_prev(c > prev, v, prev), n)
    tl = nb.rolling_sum_nb(if_prev(c < prev, v, prev), n)
    tq = nb.rolling_sum_nb(if_prev(c == prev, v, prev), n)
    r = div(100.0 * (2.0 * th + tq), 2.0 * tl + tq)
    return {"VR": r, "MAVR": nb.rolling_mean_nb(r, p["m"])}


@indicator(
    "MFI", "资金流量指标", "Money flow index", "volume", ("high", "low", "close", "volume"),
    ("MFI",),
    (period("n", 14),),
    "TYP:=(HIGH+LOW+CLOSE)/3; V1:=SUM(IF(TYP>REF(TYP,1),TYP*VOL,0),N)/"
    "SUM(IF(TYP<REF(TYP,1),TYP*VOL,0),N); MFI:100-(100/(1+V1))",
    "RSI of money flow, computed as 100·up/(up+down) so a window with no down flow gives "
    "100. Same as TA-Lib MFI. Starts at bar N.",
)  # fmt: skip
def mfi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MFI``."""
    typ = (x["high"] + x["low"] + x["close"]) / 3.0
    prev = ref(typ)
    flow = typ * x["volume"]
    pos = nb.rolling_sum_nb(if_prev(typ > prev, flow, prev), p["n"])
    neg = nb.rolling_sum_nb(if_prev(typ < prev, flow, prev), p["n"])
    return {"MFI": div(100.0 * pos, pos + neg)}
