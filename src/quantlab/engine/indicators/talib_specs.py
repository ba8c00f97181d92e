"""TA-Lib functions as catalog entries, built by introspecting ``talib.abstract``.

Each function keeps TA-Lib's own name (registered as ``talib.<NAME>``), default
parameters and output names, and is computed per instrument on that instrument's bars
(the catalog packs them, see ``catalog``), so a later listing or a suspension in one
instrument never shifts another's warm-up. TA-Lib semantics apply unchanged: its
warm-up ("lookback") bars are NaN and its EMA-family functions seed with an N-bar mean.

Parameter ranges are not exposed by the Python wrapper, so they are derived: integer
periods run from the smallest of 1 or 2 that TA-Lib accepts (probed once) up to
100000, MA types over ``talib.MA_Type``, and real parameters over the ranges below.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import talib
from talib import _ta_lib, abstract

from quantlab.engine.indicators.spec import Category, IndicatorError, IndicatorSpec, ParamSpec

PREFIX = "talib."

_GROUP_CATEGORY: dict[str, Category] = {
    "Overlap Studies": "trend",
    "Momentum Indicators": "oscillator",
    "Volume Indicators": "volume",
    "Volatility Indicators": "volatility",
    "Statistic Functions": "trend",
    "Cycle Indicators": "oscillator",
}
_CATEGORY_OVERRIDES: dict[str, Category] = {
    **dict.fromkeys(
        "ADX ADXR DX PLUS_DI MINUS_DI PLUS_DM MINUS_DM AROON AROONOSC MACD MACDEXT MACDFIX "
        "TRIX VORTEX VHF".split(),
        "trend",
    ),
    **dict.fromkeys("BBANDS ACCBANDS KC DONCHIAN STDDEV VAR".split(), "volatility"),
    "MFI": "volume",
    "PERCENTRANK": "oscillator",
}
# MAVP needs a per-bar period series, not a field; FRACTAL marks a swing point only once
# later bars exist, which would leak future data into a bar-by-bar signal.
_EXCLUDED = frozenset({"MAVP", "FRACTAL"})

_REAL_RANGES: dict[str, tuple[float, float]] = {
    "fastlimit": (0.01, 0.99),
    "slowlimit": (0.01, 0.99),
    "vfactor": (0.0, 1.0),
    "percentile": (0.0, 100.0),
    "startvalue": (-1e9, 1e9),
}
_DEFAULT_REAL_RANGE = (0.0, 1e6)
_MAX_PERIOD = 100_000
_MAX_MATYPE = max(v for k, v in vars(type(talib.MA_Type)).items() if k.isupper())

_ZH: dict[str, str] = {
    "ACCBANDS": "加速带", "BBANDS": "布林带", "DEMA": "双指数移动平均", "DONCHIAN": "唐奇安通道",
    "EMA": "指数移动平均", "HMA": "赫尔移动平均", "HT_TRENDLINE": "希尔伯特瞬时趋势线",
    "KAMA": "考夫曼自适应均线", "KC": "肯特纳通道", "MA": "移动平均", "MAMA": "MESA自适应均线",
    "MIDPOINT": "中点", "MIDPRICE": "中间价", "RMA": "威尔德平滑均线", "SAR": "抛物线转向",
    "SAREXT": "扩展抛物线转向", "SMA": "简单移动平均", "SUPERTREND": "超级趋势",
    "T3": "T3三重指数均线", "TEMA": "三重指数移动平均", "TRIMA": "三角移动平均",
    "VWMA": "成交量加权均线", "WMA": "加权移动平均", "ZLEMA": "零滞后指数均线",
    "AC": "加速振荡器", "ADX": "平均趋向指数", "ADXR": "平均趋向指数评估", "AO": "动量振荡器",
    "APO": "绝对价格振荡器", "AROON": "阿隆指标", "AROONOSC": "阿隆振荡器", "BOP": "均势指标",
    "CCI": "顺势指标", "CMO": "钱德动量摆动", "CMOU": "钱德动量摆动(未平滑)",
    "COPPOCK": "估波曲线", "DPO": "区间震荡线", "DX": "趋向指数", "ER": "考夫曼效率比",
    "ERI": "艾达透视指标", "FOSC": "预测振荡器", "IMI": "日内动量指数", "KDJ": "随机指标",
    "MACD": "平滑异同移动平均线", "MACDEXT": "可选均线MACD", "MACDFIX": "固定参数MACD",
    "MFI": "资金流量指标", "MINUS_DI": "下降方向线", "MINUS_DM": "下降动向值", "MOM": "动量",
    "PLUS_DI": "上升方向线", "PLUS_DM": "上升动向值", "PPO": "价格震荡百分比",
    "QSTICK": "Q棒指标", "ROC": "变动率", "ROCP": "变动百分比", "ROCR": "变动比率",
    "ROCR100": "变动比率(百倍)", "RSI": "相对强弱指标", "SMI": "随机动量指数",
    "STOCH": "随机指标(慢速)", "STOCHF": "随机指标(快速)", "STOCHRSI": "随机相对强弱",
    "TRIX": "三重指数平滑变动率", "TSI": "真实强弱指数", "ULTOSC": "终极振荡指标",
    "VHF": "垂直水平过滤", "VORTEX": "涡旋指标", "WAD": "威廉累积派发", "WILLR": "威廉指标",
    "AD": "累积/派发线", "ADOSC": "震荡累积/派发", "CMF": "蔡金资金流", "EFI": "埃尔德强力指数",
    "MARKETFI": "市场促进指数", "NVI": "负成交量指标", "OBV": "能量潮", "PVI": "正成交量指标",
    "PVO": "成交量震荡百分比", "PVT": "价量趋势", "RVOL": "相对成交量",
    "VWAP": "成交量加权平均价", "ADR": "平均日波幅", "ATR": "平均真实波幅",
    "CVI": "蔡金波动率", "MASSI": "梅斯线", "NATR": "归一化平均真实波幅",
    "RVI": "相对波动率指数", "TRANGE": "真实波幅", "BETA": "贝塔系数", "CORREL": "相关系数",
    "LINEARREG": "线性回归", "LINEARREG_ANGLE": "线性回归角度",
    "LINEARREG_INTERCEPT": "线性回归截距", "LINEARREG_SLOPE": "线性回归斜率",
    "PERCENTILE": "百分位数", "PERCENTRANK": "百分位排名", "STDDEV": "标准差",
    "TSF": "时间序列预测", "VAR": "方差", "HT_DCPERIOD": "希尔伯特主周期",
    "HT_DCPHASE": "希尔伯特主周期相位", "HT_PHASOR": "希尔伯特相量分量",
    "HT_SINE": "希尔伯特正弦波", "HT_TRENDMODE": "希尔伯特趋势/周期模式",
}  # fmt: skip

# TA-Lib parameter type codes (TA_OptInputParameterType).
_REAL_RANGE, _REAL_LIST, _INT_RANGE, _INT_LIST = 0, 1, 2, 3


def _input_fields(info: Mapping[str, Any]) -> tuple[str, ...]:
    """TA-Lib's input names flattened to field names, in positional-argument order."""
    fields: list[str] = []
    for value in info["input_names"].values():
        fields.extend([value] if isinstance(value, str) else value)
    return tuple(fields)


def _accepts(name: str, n_inputs: int, params: dict[str, Any]) -> bool:
    probe = np.linspace(10.0, 11.0, 64)
    try:
        getattr(talib, name)(*([probe] * n_inputs), **params)
    except Exception:
        return False
    return True


def _param_specs(name: str, info: Mapping[str, Any], n_inputs: int) -> tuple[ParamSpec, ...]:
    defaults = dict(info["parameters"])
    specs = []
    for i, (pname, default) in enumerate(defaults.items()):
        meta = _ta_lib._ta_getOptInputParameterInfo(name.encode(), i)  # type: ignore[attr-defined]
        kind, help_text = meta["type"], meta["help"]
        if kind == _INT_LIST:
            specs.append(ParamSpec(pname, int(default), 0, _MAX_MATYPE, "int", help_text))
        elif kind == _INT_RANGE:
            lowest = 1 if _accepts(name, n_inputs, {**defaults, pname: 1}) else 2
            lowest = min(lowest, int(default))
            specs.append(ParamSpec(pname, int(default), lowest, _MAX_PERIOD, "int", help_text))
        else:
            lo, hi = _REAL_RANGES.get(pname, _DEFAULT_REAL_RANGE)
            specs.append(ParamSpec(pname, float(default), lo, hi, "float", help_text))
    return tuple(specs)


def _compute(
    name: str, fields: tuple[str, ...], outputs: tuple[str, ...], x: Mapping[str, np.ndarray],
    p: Mapping[str, Any],
) -> dict[str, np.ndarray]:  # fmt: skip
    """Call TA-Lib per column on the column's packed valid bars."""
    func = getattr(talib, name)
    arrays = [np.asarray(x[f], dtype=np.float64) for f in fields]
    t, n = arrays[0].shape
    counts = np.isfinite(np.stack(arrays)).all(axis=0).sum(axis=0)
    out = {o: np.full((t, n), np.nan, order="F") for o in outputs}
    for j in range(n):
        c = int(counts[j])
        if c == 0:
            continue
        try:
            res = func(*[np.ascontiguousarray(a[:c, j]) for a in arrays], **p)
        except Exception as exc:  # TA-Lib raises bare Exception with its return code
            raise IndicatorError(f"TA-Lib {name} failed: {exc}") from exc
        res = res if isinstance(res, tuple | list) else (res,)
        for o, r in zip(outputs, res, strict=True):
            out[o][:c, j] = r
    return out


def build_specs() -> list[IndicatorSpec]:
    """One spec per TA-Lib function of the chart-relevant groups in the installed TA-Lib."""
    specs = []
    groups = talib.get_function_groups()
    for group, category in _GROUP_CATEGORY.items():
        for name in groups.get(group, []):
            if name in _EXCLUDED:
                continue
            info = abstract.Function(name).info  # type: ignore[attr-defined]
            fields = _input_fields(info)
            outputs = tuple(info["output_names"])
            flags = "; ".join(info["function_flags"] or [])
            specs.append(
                IndicatorSpec(
                    name=PREFIX + name,
                    zh_name=_ZH.get(name, info["display_name"]),
                    en_name=info["display_name"],
                    category=_CATEGORY_OVERRIDES.get(name, category),
                    source="talib",
                    inputs=fields,
                    outputs=outputs,
                    params=_param_specs(name, info, len(fields)),
                    description=f"TA-Lib {name} ({group}). {flags}".strip(),
                    formula=f"talib.{name}({', '.join(fields)}, **params)",
                    func=partial(_compute, name, fields, outputs),
                )
            )
    return specs
