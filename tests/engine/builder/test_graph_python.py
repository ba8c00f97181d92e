"""Graph -> Python: the generated code is built from the syntax tree (names escaped, no
text pasted), and run through the code-strategy path in the real sandbox it gives the
same trades as the compiled spec, for every seeded template the demo market can run."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest
from tests.engine.builder.graphs import dual_ma, edge, node

from quantlab import engine
from quantlab.engine import expr
from quantlab.engine.builder import (
    Graph,
    UnsupportedPython,
    compile_spec,
    graph_from_spec,
    graph_python,
)
from quantlab.engine.data import Panel
from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel
from quantlab.engine.library import TEMPLATES
from quantlab.engine.library.examples import template_spec
from quantlab.engine.spec import RunSpec

RUNNABLE = sorted(k for k, t in TEMPLATES.items() if not t.requires_fields)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return frame_to_panel(demo_frame(n_symbols=30, n_days=300))


def _sandbox(code: str, inputs: dict[str, Any]) -> dict[str, Any]:
    from quantlab.sandbox.executor import run_array_code

    out: dict[str, Any] = run_array_code(code, inputs)
    return out


def _same_trades(a: engine.RunResult, b: engine.RunResult) -> None:
    ta, tb = a.simulation.trades, b.simulation.trades
    assert len(ta) > 0
    for name in ("symbol", "day", "side", "price", "quantity", "commission", "tax", "pnl"):
        np.testing.assert_array_equal(getattr(ta, name), getattr(tb, name), err_msg=name)
    np.testing.assert_array_equal(a.equity, b.equity)


@pytest.mark.parametrize("key", RUNNABLE)
def test_template_python_gives_the_same_trades_in_the_sandbox(key: str, panel: Panel) -> None:
    spec = template_spec(TEMPLATES[key], "demo")
    graph = graph_from_spec(spec)
    py = graph_python(graph)
    code_spec = RunSpec.model_validate({**spec.model_dump(mode="json"), "strategy": py.strategy})
    by_spec = engine.run(compile_spec(graph, "demo"), panel, diagnostics=False)
    by_code = engine.run(code_spec, panel, code_runner=_sandbox, diagnostics=False)
    _same_trades(by_spec, by_code)


def test_generated_code_is_readable_and_parameters_are_constants() -> None:
    py = graph_python(Graph.model_validate(dual_ma()))
    tree = ast.parse(py.code)
    assert "p_fast = 5.0" in py.code
    assert "v_fast = Mean(v_close, p_fast)" in py.code
    assert "entries = _truthy(v_up)" in py.code
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"Mean", "Cross", "CrossDown", "_truthy"} <= defined
    assert "EMA" not in defined  # only the helpers the graph uses
    assert py.strategy["sizing"]["fraction"] == 0.15 and py.strategy["max_holdings"] == 5


def test_hostile_names_stay_data() -> None:
    g = dual_ma()
    g["name"] = "x'''\nimport os; os.system('id')\n'''"
    g["nodes"][0]["id"] = "if"
    for e in g["edges"]:
        e["source"] = "if" if e["source"] == "close" else e["source"]
    g["nodes"][0]["params"]["name"] = "class"  # a field named like a keyword
    code = graph_python(Graph.model_validate(g)).code
    tree = ast.parse(code)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports == []
    assert "globals()['class']" in code and "v_if = " in code
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}  # fmt: skip
    assert "system" not in calls


def test_knobs_the_code_path_lacks_are_named() -> None:
    spec = template_spec(TEMPLATES["topk_alpha158"], "demo")
    graph = graph_from_spec(spec).model_dump()
    pick = next(n for n in graph["nodes"] if n["type"] == "select.top_k")
    pick["params"]["hold_thresh"] = 3
    with pytest.raises(UnsupportedPython) as err:
        graph_python(Graph.model_validate(graph))
    assert list(err.value.blocks.values()) == [
        "select.top_k with hold_thresh or risk_degree changed"
    ]


# The operators that had no helper before: each block, fed from the close (and the volume
# for the pairs), scores a top-k selection.
OPERATOR_BLOCKS: dict[str, dict[str, Any]] = {
    "Skew": {"window": 10},
    "Kurt": {"window": 10},
    "IdxMax": {"window": 10},
    "IdxMin": {"window": 10},
    "Quantile": {"window": 10, "quantile": 0.3},
    "Mad": {"window": 10},
    "Rank": {"window": 10},
    "Slope": {"window": 10},
    "Rsquare": {"window": 10},
    "Resi": {"window": 10},
    "WMA": {"window": 10},
    "Corr": {"window": 10},
    "Cov": {"window": 10},
    "Neutralize": {},
}


def _operator_graph(op: str) -> dict[str, Any]:
    nodes = [
        node("close", "field", name="close"),
        node("volume", "field", name="volume"),
        node("up", "expr", expression="$close > Mean($close, 20)"),
        node("size", "op.Log"),
        node("op", f"op.{op}", **OPERATOR_BLOCKS[op]),
        node("pick", "select.top_k", top_k=5, n_drop=2, rebalance="weekly"),
        node("out", "strategy"),
    ]
    edges = [edge("close", "op", "x")]
    if op in ("Corr", "Cov"):
        edges.append(edge("volume", "op", "y"))
    if op == "Neutralize":
        edges += [edge("volume", "size", "x"), edge("up", "op", "group"),
                  edge("size", "op", "size")]  # fmt: skip
    edges += [edge("op", "pick", "score"), edge("pick", "out", "select")]
    used = {e["source"] for e in edges} | {"op", "out"}
    return {"name": op, "nodes": [n for n in nodes if n["id"] in used], "edges": edges}


@pytest.mark.parametrize("op", sorted(OPERATOR_BLOCKS))
def test_every_operator_has_a_helper_with_the_same_values_and_trades(op: str, panel: Panel) -> None:
    graph = Graph.model_validate(_operator_graph(op))
    py = graph_python(graph)
    assert f"def {op}(" in py.code
    spec = compile_spec(graph, "demo", preset="rules_off")
    # the helper's values (the code's scores in the sandbox) against the engine's
    inputs = {name: np.ascontiguousarray(a) for name, a in panel.fields.items()}
    out = _sandbox(py.code, inputs)["scores"]
    text = spec.strategy.score  # type: ignore[union-attr]
    engine_values = expr.evaluate([text], panel)[text]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(engine_values))
    np.testing.assert_allclose(out, engine_values, rtol=2e-6, atol=1e-12)
    code_spec = RunSpec.model_validate({**spec.model_dump(mode="json"), "strategy": py.strategy})
    by_spec = engine.run(spec, panel, diagnostics=False)
    by_code = engine.run(code_spec, panel, code_runner=_sandbox, diagnostics=False)
    _same_trades(by_spec, by_code)


def test_expression_blocks_translate_through_their_syntax_tree(panel: Panel) -> None:
    g = dual_ma()
    g["nodes"].append(node("trend", "expr", expression="Mean($close, {fast}) > Ref($close, 10)"))
    g["nodes"].append(node("both", "op.And"))
    g["edges"] = [e for e in g["edges"] if e["target"] != "buy"]
    g["edges"] += [edge("up", "both", "x"), edge("trend", "both", "y"), edge("both", "buy", "when")]
    graph = Graph.model_validate(g)
    py = graph_python(graph)
    assert "v_trend = Gt(Mean(_f32(close), 5.0), Ref(_f32(close), 10.0))" in py.code
    spec = compile_spec(graph, "demo", preset="rules_off")
    code_spec = RunSpec.model_validate({**spec.model_dump(mode="json"), "strategy": py.strategy})
    by_spec = engine.run(spec, panel, diagnostics=False)
    by_code = engine.run(code_spec, panel, code_runner=_sandbox, diagnostics=False)
    _same_trades(by_spec, by_code)


def test_expanding_windows_are_named_not_approximated() -> None:
    g = dual_ma()
    g["nodes"][2]["params"]["window"] = 0  # Mean over the whole life so far
    with pytest.raises(UnsupportedPython) as err:
        graph_python(Graph.model_validate(g))
    assert err.value.blocks == {"slow": "Mean with window 0 (expanding)"}
