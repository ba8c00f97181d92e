"""Indicator blocks compile: a graph reading RSI, MACD, BOLL, KDJ and ATR compiles to a spec
whose ``indicators`` the engine computes through the indicator catalog; the values a run
uses are the ones the node preview evaluates (same text, same fields), equal to the
catalog's own output and, for BOLL's middle band, to a pandas rolling mean; the spec opens
back as the same graph and the generated Python gives the same trades in the sandbox."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.engine.builder.graphs import edge, node

from quantlab import engine
from quantlab.engine import expr
from quantlab.engine.backtest.compile import SpecError, validate_spec
from quantlab.engine.builder import (
    Graph,
    canonical_spec,
    compile_spec,
    describe_graph,
    graph_from_spec,
    graph_python,
)
from quantlab.engine.builder.compile import node_expression
from quantlab.engine.builder.validate import check
from quantlab.engine.data import Panel
from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel
from quantlab.engine.indicators import compute
from quantlab.engine.indicators.fields import add_indicator_fields
from quantlab.engine.library import check as library_check
from quantlab.engine.spec import RunSpec


@pytest.fixture(scope="module")
def panel() -> Panel:
    return frame_to_panel(demo_frame(n_symbols=30, n_days=300))


def _signals() -> dict[str, Any]:
    """Buy when RSI(7) is low and MACD's DIF is above its DEA; sell above BOLL's upper band
    or on a KDJ J above 100; sized by volatility, ATR stop from the risk block."""
    return {
        "name": "indicators",
        "nodes": [
            node("rsi", "indicator.RSI", n1=7),
            node("macd", "indicator.MACD"),
            node("boll", "indicator.BOLL", n=20, k=2.0),
            node("kdj", "indicator.KDJ"),
            node("atr", "indicator.ATR", n=10),
            node("close", "field", name="close"),
            node("lo", "const", value=45.0),
            node("hi", "const", value=100.0),
            node("oversold", "op.Lt"),
            node("trend", "op.Gt"),
            node("calm", "op.Lt"),
            node("buy_when", "op.And"),
            node("both", "op.And"),
            node("above", "op.Gt"),
            node("hot", "op.Gt"),
            node("sell_when", "op.Or"),
            node("buy", "signal.entry"),
            node("sell", "signal.exit"),
            node("size", "sizing.equal", max_holdings=5),
            node("out", "strategy"),
        ],
        "edges": [
            edge("rsi", "oversold", "x", "rsi1"),
            edge("lo", "oversold", "y"),
            edge("macd", "trend", "x", "dif"),
            edge("macd", "trend", "y", "dea"),
            edge("atr", "calm", "x", "atr"),
            edge("close", "calm", "y"),
            edge("oversold", "buy_when", "x"),
            edge("trend", "buy_when", "y"),
            edge("buy_when", "both", "x"),
            edge("calm", "both", "y"),
            edge("close", "above", "x"),
            edge("boll", "above", "y", "ub"),
            edge("kdj", "hot", "x", "j"),
            edge("hi", "hot", "y"),
            edge("above", "sell_when", "x"),
            edge("hot", "sell_when", "y"),
            edge("both", "buy", "when"),
            edge("sell_when", "sell", "when"),
            edge("buy", "out", "entry"),
            edge("sell", "out", "exit"),
            edge("size", "out", "sizing"),
        ],
    }


def _score(indicator: str, port: str, **params: Any) -> dict[str, Any]:
    return {
        "name": "one indicator",
        "nodes": [
            node("ind", f"indicator.{indicator}", **params),
            node("pick", "select.top_k", top_k=5, n_drop=1),
            node("out", "strategy"),
        ],
        "edges": [edge("ind", "pick", "score", port), edge("pick", "out", "select")],
    }


def test_signals_from_indicators_compile_and_run(panel: Panel) -> None:
    spec = compile_spec(Graph.model_validate(_signals()), "demo", preset="rules_off")
    assert spec.strategy.entry == (  # type: ignore[union-attr]
        "(($ind_rsi_7_12_24_rsi1 < 45) & ($ind_macd_12_26_9_dif > $ind_macd_12_26_9_dea))"
        " & ($ind_atr_10_atr < $close)"
    )
    assert sorted(spec.indicators) == [
        "ind_atr_10_atr",
        "ind_boll_20_2_0_ub",
        "ind_kdj_9_3_3_j",
        "ind_macd_12_26_9_dea",
        "ind_macd_12_26_9_dif",
        "ind_rsi_7_12_24_rsi1",
    ]
    assert spec.indicators["ind_rsi_7_12_24_rsi1"].params == {"n1": 7.0}
    result = engine.run(spec, panel, diagnostics=False)
    assert len(result.simulation.trades) > 0
    # the entry the run used, recomputed by hand from the catalog's outputs
    c = compute
    rsi = c("RSI", panel, {"n1": 7})["RSI1"].astype(np.float32)
    macd = {k: v.astype(np.float32) for k, v in c("MACD", panel).items()}
    atr = c("ATR", panel, {"n": 10})["ATR"].astype(np.float32)
    close = panel["close"].astype(np.float32)
    with np.errstate(invalid="ignore"):
        hand = (rsi < 45) & (macd["DIF"] > macd["DEA"]) & (atr < close)
    used = np.nan_to_num(result.outputs["strategy.entry"])
    assert used.shape[1] == len(panel.instruments) and used.any()
    np.testing.assert_array_equal(used != 0, hand[-used.shape[0] :])
    words = describe_graph(Graph.model_validate(_signals()))
    assert "RSI1 of RSI(n1=7) is below 45" in words["en"] and "ind_" not in words["en"]
    assert "RSI(n1=7) 的 RSI1" in words["zh-CN"]
    # the spec opens as the same graph, which compiles back to an equal spec
    back = compile_spec(graph_from_spec(spec), "demo", preset="rules_off")
    assert canonical_spec(back) == canonical_spec(spec)


@pytest.mark.parametrize(
    ("indicator", "port", "params"),
    [
        ("RSI", "rsi2", {"n2": 10}),
        ("MACD", "macd", {}),
        ("BOLL", "boll", {"n": 20}),
        ("KDJ", "k", {"n": 12}),
        ("ATR", "atr", {"n": 14}),
    ],
)
def test_preview_values_are_the_values_the_run_uses(
    panel: Panel, indicator: str, port: str, params: dict[str, Any]
) -> None:
    graph = Graph.model_validate(_score(indicator, port, **params))
    spec = compile_spec(graph, "demo", start=str(panel.calendar[120]))
    result = engine.run(spec, panel, diagnostics=False)
    used = result.outputs["strategy.score"]
    # what the node preview evaluates (quantlab.builder.preview): the block's text over
    # the panel with the block's indicator fields added
    c, _ = check(graph)
    text, fields = node_expression(c, "ind", None, port)
    shown = expr.evaluate([text], add_indicator_fields(panel, fields))[text]
    np.testing.assert_array_equal(used, shown[-used.shape[0] :])
    # and the catalog's own output, rounded to the expressions' float32
    output = next(o for o in fields.values())["output"]
    direct = compute(indicator, panel, params)[output].astype(np.float32)
    np.testing.assert_array_equal(used, direct[-used.shape[0] :])
    if indicator == "BOLL":  # the middle band is a 20-day mean of the close (pandas)
        wide = pd.DataFrame(panel["close"]).rolling(20).mean().to_numpy(np.float32)
        np.testing.assert_allclose(used, wide[-used.shape[0] :], rtol=1e-5)


def test_generated_python_reads_indicator_inputs_with_the_same_trades(panel: Panel) -> None:
    from quantlab.sandbox.executor import run_array_code

    graph = Graph.model_validate(_signals())
    spec = compile_spec(graph, "demo", preset="rules_off")
    py = graph_python(graph)
    assert "ind_rsi_7_12_24_rsi1" in py.code and py.indicators == spec.model_dump()["indicators"]
    code_spec = RunSpec.model_validate(
        {**spec.model_dump(mode="json"), "strategy": py.strategy, "indicators": py.indicators}
    )
    a = engine.run(spec, panel, diagnostics=False)
    b = engine.run(code_spec, panel, code_runner=run_array_code, diagnostics=False)
    assert len(a.simulation.trades) > 0
    for name in ("symbol", "day", "side", "price", "quantity", "pnl"):
        np.testing.assert_array_equal(getattr(a.simulation.trades, name),
                                      getattr(b.simulation.trades, name))  # fmt: skip


def test_a_spec_names_its_indicators_freely_and_bad_ones_are_refused(panel: Panel) -> None:
    body = {
        "dataset_id": "demo",
        "parameters": {"low": 30},
        "indicators": {"rsi6": {"indicator": "RSI", "params": {"n1": 6}, "output": "RSI1"}},
        "strategy": {"kind": "signals", "entry": "Lt($rsi6, {low})", "exit": "Gt($rsi6, 70)"},
    }
    spec = RunSpec.model_validate(body)
    validate_spec(spec, list(panel.fields))
    assert library_check(spec, list(panel.fields)) == []  # $rsi6 is not a missing field
    graph = graph_from_spec(spec)
    assert {n.type for n in graph.nodes} >= {"indicator.RSI"}
    assert canonical_spec(compile_spec(graph, "demo")) == canonical_spec(spec)
    assert len(engine.run(spec, panel, diagnostics=False).simulation.trades) > 0
    for bad, message in [
        ({"indicator": "NOPE", "output": "X"}, "unknown indicator"),
        ({"indicator": "RSI", "output": "RSI9"}, "has no output 'RSI9'"),
        ({"indicator": "RSI", "params": {"n1": 0}, "output": "RSI1"}, "n1"),
    ]:
        broken = RunSpec.model_validate({**body, "indicators": {"rsi6": bad}})
        with pytest.raises(SpecError, match=message):
            validate_spec(broken, list(panel.fields))
        with pytest.raises(SpecError, match=message):
            engine.run(broken, panel)
    clash = RunSpec.model_validate(
        {
            **body,
            "indicators": {"close": body["indicators"]["rsi6"]},
            "strategy": {"kind": "signals", "entry": "Lt($close, 30)", "exit": "Gt($close, 70)"},
        }
    )
    with pytest.raises(SpecError, match="already a field"):
        validate_spec(clash, list(panel.fields))
    with pytest.raises(ValueError, match="lower-case identifiers"):
        RunSpec.model_validate({**body, "indicators": {"RSI-6": body["indicators"]["rsi6"]}})


def _rsi_spec(period: Any) -> RunSpec:
    return RunSpec.model_validate({
        "dataset_id": "demo", "preset": "rules_off", "parameters": {"period": 7, "low": 40},
        "indicators": {"rsi": {"indicator": "RSI", "params": {"n1": period}, "output": "RSI1"}},
        "strategy": {"kind": "signals", "entry": "Lt($rsi, {low})", "exit": "Gt($rsi, 65)"},
    })  # fmt: skip


def _same_run(a: Any, b: Any) -> None:
    assert a.metrics == b.metrics
    for name in ("symbol", "day", "side", "price", "quantity"):
        np.testing.assert_array_equal(getattr(a.simulation.trades, name),
                                      getattr(b.simulation.trades, name))  # fmt: skip


def test_indicator_parameters_may_be_named_parameters_that_variants_move(panel: Panel) -> None:
    named = _rsi_spec("{period}")
    assert named.indicators["rsi"].params == {"n1": "{period}"}
    runs = {p: engine.run(_rsi_spec(p), panel, diagnostics=False) for p in (5, 7, 9)}
    assert len(runs[7].simulation.trades) > 0
    assert runs[5].metrics != runs[9].metrics  # the period matters
    _same_run(engine.run(named, panel, diagnostics=False), runs[7])
    # a batch computes each period its variants name, in runs of agreeing variants (three
    # panels here: 5, then 9 and 9, then 7) and yields them in order
    variants = [{"period": 5}, {"period": 9}, {"period": 9, "low": 35}, {}]
    out = list(engine.run_batch(named, variants, panel, workers=2))
    for variant, got in zip(variants, out, strict=True):
        period = variant.get("period", 7)
        alone = engine.run(_rsi_spec(period).model_copy(
            update={"parameters": {"period": 7, "low": variant.get("low", 40)}}), panel,
            diagnostics=False)  # fmt: skip
        assert got.spec.parameters["period"] == period
        _same_run(got, alone)
    # the same through a JSON pointer into the indicator's parameters
    pointer = list(engine.run_batch(_rsi_spec(7), [{"/indicators/rsi/params/n1": 9}, {}], panel))
    _same_run(pointer[0], runs[9])
    _same_run(pointer[1], runs[7])
    with pytest.raises(ValueError, match=r"indicators.rsi references undefined parameters"):
        _rsi_spec("{nope}")
    with pytest.raises(ValueError, match="should match pattern"):
        _rsi_spec("period")  # a name needs its braces


def test_a_named_indicator_parameter_round_trips_through_the_graph(panel: Panel) -> None:
    from quantlab.builder.params import tunable

    spec = _rsi_spec("{period}")
    graph = graph_from_spec(spec)
    rsi = next(n for n in graph.nodes if n.type == "indicator.RSI")
    assert rsi.params["n1"].ref == "period"  # type: ignore[union-attr]
    back = compile_spec(graph, "demo", preset="rules_off")
    _same_run(engine.run(back, panel, diagnostics=False),
              engine.run(spec, panel, diagnostics=False))  # fmt: skip
    # the preview resolves the parameter as the run does
    c, _ = check(graph)
    text, fields = node_expression(c, rsi.id, None, "rsi1")
    assert next(iter(fields.values()))["params"] == {"n1": 7.0}
    shown = expr.evaluate([text], add_indicator_fields(panel, fields))[text]
    direct = compute("RSI", panel, {"n1": 7})["RSI1"].astype(np.float32)
    np.testing.assert_array_equal(shown, direct)
    # a literal period the block sets becomes tunable; the periods it leaves do not
    literal = graph_from_spec(_rsi_spec(9))
    tuned, schema = tunable(literal)
    block = next(n for n in literal.nodes if n.type == "indicator.RSI")
    assert [p.name for p in schema if p.name.startswith(block.id)] == [f"{block.id}_n1"]
    found = next(p for p in schema if p.name == f"{block.id}_n1")
    assert (found.default, found.type, found.step) == (9.0, "int", 1.0)
    tuned_spec = compile_spec(tuned, "demo", preset="rules_off")
    _same_run(engine.run(tuned_spec, panel, diagnostics=False),
              engine.run(_rsi_spec(9), panel, diagnostics=False))  # fmt: skip
