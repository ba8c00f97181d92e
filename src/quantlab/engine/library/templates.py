"""The system strategy templates: proven strategies as run-spec bodies with named parameters.

Each :class:`Template` is data only: a spec body (everything of a
:class:`~quantlab.engine.spec.RunSpec` except the dataset, dates and capital), its parameters
(:class:`~quantlab.engine.library.params.ParamSpec`) and linked constraints. The web layer
seeds them (idempotently, by ``key`` and ``version``) and computes every example by running
them through :func:`quantlab.engine.run`; no number about a template is written here.

Bump a template's ``version`` whenever its body or parameters change, so stored copies and
examples are refreshed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantlab.engine.library.params import Constraint, ParamSpec, Text, check_schema

Category = Literal["trend", "mean_reversion", "multi_factor", "rotation"]
CATEGORIES: tuple[Category, ...] = ("trend", "mean_reversion", "multi_factor", "rotation")


class Template(BaseModel):
    """One system template."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{2,40}$")
    version: int = Field(1, ge=1)
    category: Category
    market: Literal["any", "cn", "us"] = "any"
    tags: list[str] = Field(default_factory=list)
    name: Text
    description: Text
    body: dict[str, Any]
    parameters: list[ParamSpec]
    constraints: list[Constraint] = Field(default_factory=list)
    requires_fields: list[str] = Field(
        default_factory=list, description="dataset fields beyond OHLCV the strategy reads"
    )


def _t(zh: str, en: str) -> Text:
    return Text.model_validate({"zh-CN": zh, "en": en})


def _p(
    name: str,
    default: float,
    lo: float,
    hi: float,
    step: float | None,
    zh: str,
    en: str,
    *,
    kind: Literal["int", "float"] = "int",
    target: str | None = None,
) -> ParamSpec:
    return ParamSpec(
        name=name,
        type=kind,
        default=default,
        min=lo,
        max=hi,
        step=step,
        target=target,
        description=_t(zh, en),
    )


def _lt(left: str, right: str) -> Constraint:
    return Constraint(left=left, op="<", right=right)


def _signals(entry: str, exit_: str, **extra: Any) -> dict[str, Any]:
    return {"strategy": {"kind": "signals", "entry": entry, "exit": exit_, **extra}}


def _scores(score: str, rebalance: str = "daily") -> dict[str, Any]:
    return {"strategy": {"kind": "scores", "score": score, "rebalance": rebalance}}


_TOPK = [
    _p("top_k", 30, 1, 500, 1, "持仓数量", "number of holdings", target="/strategy/top_k"),
    _p(
        "n_drop",
        5,
        0,
        100,
        1,
        "每次最多换出数量",
        "names swapped out per rebalance",
        target="/strategy/n_drop",
    ),
]
_TOPK_C = [Constraint(left="n_drop", op="<=", right="top_k")]

_RSI = (
    "100 - 100 / (1 + Mean(Greater($close - Ref($close, 1), 0), {window})"
    " / Mean(Greater(Ref($close, 1) - $close, 0), {window}))"
)
_RSV = "($close - Min($low, {window})) / (Max($high, {window}) - Min($low, {window})) * 100"
_K = f"EMA({_RSV}, 0.3333333333333333)"
_D = f"EMA({_K}, 0.3333333333333333)"
_DIF = "EMA($close, {fast}) - EMA($close, {slow})"
_MOM = "$close / Ref($close, {lookback}) - 1"


def _catalog() -> list[Template]:
    return [
        Template(
            key="dual_moving_average",
            category="trend",
            tags=["moving average", "crossover"],
            name=_t("双均线交叉", "Dual moving average"),
            description=_t(
                "短期均线上穿长期均线买入,下穿卖出。",
                "Buy when the fast moving average crosses above the slow one; "
                "sell when it crosses back below.",
            ),
            body=_signals(
                "Cross(Mean($close, {fast}), Mean($close, {slow}))",
                "CrossDown(Mean($close, {fast}), Mean($close, {slow}))",
            ),
            parameters=[
                _p("fast", 10, 2, 60, 1, "短期均线天数", "fast window (days)"),
                _p("slow", 30, 5, 250, 1, "长期均线天数", "slow window (days)"),
            ],
            constraints=[_lt("fast", "slow")],
        ),
        Template(
            key="macd_cross",
            category="trend",
            tags=["MACD", "crossover"],
            name=_t("MACD 金叉死叉", "MACD cross"),
            description=_t(
                "DIF 上穿 DEA 买入,下穿卖出。",
                "Buy when MACD's DIF line crosses above its signal line (DEA); "
                "sell when it crosses below.",
            ),
            body=_signals(
                f"Cross({_DIF}, EMA({_DIF}, {{signal}}))",
                f"CrossDown({_DIF}, EMA({_DIF}, {{signal}}))",
            ),
            parameters=[
                _p("fast", 12, 2, 50, 1, "快线 EMA 跨度", "fast EMA span"),
                _p("slow", 26, 5, 120, 1, "慢线 EMA 跨度", "slow EMA span"),
                _p("signal", 9, 2, 50, 1, "信号线 EMA 跨度", "signal EMA span"),
            ],
            constraints=[_lt("fast", "slow")],
        ),
        Template(
            key="donchian_breakout",
            category="trend",
            tags=["breakout", "turtle", "channel"],
            name=_t("唐奇安通道突破(海龟)", "Donchian breakout (turtle)"),
            description=_t(
                "收盘价突破前 N 日最高价买入,跌破前 M 日最低价卖出。",
                "Buy when the close breaks above the highest high of the previous "
                "N days; sell when it falls below the lowest low of the previous M.",
            ),
            body=_signals(
                "$close > Ref(Max($high, {entry_window}), 1)",
                "$close < Ref(Min($low, {exit_window}), 1)",
            ),
            parameters=[
                _p("entry_window", 20, 5, 120, 1, "突破窗口", "breakout window (days)"),
                _p("exit_window", 10, 2, 60, 1, "离场窗口", "exit window (days)"),
            ],
            constraints=[_lt("exit_window", "entry_window")],
        ),
        Template(
            key="time_series_momentum",
            category="trend",
            tags=["momentum"],
            name=_t("时间序列动量", "Time-series momentum"),
            description=_t(
                "过去 N 日收益超过阈值时持有,转负时卖出。",
                "Hold while the return over the last N days exceeds a threshold; "
                "sell when it turns negative.",
            ),
            body=_signals(f"{_MOM} > {{threshold}}", f"{_MOM} < 0"),
            parameters=[
                _p("lookback", 60, 5, 250, 1, "动量回看天数", "look-back (days)"),
                _p(
                    "threshold",
                    0.05,
                    0.0,
                    0.5,
                    0.01,
                    "入场收益阈值",
                    "entry return threshold",
                    kind="float",
                ),
            ],
        ),
        Template(
            key="ma_trend_with_stop",
            category="trend",
            tags=["moving average", "stop-loss"],
            name=_t("均线趋势 + 止损", "Moving-average trend with stop-loss"),
            description=_t(
                "收盘价上穿均线买入,下穿卖出,另设百分比止损。",
                "Buy when the close crosses above its moving average, sell when it "
                "crosses below, with a percentage stop-loss.",
            ),
            body={
                **_signals(
                    "Cross($close, Mean($close, {window}))",
                    "CrossDown($close, Mean($close, {window}))",
                ),
                "execution": {"stop_loss": "percent", "stop_loss_value": 0.08},
            },
            parameters=[
                _p("window", 20, 5, 250, 1, "均线天数", "moving-average window"),
                _p(
                    "stop",
                    0.08,
                    0.01,
                    0.5,
                    0.01,
                    "止损比例",
                    "stop-loss (fraction)",
                    kind="float",
                    target="/execution/stop_loss_value",
                ),
            ],
        ),
        Template(
            key="volume_breakout",
            category="trend",
            tags=["breakout", "volume"],
            name=_t("放量突破", "Volume-confirmed breakout"),
            description=_t(
                "价格创 N 日新高且成交量放大时买入,跌破均线卖出。",
                "Buy a new N-day closing high on volume above a multiple of its "
                "average; sell below the exit moving average.",
            ),
            body=_signals(
                "($close > Ref(Max($close, {window}), 1)) & "
                "($volume > {volume_mult} * Mean($volume, {window}))",
                "CrossDown($close, Mean($close, {exit_window}))",
            ),
            parameters=[
                _p("window", 20, 5, 120, 1, "突破窗口", "breakout window (days)"),
                _p("volume_mult", 1.5, 1.0, 5.0, 0.1, "放量倍数", "volume multiple", kind="float"),
                _p("exit_window", 10, 2, 60, 1, "离场均线", "exit moving average"),
            ],
        ),
        Template(
            key="rsi_reversal",
            category="mean_reversion",
            tags=["RSI", "oscillator"],
            name=_t("RSI 超卖反转", "RSI reversal"),
            description=_t(
                "RSI 低于超卖线买入,高于超买线卖出。",
                "Buy when RSI falls below the oversold level; sell above the overbought level.",
            ),
            body=_signals(f"{_RSI} < {{oversold}}", f"{_RSI} > {{overbought}}"),
            parameters=[
                _p("window", 14, 2, 60, 1, "RSI 天数", "RSI window"),
                _p("oversold", 30, 5, 50, 1, "超卖线", "oversold level"),
                _p("overbought", 70, 50, 95, 1, "超买线", "overbought level"),
            ],
            constraints=[_lt("oversold", "overbought")],
        ),
        Template(
            key="bollinger_reversion",
            category="mean_reversion",
            tags=["Bollinger", "bands"],
            name=_t("布林带均值回归", "Bollinger band reversion"),
            description=_t(
                "收盘价跌破下轨买入,回到中轨卖出。",
                "Buy when the close falls below the lower band (mean − k·σ); sell "
                "when it returns to the middle band.",
            ),
            body=_signals(
                "$close < Mean($close, {window}) - {k} * Std($close, {window})",
                "$close > Mean($close, {window})",
            ),
            parameters=[
                _p("window", 20, 5, 120, 1, "布林带天数", "band window"),
                _p("k", 2.0, 0.5, 4.0, 0.1, "标准差倍数", "band width (σ)", kind="float"),
            ],
        ),
        Template(
            key="kdj_cross",
            category="mean_reversion",
            tags=["KDJ", "oscillator"],
            name=_t("KDJ 低位金叉", "KDJ cross"),
            description=_t(
                "K 线在超卖区上穿 D 线买入,K 下穿 D 卖出。",
                "Buy when K crosses above D below the oversold level; sell when K crosses below D.",
            ),
            body=_signals(f"Cross({_K}, {_D}) & ({_K} < {{oversold}})", f"CrossDown({_K}, {_D})"),
            parameters=[
                _p("window", 9, 3, 60, 1, "RSV 天数", "RSV window"),
                _p("oversold", 30, 5, 60, 1, "超卖线", "oversold level"),
            ],
        ),
        Template(
            key="spread_reversion",
            category="mean_reversion",
            tags=["spread", "relative value"],
            name=_t("相对价差回归", "Spread reversion to the universe"),
            description=_t(
                "个股相对全市场的对数价差 z 分数过低时买入,回归后卖出(只做多)。",
                "Buy a stock whose log-price spread to the universe average is "
                "unusually low (z-score below −k); sell when it reverts. Long only: "
                "a two-legged pairs trade needs short selling, which is not "
                "modelled.",
            ),
            body=_signals(
                "(CSDemean(Log($close)) - Mean(CSDemean(Log($close)), {window})) / "
                "Std(CSDemean(Log($close)), {window}) < -{k}",
                "CSDemean(Log($close)) > Mean(CSDemean(Log($close)), {window})",
            ),
            parameters=[
                _p("window", 60, 10, 250, 1, "价差回看天数", "spread window"),
                _p("k", 2.0, 0.5, 4.0, 0.1, "z 分数阈值", "z-score threshold", kind="float"),
            ],
        ),
        Template(
            key="short_term_reversal",
            category="mean_reversion",
            tags=["reversal", "top-k"],
            name=_t("短期反转", "Short-term reversal"),
            description=_t(
                "买入过去 N 日跌幅最大的股票,按 TopK-Dropout 换仓。",
                "Hold the stocks that fell most over the last N days, swapped with "
                "Qlib's TopK-Dropout.",
            ),
            body=_scores("-($close / Ref($close, {window}) - 1)"),
            parameters=[_p("window", 5, 1, 60, 1, "回看天数", "look-back (days)"), *_TOPK],
            constraints=_TOPK_C,
        ),
        Template(
            key="topk_alpha158",
            category="multi_factor",
            tags=["Qlib", "Alpha158", "top-k"],
            name=_t("Alpha158 打分 TopK-Dropout", "Top-k dropout on an Alpha158 score"),
            description=_t(
                "以 Alpha158 的价量因子(均线偏离、收益率、波动率)等权打分,"
                "每日 TopK-Dropout 调仓,即 Qlib 的默认策略。",
                "Score each stock by an equal-weight blend of Alpha158 price-volume "
                "features (MA ratio, rate of change, volatility), and trade it "
                "daily with TopK-Dropout, Qlib's default strategy.",
            ),
            body=_scores(
                "CSRank(Mean($close, {window}) / $close)"
                " + CSRank(Ref($close, {window}) / $close)"
                " + CSRank(-Std($close / Ref($close, 1) - 1, {window}))"
            ),
            parameters=[_p("window", 20, 5, 60, 1, "因子窗口", "feature window"), *_TOPK],
            constraints=_TOPK_C,
        ),
        Template(
            key="value_quality_momentum",
            category="multi_factor",
            tags=["value", "quality", "momentum", "fundamentals"],
            name=_t("价值-质量-动量多因子", "Value, quality and momentum"),
            description=_t(
                "市盈率倒数、ROE 与动量的截面排名等权打分,月度调仓。需要数据含 pe 与 roe 字段。",
                "Equal-weight cross-sectional ranks of earnings yield (1/PE), ROE "
                "and momentum, rebalanced monthly. Needs the dataset fields pe and "
                "roe.",
            ),
            body=_scores(
                "CSRank(1 / $pe) + CSRank($roe) + CSRank($close / Ref($close, {lookback}) - 1)",
                rebalance="monthly",
            ),
            parameters=[
                _p("lookback", 120, 20, 250, 1, "动量回看天数", "momentum look-back"),
                *_TOPK,
            ],
            constraints=_TOPK_C,
            requires_fields=["pe", "roe"],
        ),
        Template(
            key="low_volatility",
            category="multi_factor",
            tags=["low volatility", "defensive"],
            name=_t("低波动", "Low volatility"),
            description=_t(
                "持有过去 N 日收益波动率最低的股票,月度调仓。",
                "Hold the stocks with the lowest volatility of daily returns over "
                "the last N days, rebalanced monthly.",
            ),
            body=_scores("-Std($close / Ref($close, 1) - 1, {window})", rebalance="monthly"),
            parameters=[_p("window", 60, 10, 250, 1, "波动率窗口", "volatility window"), *_TOPK],
            constraints=_TOPK_C,
        ),
        Template(
            key="momentum_rotation",
            category="rotation",
            tags=["rotation", "ETF", "sector"],
            name=_t("动量轮动(行业/ETF)", "Momentum rotation (sectors or ETFs)"),
            description=_t(
                "在行业指数或 ETF 中持有过去 N 日涨幅最大的几只,月度轮动。",
                "Among sector indices or ETFs, hold the few with the best return over "
                "the last N days, rotating monthly.",
            ),
            body={
                "strategy": {
                    "kind": "scores",
                    "score": _MOM,
                    "rebalance": "monthly",
                    "top_k": 3,
                    "n_drop": 3,
                }
            },
            parameters=[
                _p("lookback", 20, 5, 250, 1, "动量回看天数", "look-back (days)"),
                _p("top_k", 3, 1, 20, 1, "持有数量", "number held", target="/strategy/top_k"),
                _p(
                    "n_drop",
                    3,
                    0,
                    20,
                    1,
                    "每次最多换出",
                    "swaps per rebalance",
                    target="/strategy/n_drop",
                ),
            ],
            constraints=_TOPK_C,
        ),
        Template(
            key="equal_weight_rebalance",
            category="rotation",
            tags=["benchmark", "equal weight"],
            name=_t("等权再平衡", "Equal-weight rebalance"),
            description=_t(
                "对全部可交易股票等权持有,按月再平衡,常作为基准。",
                "Hold every tradable stock at equal weight, rebalanced monthly: a "
                "natural benchmark for other strategies.",
            ),
            body={
                "strategy": {
                    "kind": "weights",
                    "weight": "$close > {min_price}",
                    "normalize": "sum",
                    "rebalance": "monthly",
                }
            },
            parameters=[
                _p("min_price", 2.0, 0.0, 50.0, 0.5, "最低股价", "minimum price", kind="float")
            ],
        ),
    ]


TEMPLATES: dict[str, Template] = {t.key: t for t in _catalog()}
for _template in TEMPLATES.values():
    check_schema(_template.parameters, _template.constraints)
