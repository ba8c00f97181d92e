"""Plain-language descriptions of a run spec in zh-CN and en: what it buys, when it sells,
how it sizes and which protective exits apply. Built from the expressions' syntax trees,
so every description matches the spec that runs."""

from __future__ import annotations

from collections.abc import Callable

from quantlab.engine import expr
from quantlab.engine.expr.ast import Call, Const, Field, Node, format_number
from quantlab.engine.spec import (
    CodeStrategy,
    RunSpec,
    ScoresStrategy,
    SignalsStrategy,
    WeightsStrategy,
    expressions,
)

_FIELDS = {
    "close": ("收盘价", "the close"),
    "open": ("开盘价", "the open"),
    "high": ("最高价", "the high"),
    "low": ("最低价", "the low"),
    "volume": ("成交量", "volume"),
    "amount": ("成交额", "turnover"),
    "vwap": ("均价", "VWAP"),
}
_ROLLING = {
    "Mean": ("{n} 日均值", "{n}-day average of {x}"),
    "EMA": ("{n} 指数均值", "{n} EMA of {x}"),
    "Sum": ("{n} 日合计", "{n}-day sum of {x}"),
    "Std": ("{n} 日标准差", "{n}-day standard deviation of {x}"),
    "Max": ("{n} 日最高", "{n}-day high of {x}"),
    "Min": ("{n} 日最低", "{n}-day low of {x}"),
    "Ref": ("{n} 日前的", "{x} {n} days ago"),
    "Delta": ("{n} 日变化", "{n}-day change of {x}"),
    "Rank": ("{n} 日分位", "{n}-day percentile of {x}"),
    "Slope": ("{n} 日斜率", "{n}-day slope of {x}"),
}
_BINARY = {
    "Gt": (">", "is above"),
    "Ge": ("≥", "is at or above"),
    "Lt": ("<", "is below"),
    "Le": ("≤", "is at or below"),
    "Add": ("+", "plus"),
    "Sub": ("-", "minus"),
    "Mul": ("×", "times"),
    "Div": ("/", "divided by"),
}
_MAX_WORDS = 160


def _words(node: Node, zh: bool) -> str:
    if isinstance(node, Field):
        pair = _FIELDS.get(node.name, (node.name, node.name))
        return pair[0] if zh else pair[1]
    if isinstance(node, Const):
        return format_number(node.value)
    assert isinstance(node, Call)
    args = [_words(a, zh) for a in node.args]
    n = format_number(node.params[0]) if node.params else ""
    if node.op in _ROLLING:
        pattern = _ROLLING[node.op][0 if zh else 1]
        if zh:
            return (
                f"{args[0]}的{pattern.format(n=n)}"
                if node.op != "Ref"
                else (f"{pattern.format(n=n)}{args[0]}")
            )
        return pattern.format(n=n, x=args[0])
    if node.op in _BINARY:
        sym, word = _BINARY[node.op]
        return f"{args[0]} {sym} {args[1]}" if zh else f"{args[0]} {word} {args[1]}"
    if node.op == "Cross":
        return f"{args[0]}上穿{args[1]}" if zh else f"{args[0]} crosses above {args[1]}"
    if node.op == "CrossDown":
        return f"{args[0]}下穿{args[1]}" if zh else f"{args[0]} crosses below {args[1]}"
    if node.op == "And":
        return f"{args[0]} 且 {args[1]}" if zh else f"{args[0]} and {args[1]}"
    if node.op == "Or":
        return f"{args[0]} 或 {args[1]}" if zh else f"{args[0]} or {args[1]}"
    if node.op == "CSRank":
        return f"{args[0]}的截面排名" if zh else f"the cross-sectional rank of {args[0]}"
    if node.op == "Mul" and isinstance(node.args[0], Const) and node.args[0].value == -1:
        return f"负的{args[1]}" if zh else f"minus {args[1]}"
    params = [format_number(p) for p in node.params]
    return f"{node.op}({', '.join(args + params)})"


def _expression(text: str, zh: bool) -> str:
    try:
        words = _words(expr.parse(text), zh)
    except expr.ExprError:
        return text
    return words if len(words) <= _MAX_WORDS else f"`{text}`"


def describe(spec: RunSpec) -> dict[str, str]:
    """The spec in plain words: ``{"zh-CN": ..., "en": ...}``."""
    return {"zh-CN": _describe(spec, True), "en": _describe(spec, False)}


def _describe(spec: RunSpec, zh: bool) -> str:
    texts = expressions(spec, resolved=True)
    say: Callable[[str], str] = lambda key: _expression(texts[key], zh)  # noqa: E731
    s = spec.strategy
    parts: list[str] = []
    if isinstance(s, SignalsStrategy):
        if zh:
            parts += [f"当{say('strategy.entry')}时买入", f"当{say('strategy.exit')}时卖出"]
            parts.append(_sizing_zh(s.sizing.mode.value, s.max_holdings))
        else:
            parts += [f"Buys when {say('strategy.entry')}", f"sells when {say('strategy.exit')}"]
            parts.append(_sizing_en(s.sizing.mode.value, s.max_holdings))
    elif isinstance(s, ScoresStrategy):
        every = s.rebalance.value
        if zh:
            parts.append(f"按{say('strategy.score')}打分,持有得分最高的 {s.top_k} 只")
            parts.append(f"每次({every})最多换出 {s.n_drop} 只,投入 {s.risk_degree:.0%} 资金")
        else:
            parts.append(f"Ranks stocks by {say('strategy.score')} and holds the best {s.top_k}")
            parts.append(
                f"swapping at most {s.n_drop} per {every} rebalance with "
                f"{s.risk_degree:.0%} of equity invested"
            )
    elif isinstance(s, WeightsStrategy):
        source = say("strategy.weight") if s.weight is not None else None
        if zh:
            parts.append(f"按{source}设定目标权重" if source else "按固定权重持有")
            parts.append(f"{s.rebalance.value} 再平衡")
        else:
            parts.append(f"Targets weights from {source}" if source else "Holds fixed weights")
            parts.append(f"rebalanced {s.rebalance.value}")
    elif isinstance(s, CodeStrategy):
        parts.append("运行沙箱中的 Python 策略代码" if zh else "Runs Python strategy code")
    ex = spec.execution
    if ex.stop_loss.value != "none":
        parts.append(
            f"止损 {ex.stop_loss_value:g}({ex.stop_loss.value})"
            if zh
            else f"stop-loss at {ex.stop_loss_value:g} ({ex.stop_loss.value})"
        )
    if ex.take_profit.value != "none":
        parts.append(
            f"止盈 {ex.take_profit_value:g}({ex.take_profit.value})"
            if zh
            else f"take-profit at {ex.take_profit_value:g} ({ex.take_profit.value})"
        )
    return (";".join(parts) + "。") if zh else ("; ".join(parts) + ".")


def _sizing_zh(mode: str, max_holdings: int) -> str:
    cap = f",最多持有 {max_holdings} 只" if max_holdings else ""
    return {
        "equal": "等权分配资金",
        "fixed_fraction": "每笔投入固定比例资金",
        "fixed_amount": "每笔投入固定金额",
        "vol_target": "按目标波动率定仓",
    }.get(mode, mode) + cap


def _sizing_en(mode: str, max_holdings: int) -> str:
    cap = f", at most {max_holdings} holdings" if max_holdings else ""
    return {
        "equal": "sizes positions equally",
        "fixed_fraction": "puts a fixed fraction of equity in each entry",
        "fixed_amount": "puts a fixed amount in each entry",
        "vol_target": "sizes positions to a volatility target",
    }.get(mode, f"sizes by {mode}") + cap
