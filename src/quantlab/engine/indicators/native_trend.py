"""Native trend and volatility indicators (通达信/同花顺 formulas; conventions in ``native``)."""

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
    tdx_ema,
    true_range,
)
from quantlab.engine.indicators.spec import IndicatorSpec, ParamSpec

SPECS: list[IndicatorSpec] = []
indicator = registrar(SPECS)

# --------------------------------------------------------------------------- trend


@indicator(
    "MA", "移动平均线", "Simple moving average", "trend", ("close",), ("MA",),
    (period("n", 5),),
    "MA:MA(CLOSE,N)",
    "Arithmetic mean of the last N closes. NaN for the first N−1 bars.",
)  # fmt: skip
def ma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MA``."""
    return {"MA": nb.rolling_mean_nb(x["close"], p["n"])}


@indicator(
    "EMA", "指数移动平均", "Exponential moving average", "trend", ("close",), ("EMA",),
    (period("n", 12),),
    "EMA:EMA(CLOSE,N)  {Y=(2·X+(N−1)·Y')/(N+1), Y0=X0}",
    "Exponential average with weight 2/(N+1), seeded with the first close (TDX), so it is "
    "defined from the first bar; early values lean on the seed.",
)  # fmt: skip
def ema(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``EMA``."""
    return {"EMA": tdx_ema(x["close"], p["n"])}


@indicator(
    "WMA", "加权移动平均", "Weighted moving average", "trend", ("close",), ("WMA",),
    (period("n", 10),),
    "WMA:WMA(CLOSE,N)  {weights 1..N, newest heaviest}",
    "Linearly weighted mean of the last N closes. NaN for the first N−1 bars.",
)  # fmt: skip
def wma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``WMA`` (same as TA-Lib ``WMA``)."""
    return {"WMA": nb.wma_nb(x["close"], p["n"])}


@indicator(
    "EXPMA", "指数平均数", "EXPMA (two exponential averages)", "trend", ("close",),
    ("EXP1", "EXP2"),
    (period("m1", 12), period("m2", 50)),
    "EXP1:EMA(CLOSE,M1); EXP2:EMA(CLOSE,M2)",
    "A fast and a slow EMA of the close, seeded with the first close.",
)  # fmt: skip
def expma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``EXPMA``."""
    return {"EXP1": tdx_ema(x["close"], p["m1"]), "EXP2": tdx_ema(x["close"], p["m2"])}


@indicator(
    "MACD", "平滑异同移动平均线", "Moving average convergence divergence", "trend",
    ("close",), ("DIF", "DEA", "MACD"),
    (period("short", 12, 2), period("long", 26, 2), period("mid", 9)),
    "DIF:EMA(CLOSE,SHORT)-EMA(CLOSE,LONG); DEA:EMA(DIF,MID); MACD:(DIF-DEA)*2",
    "TDX MACD: the bar is twice DIF−DEA (TA-Lib's histogram is DIF−DEA), and the EMAs are "
    "seeded with the first close, so all three lines exist from the first bar.",
)  # fmt: skip
def macd(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``MACD``."""
    c = x["close"]
    dif = tdx_ema(c, p["short"]) - tdx_ema(c, p["long"])
    dea = tdx_ema(dif, p["mid"])
    return {"DIF": dif, "DEA": dea, "MACD": 2.0 * (dif - dea)}


@indicator(
    "BBI", "多空指标", "Bull and bear index", "trend", ("close",), ("BBI",),
    (period("n1", 3), period("n2", 6), period("n3", 12), period("n4", 24)),
    "BBI:(MA(CLOSE,N1)+MA(CLOSE,N2)+MA(CLOSE,N3)+MA(CLOSE,N4))/4",
    "Mean of four simple moving averages. NaN until the longest one is defined.",
)  # fmt: skip
def bbi(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``BBI``."""
    c = x["close"]
    total = sum(nb.rolling_mean_nb(c, p[k]) for k in ("n1", "n2", "n3", "n4"))
    return {"BBI": np.asarray(total) / 4.0}


@indicator(
    "DMA", "平行线差", "Difference of moving averages", "trend", ("close",), ("DIF", "DIFMA"),
    (period("n1", 10), period("n2", 50), period("m", 10)),
    "DIF:MA(CLOSE,N1)-MA(CLOSE,N2); DIFMA:MA(DIF,M)",
    "Short minus long simple moving average, and its M-bar average.",
)  # fmt: skip
def dma(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``DMA``."""
    c = x["close"]
    dif = nb.rolling_mean_nb(c, p["n1"]) - nb.rolling_mean_nb(c, p["n2"])
    return {"DIF": dif, "DIFMA": nb.rolling_mean_nb(dif, p["m"])}


@indicator(
    "DMI", "趋向指标", "Directional movement index", "trend", ("high", "low", "close"),
    ("PDI", "MDI", "ADX", "ADXR"),
    (period("n", 14), period("m", 6)),
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
    mtr = nb.rolling_sum_nb(true_range(h, lo, c), n)
    hd = h - ref(h)
    ld = ref(lo) - lo
    dmp = nb.rolling_sum_nb(if_prev((hd > 0) & (hd > ld), hd, hd), n)
    dmm = nb.rolling_sum_nb(if_prev((ld > 0) & (ld > hd), ld, ld), n)
    pdi = div(dmp * 100.0, mtr)
    mdi = div(dmm * 100.0, mtr)
    adx = nb.rolling_mean_nb(div(np.abs(mdi - pdi), mdi + pdi) * 100.0, m)
    return {"PDI": pdi, "MDI": mdi, "ADX": adx, "ADXR": (adx + ref(adx, m)) / 2.0}


@indicator(
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


@indicator(
    "TRIX", "三重指数平滑平均线", "Triple exponential average rate of change", "trend",
    ("close",), ("TRIX", "MATRIX"),
    (period("n", 12), period("m", 9)),
    "MTR:=EMA(EMA(EMA(CLOSE,N),N),N); TRIX:(MTR-REF(MTR,1))/REF(MTR,1)*100; "
    "MATRIX:MA(TRIX,M)",
    "One-bar percent change of a triple EMA (EMAs seeded with the first close; TA-Lib "
    "seeds each with an N-bar mean, so early values differ). TRIX starts at bar 1.",
)  # fmt: skip
def trix(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``TRIX``."""
    n = p["n"]
    mtr = tdx_ema(tdx_ema(tdx_ema(x["close"], n), n), n)
    prev = ref(mtr)
    t = div(mtr - prev, prev) * 100.0
    return {"TRIX": t, "MATRIX": nb.rolling_mean_nb(t, p["m"])}


# ---------------------------------------------------------------------- volatility


@indicator(
    "BOLL", "布林线", "Bollinger bands", "volatility", ("close",), ("BOLL", "UB", "LB"),
    (
        period("n", 20, 2),
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


@indicator(
    "ATR", "真实波幅", "Average true range", "volatility", ("high", "low", "close"),
    ("MTR", "ATR"),
    (period("n", 14),),
    "MTR:MAX(MAX(HIGH-LOW,ABS(REF(CLOSE,1)-HIGH)),ABS(REF(CLOSE,1)-LOW)); ATR:MA(MTR,N)",
    "TDX ATR: a simple N-bar mean of the true range (TA-Lib ATR uses Wilder smoothing "
    "instead). The true range needs the previous close, so MTR starts at bar 1 (as TA-Lib "
    "TRANGE) and ATR at bar N.",
)  # fmt: skip
def atr(x: Arrays, p: Params) -> dict[str, np.ndarray]:
    """TDX ``ATR``."""
    tr = true_range(x["high"], x["low"], x["close"])
    return {"MTR": tr, "ATR": nb.rolling_mean_nb(tr, p["n"])}
