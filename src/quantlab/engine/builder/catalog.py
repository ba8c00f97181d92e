"""The node catalog: every block type a graph may use, with typed ports and parameter
schemas, labels and descriptions in zh-CN and en.

Built from what exists rather than restated: one node per operator of the factor language
(:data:`quantlab.engine.expr.OPERATORS`: arithmetic, comparisons, cross up/down,
AND/OR/NOT, rolling windows, cross-sectional rank/z-score), one per indicator of the
indicator catalog (one output port per indicator output; a compiled spec lists the outputs
it reads in its ``indicators`` section and its expressions read them as ``$ind_…``
fields, which the engine computes with the indicator catalog), plus data, saved-factor,
signal, selection, sizing, risk and universe blocks that map onto fields of the run spec.

Port types: ``series`` (numbers per day and instrument), ``bool`` (a condition), ``score``
(ranked by a selection), ``weights``, ``order`` (an order intent: entry, exit or selection),
``sizing``, ``risk`` and ``filter``. A ``bool`` may feed a ``series`` or ``score`` input
(it is 0/1) and a ``series`` may feed a ``score`` input; nothing else converts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from quantlab.engine.expr import OPERATORS
from quantlab.engine.indicators.catalog import list_indicators

PortType = Literal["series", "bool", "score", "weights", "order", "sizing", "risk", "filter"]
ParamType = Literal["int", "float", "bool", "enum", "field", "expression", "text"]
ACCEPTS: dict[str, frozenset[str]] = {
    "series": frozenset({"series", "bool"}),
    "bool": frozenset({"bool"}),
    "score": frozenset({"score", "series", "bool"}),
    "weights": frozenset({"weights"}),
    "order": frozenset({"order"}),
    "sizing": frozenset({"sizing"}),
    "risk": frozenset({"risk"}),
    "filter": frozenset({"filter"}),
}
CATEGORIES = (
    "data",
    "indicator",
    "factor",
    "math",
    "compare",
    "logic",
    "rolling",
    "cross_section",
    "signal",
    "select",
    "sizing",
    "risk",
    "universe",
    "output",
)


@dataclass(frozen=True)
class Port:
    """An input or output of a node type."""

    name: str
    type: PortType
    multiple: bool = False
    optional: bool = False


@dataclass(frozen=True)
class ParamDef:
    """A parameter of a node type: its type, default and inclusive range or choices."""

    name: str
    type: ParamType
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class NodeType:
    """One catalog entry."""

    type: str
    category: str
    zh: str
    en: str
    description_zh: str
    description_en: str
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    params: tuple[ParamDef, ...] = ()
    compilable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def input(self, name: str) -> Port | None:
        """The input port called ``name``."""
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        """The output port called ``name``."""
        return next((p for p in self.outputs if p.name == name), None)

    def param(self, name: str) -> ParamDef | None:
        """The parameter called ``name``."""
        return next((p for p in self.params if p.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON for clients."""
        return {
            "type": self.type,
            "category": self.category,
            "label": {"zh-CN": self.zh, "en": self.en},
            "description": {"zh-CN": self.description_zh, "en": self.description_en},
            "inputs": [vars(p) for p in self.inputs],
            "outputs": [vars(p) for p in self.outputs],
            "params": [{**vars(p), "choices": list(p.choices)} for p in self.params],
            "compilable": self.compilable,
            **self.extra,
        }


# zh-CN / en labels of the factor-language operators, and the category each belongs to.
_OP_LABELS: dict[str, tuple[str, str, str]] = {
    "Abs": ("绝对值", "Absolute value", "math"),
    "Sign": ("符号", "Sign", "math"),
    "Log": ("自然对数", "Natural log", "math"),
    "Not": ("非 (NOT)", "NOT", "logic"),
    "Power": ("幂", "Power", "math"),
    "Add": ("加", "Add", "math"),
    "Sub": ("减", "Subtract", "math"),
    "Mul": ("乘", "Multiply", "math"),
    "Div": ("除", "Divide", "math"),
    "Greater": ("较大值", "Larger of two", "math"),
    "Less": ("较小值", "Smaller of two", "math"),
    "Gt": ("大于", "Greater than", "compare"),
    "Ge": ("大于等于", "At least", "compare"),
    "Lt": ("小于", "Less than", "compare"),
    "Le": ("小于等于", "At most", "compare"),
    "Eq": ("等于", "Equal", "compare"),
    "Ne": ("不等于", "Not equal", "compare"),
    "And": ("且 (AND)", "AND", "logic"),
    "Or": ("或 (OR)", "OR", "logic"),
    "If": ("条件取值", "If / else", "logic"),
    "Ref": ("N 日前的值", "Value N days ago", "rolling"),
    "Mean": ("移动平均", "Moving average", "rolling"),
    "Sum": ("滚动求和", "Rolling sum", "rolling"),
    "Std": ("滚动标准差", "Rolling standard deviation", "rolling"),
    "Var": ("滚动方差", "Rolling variance", "rolling"),
    "Skew": ("滚动偏度", "Rolling skewness", "rolling"),
    "Kurt": ("滚动峰度", "Rolling kurtosis", "rolling"),
    "Max": ("滚动最高", "Rolling maximum", "rolling"),
    "Min": ("滚动最低", "Rolling minimum", "rolling"),
    "IdxMax": ("最高值位置", "Position of the maximum", "rolling"),
    "IdxMin": ("最低值位置", "Position of the minimum", "rolling"),
    "Quantile": ("滚动分位数", "Rolling quantile", "rolling"),
    "Med": ("滚动中位数", "Rolling median", "rolling"),
    "Mad": ("滚动平均绝对偏差", "Rolling mean absolute deviation", "rolling"),
    "Rank": ("时序分位", "Rolling percentile", "rolling"),
    "Count": ("有效值个数", "Count of valid values", "rolling"),
    "Delta": ("N 日变化", "Change over N days", "rolling"),
    "Slope": ("滚动斜率", "Rolling slope", "rolling"),
    "Rsquare": ("滚动 R²", "Rolling R²", "rolling"),
    "Resi": ("滚动残差", "Rolling residual", "rolling"),
    "WMA": ("加权移动平均", "Weighted moving average", "rolling"),
    "EMA": ("指数移动平均", "Exponential moving average", "rolling"),
    "Corr": ("滚动相关系数", "Rolling correlation", "rolling"),
    "Cov": ("滚动协方差", "Rolling covariance", "rolling"),
    "CSRank": ("截面排名", "Rank across the universe", "cross_section"),
    "CSZScore": ("截面 Z 分数", "Z-score across the universe", "cross_section"),
    "CSDemean": ("截面去均值", "Demean across the universe", "cross_section"),
    "Neutralize": ("行业市值中性化", "Neutralise by group and size", "cross_section"),
    "Cross": ("上穿", "Crosses above", "compare"),
    "CrossDown": ("下穿", "Crosses below", "compare"),
}
BOOL_OPS = frozenset({"Gt", "Ge", "Lt", "Le", "Eq", "Ne", "And", "Or", "Not", "Cross", "CrossDown"})
LOGIC_OPS = frozenset({"And", "Or", "Not"})
_PARAM_RANGES: dict[str, tuple[ParamType, float, float]] = {
    "window": ("int", 0, 5_000),
    "offset": ("int", -5_000, 5_000),  # a negative offset is look-ahead, reported as such
    "lag": ("int", 0, 5_000),
    "quantile": ("float", 0, 1),
    "span": ("float", 0, 5_000),
}
_INPUT_NAMES = {"If": ("cond", "x", "y"), "Neutralize": ("x", "group", "size")}


def _op_node(name: str) -> NodeType:
    spec = OPERATORS[name]
    zh, en, category = _OP_LABELS[name]
    names = _INPUT_NAMES.get(name, ("x", "y", "z")[: spec.inputs])
    in_type: PortType = "bool" if name in LOGIC_OPS else "series"
    inputs = tuple(Port(n, "bool" if n == "cond" else in_type) for n in names)
    out: PortType = "bool" if name in BOOL_OPS else "series"
    params = []
    for kind in spec.params:
        ptype, lo, hi = _PARAM_RANGES[kind]
        if kind == "window":
            lo = 0
        default = 0.5 if kind == "quantile" else (1 if kind in ("offset", "lag") else 20)
        params.append(ParamDef(kind, ptype, default, lo, hi, required=True, description=kind))
    return NodeType(
        type=f"op.{name}",
        category=category,
        zh=zh,
        en=en,
        description_zh=f"{zh}:{spec.signature()}",
        description_en=f"{en}: {spec.description} ({spec.signature()})",
        inputs=inputs,
        outputs=(Port("out", out),),
        params=tuple(params),
        extra={"operator": name},
    )


def port_name(text: str) -> str:
    """An indicator output as a port name (lower case, ``_`` for anything else)."""
    name = re.sub(r"[^a-z0-9_]", "_", text.lower())
    return name if name[:1].isalpha() else f"o_{name}"[:32]


def _indicator_nodes() -> list[NodeType]:
    nodes = []
    for spec in list_indicators():
        params = tuple(
            ParamDef(
                p.name,
                "int" if p.type == "int" else "float",
                p.default,
                p.minimum,
                p.maximum,
                description=p.description,
            )
            for p in spec.params
        )
        nodes.append(
            NodeType(
                type=f"indicator.{spec.name}",
                category="indicator",
                zh=spec.zh_name,
                en=spec.en_name,
                description_zh=f"{spec.zh_name}({spec.name});读取 {', '.join(spec.inputs)}",
                description_en=spec.description or spec.en_name,
                outputs=tuple(Port(port_name(o), "series") for o in spec.outputs),
                params=params,
                extra={
                    "indicator": spec.name,
                    "reads": list(spec.inputs),
                    "output_names": list(spec.outputs),
                },
            )
        )
    return nodes


_REBALANCE = ("daily", "weekly", "monthly")
_SERIES_OUT = (Port("out", "series"),)
_CAP = ParamDef("per_stock_cap", "float", 0.0, 0.0, 1.0, description="max share per position")
_MAXH = ParamDef("max_holdings", "int", 0, 0, 10_000, description="0 = unlimited")


def _fixed_nodes() -> list[NodeType]:
    return [
        NodeType(
            "field",
            "data",
            "行情字段",
            "Price field",
            "数据集的一个字段,如收盘价",
            "A field of the dataset, e.g. the close",
            outputs=_SERIES_OUT,
            params=(ParamDef("name", "field", "close", required=True),),
        ),
        NodeType(
            "const",
            "data",
            "常数",
            "Constant",
            "一个数值(可引用命名参数)",
            "A number (may refer to a named parameter)",
            outputs=_SERIES_OUT,
            params=(ParamDef("value", "float", 0.0, -1e12, 1e12, required=True),),
        ),
        NodeType(
            "expr",
            "data",
            "因子表达式",
            "Factor expression",
            "任意因子语言表达式",
            "Any factor-language expression, e.g. Mean($close, 5) / $close; one whose outermost "
            "operator compares, crosses or combines conditions is a condition (bool)",
            outputs=_SERIES_OUT,
            params=(ParamDef("expression", "expression", "$close", required=True),),
        ),
        NodeType(
            "factor",
            "factor",
            "已保存因子",
            "Saved factor",
            "因子库中已保存的因子",
            "A factor saved in the factor library",
            outputs=_SERIES_OUT,
            params=(ParamDef("factor_id", "text", None, required=True),),
        ),
        NodeType(
            "signal.entry",
            "signal",
            "入场信号",
            "Entry signal",
            "条件为真时买入",
            "Buy where the condition holds",
            inputs=(Port("when", "bool"),),
            outputs=(Port("out", "order"),),
        ),
        NodeType(
            "signal.exit",
            "signal",
            "离场信号",
            "Exit signal",
            "条件为真时卖出",
            "Sell where the condition holds",
            inputs=(Port("when", "bool"),),
            outputs=(Port("out", "order"),),
        ),
        NodeType(
            "select.top_k",
            "select",
            "TopK 选股",
            "Top-k selection",
            "按得分持有前 K 只,每次最多换出 N 只 (TopK-Dropout)",
            "Hold the k best by score, swapping at most n_drop per rebalance",
            inputs=(Port("score", "score"),),
            outputs=(Port("out", "order"),),
            params=(
                ParamDef("top_k", "int", 50, 1, 5_000),
                ParamDef("n_drop", "int", 5, 0, 5_000),
                ParamDef("rebalance", "enum", "daily", choices=_REBALANCE),
                ParamDef("hold_thresh", "int", 1, 1, 1_000),
                ParamDef("risk_degree", "float", 0.95, 0.01, 1.0),
            ),
        ),
        NodeType(
            "weights.target",
            "select",
            "目标权重",
            "Target weights",
            "以数值为目标权重(可按日归一)",
            "Use the values as target weights",
            inputs=(Port("weight", "series"),),
            outputs=(Port("out", "weights"),),
            params=(
                ParamDef("normalize", "enum", "sum", choices=("sum", "none")),
                ParamDef("rebalance", "enum", "monthly", choices=_REBALANCE),
            ),
        ),
        NodeType(
            "sizing.equal",
            "sizing",
            "等额分配",
            "Equal sizing",
            "资金在持仓间等分",
            "Split equity equally across positions",
            outputs=(Port("out", "sizing"),),
            params=(_CAP, _MAXH),
        ),
        NodeType(
            "sizing.fixed_fraction",
            "sizing",
            "固定比例",
            "Fixed fraction",
            "每个持仓占权益的固定比例",
            "A fixed share of equity per position",
            outputs=(Port("out", "sizing"),),
            params=(ParamDef("fraction", "float", 0.1, 0.001, 1.0), _CAP, _MAXH),
        ),
        NodeType(
            "sizing.fixed_amount",
            "sizing",
            "固定金额",
            "Fixed amount",
            "每个持仓投入固定金额",
            "A fixed currency amount per position",
            outputs=(Port("out", "sizing"),),
            params=(ParamDef("amount", "float", 100_000.0, 1.0, 1e9), _CAP, _MAXH),
        ),
        NodeType(
            "sizing.vol_target",
            "sizing",
            "波动率目标",
            "Volatility target",
            "按目标年化波动率 / 实际波动率确定仓位",
            "Size by target annualised volatility over realised volatility",
            outputs=(Port("out", "sizing"),),
            params=(
                ParamDef("vol_target", "float", 0.15, 0.01, 5.0),
                ParamDef("vol_window", "int", 20, 2, 500),
                _CAP,
                _MAXH,
            ),
        ),
        NodeType(
            "risk.stop_loss",
            "risk",
            "止损",
            "Stop-loss",
            "价格跌破入场价 × (1 − 比例) 或 ATR 倍数时卖出",
            "Sell below the entry price by a fraction or an ATR multiple",
            outputs=(Port("out", "risk"),),
            params=(
                ParamDef("mode", "enum", "percent", choices=("percent", "atr")),
                ParamDef("value", "float", 0.08, 0.001, 100.0),
                ParamDef("atr_window", "int", 14, 1, 500),
            ),
        ),
        NodeType(
            "risk.take_profit",
            "risk",
            "止盈",
            "Take-profit",
            "价格高于入场价 × (1 + 比例) 或 ATR 倍数时卖出",
            "Sell above the entry price by a fraction or an ATR multiple",
            outputs=(Port("out", "risk"),),
            params=(
                ParamDef("mode", "enum", "percent", choices=("percent", "atr")),
                ParamDef("value", "float", 0.2, 0.001, 100.0),
                ParamDef("atr_window", "int", 14, 1, 500),
            ),
        ),
        NodeType(
            "risk.trailing_stop",
            "risk",
            "移动止损",
            "Trailing stop",
            "跌破入场以来最高价 × (1 − 比例) 时卖出",
            "Sell below the highest high since entry by a fraction",
            outputs=(Port("out", "risk"),),
            params=(ParamDef("value", "float", 0.1, 0.001, 1.0),),
        ),
        NodeType(
            "universe.exclude_st",
            "universe",
            "剔除 ST",
            "Exclude ST",
            "不买入 ST / *ST 股票(数据含 ST 标记时)",
            "Do not buy ST stocks (when the data flags them)",
            outputs=(Port("out", "filter"),),
        ),
        NodeType(
            "universe.listing_age",
            "universe",
            "剔除次新股",
            "Exclude new listings",
            "不买入新上市股票(数据含上市标记时)",
            "Do not buy newly listed stocks (when the data flags them)",
            outputs=(Port("out", "filter"),),
        ),
        NodeType(
            "universe.liquidity",
            "universe",
            "流动性过滤",
            "Liquidity filter",
            "成交量低于 N 手时不交易",
            "No trade where the bar's volume is below N lots",
            outputs=(Port("out", "filter"),),
            params=(ParamDef("min_volume_lots", "float", 10.0, 0.0, 1e9),),
        ),
        NodeType(
            "strategy",
            "output",
            "策略输出",
            "Strategy",
            "策略的出口:入场与离场信号,或 TopK 选股,或目标权重",
            "The strategy's output: entry and exit signals, a top-k selection or "
            "target weights, with sizing, risk exits and universe filters",
            inputs=(
                Port("entry", "order", optional=True),
                Port("exit", "order", optional=True),
                Port("select", "order", optional=True),
                Port("weights", "weights", optional=True),
                Port("sizing", "sizing", optional=True),
                Port("risk", "risk", multiple=True, optional=True),
                Port("universe", "filter", multiple=True, optional=True),
            ),
        ),
    ]


@cache
def catalog() -> dict[str, NodeType]:
    """Every node type by its ``type``."""
    entries = [*_fixed_nodes(), *(_op_node(n) for n in OPERATORS), *_indicator_nodes()]
    return {e.type: e for e in entries}


def catalog_rows() -> list[dict[str, Any]]:
    """The catalog as JSON rows (what ``/api/builder/catalog`` serves)."""
    return [e.as_dict() for e in catalog().values()]
