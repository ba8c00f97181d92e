"""Graph <-> spec: every seeded template opens as a graph and compiles back to an equal
spec; a graph and its compiled spec give identical runs; shared blocks are one sub-tree."""

from __future__ import annotations

import numpy as np
import pytest
from tests.engine.builder.graphs import dual_ma, edge, node

from quantlab import engine
from quantlab.engine.builder import (
    Graph,
    GraphError,
    UnsupportedSpec,
    canonical,
    canonical_spec,
    compile_graph,
    compile_spec,
    describe_graph,
    graph_from_spec,
    graph_qlib_yaml,
)
from quantlab.engine.data import Panel
from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel
from quantlab.engine.library import TEMPLATES
from quantlab.engine.library.examples import template_spec
from quantlab.engine.spec import RunSpec, SignalsStrategy


@pytest.fixture(scope="module")
def panel() -> Panel:
    return frame_to_panel(demo_frame(n_symbols=30, n_days=300))


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_each_template_opens_as_a_graph_and_compiles_back(key: str) -> None:
    spec = template_spec(TEMPLATES[key], "demo")
    graph = graph_from_spec(spec)
    # the graph is blocks, not one opaque expression, and it keeps the named parameters
    assert not any(n.type == "expr" for n in graph.nodes)
    assert graph.parameters == spec.parameters
    back = compile_spec(Graph.model_validate(graph.model_dump(mode="json")), "demo")
    assert canonical_spec(back) == canonical_spec(spec)


def test_templates_not_covered_are_code_and_static_weights() -> None:
    # every seeded template is covered; the two kinds without blocks are refused clearly
    code = RunSpec.model_validate(
        {"dataset_id": "d", "strategy": {"kind": "code", "code": "entries = exits = 1"}}
    )
    static = RunSpec.model_validate(
        {"dataset_id": "d", "strategy": {"kind": "weights", "static": {"A": 1.0}}}
    )
    for spec in (code, static):
        with pytest.raises(UnsupportedSpec):
            graph_from_spec(spec)


def test_canonical_keeps_parameters_and_ignores_form() -> None:
    params = {"fast": 5.0, "slow": 20.0}
    a = canonical("Cross(Mean($close, {fast}), Mean($close, {slow}))", params)
    b = canonical("Cross(Mean($close,{fast}),Mean($close,{slow}))", params)
    assert a == b and "{fast}" in a
    swapped = canonical("Cross(Mean($close, {slow}), Mean($close, {fast}))", params)
    assert swapped != a


def test_shared_blocks_are_written_once_per_use_and_reported() -> None:
    compiled = compile_graph(Graph.model_validate(dual_ma()))
    assert compiled.shared == ["close", "fast", "slow"]
    assert compiled.body["strategy"]["entry"] == "Cross(Mean($close, {fast}), Mean($close, 20))"
    assert compiled.body["execution"]["stop_loss"] == "percent"
    assert compiled.body["strategy"]["sizing"]["fraction"] == 0.15


def _same_run(a: engine.RunResult, b: engine.RunResult) -> None:
    ta, tb = a.simulation.trades, b.simulation.trades
    assert len(ta) > 0
    for name in ("symbol", "day", "side", "price", "quantity", "commission", "pnl"):
        np.testing.assert_array_equal(getattr(ta, name), getattr(tb, name))
    np.testing.assert_array_equal(a.equity, b.equity)


def test_graph_and_compiled_spec_give_identical_runs(panel: Panel) -> None:
    graph = Graph.model_validate(dual_ma())
    from_graph = compile_spec(graph, "demo", preset="rules_off")
    by_hand = RunSpec.model_validate(
        {
            "dataset_id": "demo",
            "name": "dual MA",
            "preset": "rules_off",
            "parameters": {"fast": 5},
            "strategy": {
                "kind": "signals",
                "entry": "Cross(Mean($close, {fast}), Mean($close, 20))",
                "exit": "CrossDown(Mean($close, {fast}), Mean($close, 20))",
                "sizing": {"mode": "fixed_fraction", "fraction": 0.15},
                "max_holdings": 5,
            },
            "execution": {"stop_loss": "percent", "stop_loss_value": 0.1},
            "rules": {"exclude_st": True, "exclude_new": False},
        }
    )
    assert canonical_spec(from_graph) == canonical_spec(by_hand)
    _same_run(engine.run(from_graph, panel), engine.run(by_hand, panel))


def test_template_graph_runs_like_the_template(panel: Panel) -> None:
    spec = template_spec(TEMPLATES["topk_alpha158"], "demo")
    back = compile_spec(graph_from_spec(spec), "demo")
    _same_run(
        engine.run(spec, panel, diagnostics=False), engine.run(back, panel, diagnostics=False)
    )


def test_qlib_yaml_for_top_k_and_unsupported_otherwise() -> None:
    topk = graph_from_spec(template_spec(TEMPLATES["topk_alpha158"], "demo"))
    out = graph_qlib_yaml(topk)
    assert out.supported and out.text is not None and out.config is not None
    kwargs = out.config["port_analysis_config"]["strategy"]["kwargs"]
    assert (kwargs["topk"], kwargs["n_drop"]) == (30, 5)
    feature = out.config["task"]["dataset"]["kwargs"]["handler"]["kwargs"]["data_loader"]
    assert "Mean($close, 20)" in feature["kwargs"]["config"]["feature"][0][0]
    assert "TopkDropoutStrategy" in out.text
    assert out.config["task"]["model"] == {
        "class": "ScoreModel",
        "module_path": "quantlab.engine.builder.qlib_model",
    }
    signals = graph_qlib_yaml(Graph.model_validate(dual_ma()))
    assert not signals.supported and "signals" in (signals.reason or "")
    monthly = graph_from_spec(template_spec(TEMPLATES["low_volatility"], "demo"))
    assert "daily" in (graph_qlib_yaml(monthly).reason or "")


def test_description_in_both_languages() -> None:
    words = describe_graph(Graph.model_validate(dual_ma()))
    assert "买入" in words["zh-CN"] and "剔除 ST" in words["zh-CN"]
    assert words["en"].startswith("Buys when") and "stop-loss at 0.1" in words["en"]
    assert "fast = 5" in words["en"] and "computed once" in words["en"]


def test_sizing_risk_and_universe_blocks_map_to_spec_fields_and_back() -> None:
    g = dual_ma()
    g["nodes"] = [n for n in g["nodes"] if n["id"] not in ("size", "stop")]
    g["edges"] = [e for e in g["edges"] if e["source"] not in ("size", "stop")]
    g["nodes"] += [
        node("vol", "sizing.vol_target", vol_target=0.2, vol_window=30, per_stock_cap=0.1),
        node("trail", "risk.trailing_stop", value=0.12),
        node("tp", "risk.take_profit", mode="atr", value=3.0, atr_window=20),
        node("liq", "universe.liquidity", min_volume_lots=50),
        node("new", "universe.listing_age"),
    ]
    g["edges"] += [
        edge("vol", "out", "sizing"),
        edge("trail", "out", "risk"),
        edge("tp", "out", "risk"),
        edge("liq", "out", "universe"),
        edge("new", "out", "universe"),
    ]
    spec = compile_spec(Graph.model_validate(g), "demo")
    s = spec.strategy
    assert isinstance(s, SignalsStrategy)
    assert (s.sizing.mode, s.sizing.vol_target, s.sizing.vol_window) == ("vol_target", 0.2, 30)
    assert s.sizing.per_stock_cap == 0.1
    ex = spec.execution
    assert (ex.stop_loss, ex.stop_loss_value) == ("trailing", 0.12)
    assert (ex.take_profit, ex.take_profit_value, ex.atr_window) == ("atr", 3.0, 20)
    assert spec.rules.min_volume_lots == 50 and spec.rules.exclude_st and spec.rules.exclude_new
    back = compile_spec(graph_from_spec(spec), "demo")
    assert canonical_spec(back) == canonical_spec(spec)


def test_a_stop_loss_and_a_trailing_stop_conflict() -> None:
    g = dual_ma()
    g["nodes"].append(node("trail", "risk.trailing_stop", value=0.1))
    g["edges"].append(edge("trail", "out", "risk"))
    with pytest.raises(GraphError) as err:
        compile_graph(Graph.model_validate(g))
    assert [i.code for i in err.value.issues] == ["conflicting_risk"]
