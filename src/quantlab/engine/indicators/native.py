"""Native technical indicators with the formulas of Chinese charting software (通达信/同花顺).

Every function takes ``(T, N)`` float64 arrays whose columns hold one instrument's bars
packed to the top (the catalog skips missing bars before calling, see ``catalog``), and
returns a dict of ``(T, N)`` arrays named like the TDX formula's output lines.

Shared conventions (the formula text of each spec uses TDX function names):

* ``MA(X,N)``: simple mean of the last N bars, NaN for the first N−1 bars.
* ``EMA(X,N)``: ``Y = (2·X + (N−1)·Y')/(N+1)`` seeded with the first value
  (``Y_0 = X_0``), so it has a value from the first bar. TA-Lib seeds with the mean of the
  first N values and starts at bar N−1 instead; the two converge as the seed's weight
  ``((N−1)/(N+1))^t`` decays.
* ``SMA(X,N,M)``: ``Y = (M·X + (N−M)·Y')/N``, seeded with the first value unless a
  starting value is stated (KDJ starts K and D at 50). ``SMA(X,N,1)`` is Wilder smoothing.
* ``REF(X,1)``: the previous bar's value (the previous *traded* bar across suspensions).
* ``HHV/LLV``: highest/lowest of the last N bars.
* ``STD``: population (ddof = 0) unless the parameter says otherwise.
* A division by zero gives NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from quantlab.engine.indicators import kernels_nb as nb
from quantlab.engine.indicators.spec import Category, IndicatorSpec, ParamSpec

Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]

SPECS: list[IndicatorSpec] = []

_MAX_PERIOD = 5000


def _period(name: str, default: int, lo: int = 1, desc: str = "") -> ParamSpec:
    return ParamSpec(name, default, lo, _MAX_PERIOD, "int", desc or "bars")


def _native(
    name: str,
    zh: str,
    en: str,
    category: Category,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    params: tuple[ParamSpec, ...],
    formula: str,
    description: str,
) -> Callable[[Callable[[Arrays, Params], dict[str, np.ndarray]]], Any]:
    def register(func: Callable[[Arrays, Params], dict[str, np.ndarray]]) -> Any:
        SPECS.append(
            IndicatorSpec(
                name=name,
                zh_name=zh,
                en_name=en,
                category=category,
                source="native",
                inputs=inputs,
                outputs=outputs,
                params=params,
                description=description,
                formula=formula,
                func=func,
            )
        )
        return func

    return register


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with NaN where ``b`` is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def _ref(x: np.ndarray, k: int = 1) -> np.ndarray:
    return nb.shift_nb(x, k)


def _ema(x: np.ndarray, n: int) -> np.ndarray:
    return nb.ema_nb(x, 2.0 / (n + 1), np.nan)


def _sma(x: np.ndarray, n: int, m: int, init: float = np.nan) -> np.ndarray:
    return nb.ema_nb(x, m / n, init)


def _keep_nan(cond: np.ndarray, value: np.ndarray | float, like: np.ndarray) -> np.ndarray:
    """``IF(cond, value, 0)`` that stays NaN where ``like`` is NaN (no previous bar yet)."""
    return np.where(np.isnan(like), np.nan, np.where(cond, value, 0.0))


def _true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    pc = _ref(close)
    return np.maximum(np.maximum(high - low, np.abs(high - pc)), np.abs(pc - low))


# --------------------------------------------------------------------------- trend


@_native(
    "MA", "移动平均线", "Simple moving average", "trend", ("close",), ("MA",),
    (_period("n", 5),),
    "MA:MA(CLOSE,N)",
    "Arithmetic mean of the last N closes. NaN for the first N−1 bars.",
)  # fmt: skip
def ma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MA``."""
    return {"MA": nb.rolling_mean_nb(x["close"], p["n"])}


@_native(
    "EMA", "指数移动平均", "Exponential moving average", "trend", ("close",), ("EMA",),
    (_period("n", 12),),
    "EMA:EMA(CLOSE,N)  {Y=(2·X+(N−1)·Y')/(N+1), Y0=X0}",
    "Exponential average with weight 2/(N+1), seeded with the first close (TDX), so it is "
    "defined from the first bar; early values lean on the seed.",
)  # fmt: skip
def ema(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``EMA``."""
    return {"EMA": _ema(x["close"], p["n"])}


@_native(
    "WMA", "加权移动平均", "Weighted moving average", "trend", ("close",), ("WMA",),
    (_period("n", 10),),
    "WMA:WMA(CLOSE,N)  {weights 1..N, newest heaviest}",
    "Linearly weighted mean of the last N closes. NaN for the first N−1 bars.",
)  # fmt: skip
def wma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``WMA`` (same as TA-Lib ``WMA``)."""
    return {"WMA": nb.wma_nb(x["close"], p["n"])}


@_native(
    "EXPMA", "指数平均数", "EXPMA (two exponential averages)", "trend", ("close",),
    ("EXP1", "EXP2"),
    (_period("m1", 12), _period("m2", 50)),
    "EXP1:EMA(CLOSE,M1); EXP2:EMA(CLOSE,M2)",
    "A fast and a slow EMA of the close, seeded with the first close.",
)  # fmt: skip
def expma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``EXPMA``."""
    return {"EXP1": _ema(x["close"], p["m1"]), "EXP2": _ema(x["close"], p["m2"])}


@_native(
    "MACD", "平滑异同移动平均线", "Moving average convergence divergence", "trend",
    ("close",), ("DIF", "DEA", "MACD"),
    (_period("short", 12, 2), _period("long", 26, 2), _period("mid", 9)),
    "DIF:EMA(CLOSE,SHORT)-EMA(CLOSE,LONG); DEA:EMA(DIF,MID); MACD:(DIF-DEA)*2",
    "TDX MACD: the bar is twice DIF−DEA (TA-Lib's histogram is DIF−DEA), and the EMAs are "
    "seeded with the first close, so all three lines exist from the first bar.",
)  # fmt: skip
def macd(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MACD``."""
    c = x["close"]
    dif = _ema(c, p["short"]) - _ema(c, p["long"])
    dea = _ema(dif, p["mid"])
    return {"DIF": dif, "DEA": dea, "MACD": 2.0 * (dif - dea)}


@_native(
    "BBI", "多空指标", "Bull and bear index", "trend", ("close",), ("BBI",),
    (_period("n1", 3), _period("n2", 6), _period("n3", 12), _period("n4", 24)),
    "BBI:(MA(CLOSE,N1)+MA(CLOSE,N2)+MA(CLOSE,N3)+MA(CLOSE,N4))/4",
    "Mean of four simple moving averages. NaN until the longest one is defined.",
)  # fmt: skip
def bbi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BBI``."""
    c = x["close"]
    total = sum(nb.rolling_mean_nb(c, p[k]) for k in ("n1", "n2", "n3", "n4"))
    return {"BBI": np.asarray(total) / 4.0}


@_native(
    "DMA", "平行线差", "Difference of moving averages", "trend", ("close",), ("DIF", "DIFMA"),
    (_period("n1", 10), _period("n2", 50), _period("m", 10)),
    "DIF:MA(CLOSE,N1)-MA(CLOSE,N2); DIFMA:MA(DIF,M)",
    "Short minus long simple moving average, and its M-bar average.",
)  # fmt: skip
def dma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``DMA``."""
    c = x["close"]
    dif = nb.rolling_mean_nb(c, p["n1"]) - nb.rolling_mean_nb(c, p["n2"])
    return {"DIF": dif, "DIFMA": nb.rolling_mean_nb(dif, p["m"])}


@_native(
    "DMI", "趋向指标", "Directional movement index", "trend", ("high", "low", "close"),
    ("PDI", "MDI", "ADX", "ADXR"),
    (_period("n", 14), _period("m", 6)),
    "MTR:=SUM(MAX(MAX(HIGH-LOW,ABS(HIGH-REF(CLOSE,1))),ABS(REF(CLOSE,1)-LOW)),N); "
    "HD:=HIGH-REF(HIGH,1); LD:=REF(LOW,1)-LOW; "
    "DMP:=SUM(IF(HD>0&&HD>LD,HD,0),N); DMM:=SUM(IF(LD>0&&LD>HD,LD,0),N); "
    "PDI:DMP*100/MTR; MDI:DMM*100/MTR; ADX:MA(ABS(MDI-PDI)/(MDI+PDI)*100,M); "
    "ADXR:(ADX+REF(ADX,M))/2",
    "TDX DMI: N-bar sums and an M-bar simple average, where TA-Lib's PLUS_DI/MINUS_DI/ADX "
    "use Wilder smoothing over N for both, so the values differ. The first bar has no "
    "previous bar, so PDI/MDI start at bar N, ADX at N+M−1, ADXR at N+2M−1.",
)  # fmt: skip
def dmi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``DMI``."""
    h, lo, c = x["high"], x["low"], x["close"]
    n, m = p["n"], p["m"]
    mtr = nb.rolling_sum_nb(_true_range(h, lo, c), n)
    hd = h - _ref(h)
    ld = _ref(lo) - lo
    dmp = nb.rolling_sum_nb(_keep_nan((hd > 0) & (hd > ld), hd, hd), n)
    dmm = nb.rolling_sum_nb(_keep_nan((ld > 0) & (ld > hd), ld, ld), n)
    pdi = _div(dmp * 100.0, mtr)
    mdi = _div(dmm * 100.0, mtr)
    adx = nb.rolling_mean_nb(_div(np.abs(mdi - pdi), mdi + pdi) * 100.0, m)
    return {"PDI": pdi, "MDI": mdi, "ADX": adx, "ADXR": (adx + _ref(adx, m)) / 2.0}


@_native(
    "SAR", "抛物线转向", "Parabolic stop and reverse", "trend", ("high", "low"), ("SAR",),
    (
        ParamSpec("step", 0.02, 0.001, 1.0, "float", "acceleration step"),
        ParamSpec("limit", 0.2, 0.001, 1.0, "float", "acceleration cap"),
    ),
    "Wilder: SAR' = SAR + AF·(EP − SAR); AF starts at STEP, grows by STEP at each new "
    "extreme point EP, capped at LIMIT; reverses when price crosses SAR",
    "Wilder's parabolic SAR with TA-Lib's start-up (direction from bar 1's directional "
    "movement; first SAR at bar 1), identical to TA-Lib SAR. TDX's SAR(N,S,M) instead "
    "seeds with an N-bar extreme, so its first few reversals can differ.",
)  # fmt: skip
def sar(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """Parabolic SAR."""
    return {"SAR": nb.sar_nb(x["high"], x["low"], p["step"], p["limit"])}


@_native(
    "TRIX", "三重指数平滑平均线", "Triple exponential average rate of change", "trend",
    ("close",), ("TRIX", "MATRIX"),
    (_period("n", 12), _period("m", 9)),
    "MTR:=EMA(EMA(EMA(CLOSE,N),N),N); TRIX:(MTR-REF(MTR,1))/REF(MTR,1)*100; "
    "MATRIX:MA(TRIX,M)",
    "One-bar percent change of a triple EMA (EMAs seeded with the first close; TA-Lib "
    "seeds each with an N-bar mean, so early values differ). TRIX starts at bar 1.",
)  # fmt: skip
def trix(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``TRIX``."""
    n = p["n"]
    mtr = _ema(_ema(_ema(x["close"], n), n), n)
    prev = _ref(mtr)
    t = _div(mtr - prev, prev) * 100.0
    return {"TRIX": t, "MATRIX": nb.rolling_mean_nb(t, p["m"])}


# ---------------------------------------------------------------------- oscillator


@_native(
    "RSI", "相对强弱指标", "Relative strength index", "oscillator", ("close",),
    ("RSI1", "RSI2", "RSI3"),
    (_period("n1", 6), _period("n2", 12), _period("n3", 24)),
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
    chg = c - _ref(c)
    up = np.maximum(chg, 0.0)  # np.maximum keeps bar 0's NaN
    mag = np.abs(chg)
    out = {}
    for line, key in (("RSI1", "n1"), ("RSI2", "n2"), ("RSI3", "n3")):
        out[line] = _div(_sma(up, p[key], 1), _sma(mag, p[key], 1)) * 100.0
    return out


@_native(
    "KDJ", "随机指标", "KDJ stochastic", "oscillator", ("high", "low", "close"),
    ("K", "D", "J"),
    (_period("n", 9), _period("m1", 3), _period("m2", 3)),
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
    rsv = _div(x["close"] - ll, hh - ll) * 100.0
    k = _sma(rsv, p["m1"], 1, 50.0)
    d = _sma(k, p["m2"], 1, 50.0)
    return {"K": k, "D": d, "J": 3.0 * k - 2.0 * d}


@_native(
    "CCI", "顺势指标", "Commodity channel index", "oscillator", ("high", "low", "close"),
    ("CCI",),
    (_period("n", 14, 2),),
    "TYP:=(HIGH+LOW+CLOSE)/3; CCI:(TYP-MA(TYP,N))/(0.015*AVEDEV(TYP,N))",
    "Typical price's distance from its N-bar mean in units of 0.015 mean absolute "
    "deviation. Same as TA-Lib CCI. NaN for the first N−1 bars.",
)  # fmt: skip
def cci(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``CCI``."""
    n = p["n"]
    typ = (x["high"] + x["low"] + x["close"]) / 3.0
    return {"CCI": _div(typ - nb.rolling_mean_nb(typ, n), 0.015 * nb.avedev_nb(typ, n))}


@_native(
    "WR", "威廉指标", "Williams %R", "oscillator", ("high", "low", "close"), ("WR1", "WR2"),
    (_period("n", 10), _period("n1", 6)),
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
        out[line] = _div(hh - x["close"], hh - ll) * 100.0
    return out


@_native(
    "ROC", "变动率指标", "Rate of change", "oscillator", ("close",), ("ROC", "MAROC"),
    (_period("n", 12), _period("m", 6)),
    "ROC:100*(CLOSE-REF(CLOSE,N))/REF(CLOSE,N); MAROC:MA(ROC,M)",
    "Percent change over N bars (same as TA-Lib ROC) and its M-bar mean.",
)  # fmt: skip
def roc(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``ROC``."""
    c = x["close"]
    prev = _ref(c, p["n"])
    r = _div(c - prev, prev) * 100.0
    return {"ROC": r, "MAROC": nb.rolling_mean_nb(r, p["m"])}


@_native(
    "MTM", "动量线", "Momentum (MOM)", "oscillator", ("close",), ("MTM", "MTMMA"),
    (_period("n", 12), _period("m", 6)),
    "MTM:CLOSE-REF(CLOSE,N); MTMMA:MA(MTM,M)",
    "Price change over N bars (same as TA-Lib MOM) and its M-bar mean.",
)  # fmt: skip
def mtm(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MTM``."""
    m = x["close"] - _ref(x["close"], p["n"])
    return {"MTM": m, "MTMMA": nb.rolling_mean_nb(m, p["m"])}


@_native(
    "BIAS", "乖离率", "Bias ratio", "oscillator", ("close",), ("BIAS1", "BIAS2", "BIAS3"),
    (_period("n1", 6), _period("n2", 12), _period("n3", 24)),
    "BIAS1:(CLOSE-MA(CLOSE,N1))/MA(CLOSE,N1)*100 (BIAS2, BIAS3 likewise)",
    "Percent distance of the close from its N-bar simple mean.",
)  # fmt: skip
def bias(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BIAS``."""
    c = x["close"]
    out = {}
    for line, key in (("BIAS1", "n1"), ("BIAS2", "n2"), ("BIAS3", "n3")):
        m = nb.rolling_mean_nb(c, p[key])
        out[line] = _div(c - m, m) * 100.0
    return out


@_native(
    "PSY", "心理线", "Psychological line", "oscillator", ("close",), ("PSY", "PSYMA"),
    (_period("n", 12), _period("m", 6)),
    "PSY:COUNT(CLOSE>REF(CLOSE,1),N)/N*100; PSYMA:MA(PSY,M)",
    "Percent of the last N bars that closed up. Starts at bar N (bar 0 has no change).",
)  # fmt: skip
def psy(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``PSY``."""
    c = x["close"]
    prev = _ref(c)
    ups = _keep_nan(c > prev, 1.0, prev)
    ps = nb.rolling_sum_nb(ups, p["n"]) / p["n"] * 100.0
    return {"PSY": ps, "PSYMA": nb.rolling_mean_nb(ps, p["m"])}


@_native(
    "BRAR", "情绪指标", "BR/AR sentiment", "oscillator", ("open", "high", "low", "close"),
    ("BR", "AR"),
    (_period("n", 26),),
    "BR:SUM(MAX(0,HIGH-REF(CLOSE,1)),N)/SUM(MAX(0,REF(CLOSE,1)-LOW),N)*100; "
    "AR:SUM(HIGH-OPEN,N)/SUM(OPEN-LOW,N)*100",
    "Buying versus selling pressure around the previous close (BR) and the open (AR).",
)  # fmt: skip
def brar(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BRAR``."""
    n = p["n"]
    pc = _ref(x["close"])
    up = np.maximum(x["high"] - pc, 0.0)
    dn = np.maximum(pc - x["low"], 0.0)
    br = _div(nb.rolling_sum_nb(up, n), nb.rolling_sum_nb(dn, n)) * 100.0
    ar_up = nb.rolling_sum_nb(x["high"] - x["open"], n)
    ar = _div(ar_up, nb.rolling_sum_nb(x["open"] - x["low"], n)) * 100.0
    return {"BR": br, "AR": ar}


# -------------------------------------------------------------------------- volume


@_native(
    "VOL", "成交量均线", "Volume moving averages", "volume", ("volume",),
    ("VOLUME", "MAVOL1", "MAVOL2"),
    (_period("m1", 5), _period("m2", 10)),
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


@_native(
    "OBV", "能量潮", "On-balance volume", "volume", ("close", "volume"), ("OBV", "MAOBV"),
    (_period("m", 30),),
    "VA:=IF(CLOSE>REF(CLOSE,1),VOL,-VOL); OBV:SUM(IF(CLOSE=REF(CLOSE,1),0,VA),0); "
    "MAOBV:MA(OBV,M)  {OBV0 = VOL0}",
    "Running sum of signed volume. The level is arbitrary; it is anchored at the first "
    "bar's volume as TA-Lib OBV does, so OBV equals TA-Lib's.",
)  # fmt: skip
def obv(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``OBV``."""
    c, v = x["close"], x["volume"]
    prev = _ref(c)
    signed = np.where(c > prev, v, np.where(c < prev, -v, 0.0))
    signed[0] = v[0]
    o = np.asfortranarray(np.cumsum(signed, axis=0))
    return {"OBV": o, "MAOBV": nb.rolling_mean_nb(o, p["m"])}


@_native(
    "VR", "成交量变异率", "Volume ratio", "volume", ("close", "volume"), ("VR", "MAVR"),
    (_period("n", 26), _period("m", 6)),
    "TH:=SUM(IF(CLOSE>REF(CLOSE,1),VOL,0),N); TL:=SUM(IF(CLOSE<REF(CLOSE,1),VOL,0),N); "
    "TQ:=SUM(IF(CLOSE=REF(CLOSE,1),VOL,0),N); VR:100*(TH*2+TQ)/(TL*2+TQ); MAVR:MA(VR,M)",
    "Up-day volume against down-day volume over N bars, flat days counted half to each. "
    "Starts at bar N.",
)  # fmt: skip
def vr(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``VR``."""
    c, v, n = x["close"], x["volume"], p["n"]
    prev = _ref(c)
    th = nb.rolling_sum_nb(_keep_nan(c > prev, v, prev), n)
    tl = nb.rolling_sum_nb(_keep_nan(c < prev, v, prev), n)
    tq = nb.rolling_sum_nb(_keep_nan(c == prev, v, prev), n)
    r = _div(100.0 * (2.0 * th + tq), 2.0 * tl + tq)
    return {"VR": r, "MAVR": nb.rolling_mean_nb(r, p["m"])}


@_native(
    "MFI", "资金流量指标", "Money flow index", "volume", ("high", "low", "close", "volume"),
    ("MFI",),
    (_period("n", 14),),
    "TYP:=(HIGH+LOW+CLOSE)/3; V1:=SUM(IF(TYP>REF(TYP,1),TYP*VOL,0),N)/"
    "SUM(IF(TYP<REF(TYP,1),TYP*VOL,0),N); MFI:100-(100/(1+V1))",
    "RSI of money flow, computed as 100·up/(up+down) so a window with no down flow gives "
    "100. Same as TA-Lib MFI. Starts at bar N.",
)  # fmt: skip
def mfi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MFI``."""
    typ = (x["high"] + x["low"] + x["close"]) / 3.0
    prev = _ref(typ)
    flow = typ * x["volume"]
    pos = nb.rolling_sum_nb(_keep_nan(typ > prev, flow, prev), p["n"])
    neg = nb.rolling_sum_nb(_keep_nan(typ < prev, flow, prev), p["n"])
    return {"MFI": _div(100.0 * pos, pos + neg)}


# ---------------------------------------------------------------------- volatility


@_native(
    "BOLL", "布林线", "Bollinger bands", "volatility", ("close",), ("BOLL", "UB", "LB"),
    (
        _period("n", 20, 2),
        ParamSpec("k", 2.0, 0.0, 10.0, "float", "band width in standard deviations"),
        ParamSpec("ddof", 0, 0, 1, "int", "0: population std (default), 1: sample std"),
    ),
    "BOLL:MA(CLOSE,N); UB:BOLL+K*STDP(CLOSE,N); LB:BOLL-K*STDP(CLOSE,N)",
    "Bands K population standard deviations (ddof 0, as Bollinger and TA-Lib BBANDS "
    "define them) around the N-bar mean. TDX's formula text uses STD, the sample "
    "deviation: set ddof=1 to reproduce it (bands wider by sqrt(N/(N−1))).",
)  # fmt: skip
def boll(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """Bollinger bands."""
    c, n = x["close"], p["n"]
    mid = nb.rolling_mean_nb(c, n)
    width = p["k"] * nb.rolling_std_nb(c, n, p["ddof"])
    return {"BOLL": mid, "UB": mid + width, "LB": mid - width}


@_native(
    "ATR", "真实波幅", "Average true range", "volatility", ("high", "low", "close"),
    ("MTR", "ATR"),
    (_period("n", 14),),
    "MTR:MAX(MAX(HIGH-LOW,ABS(REF(CLOSE,1)-HIGH)),ABS(REF(CLOSE,1)-LOW)); ATR:MA(MTR,N)",
    "TDX ATR: a simple N-bar mean of the true range (TA-Lib ATR uses Wilder smoothing "
    "instead). The true range needs the previous close, so MTR starts at bar 1 (as TA-Lib "
    "TRANGE) and ATR at bar N.",
)  # fmt: skip
def atr(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``ATR``."""
    tr = _true_range(x["high"], x["low"], x["close"])
    return {"MTR": tr, "ATR": nb.rolling_mean_nb(tr, p["n"])}
