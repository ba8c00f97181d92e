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


def test_operators_without_a_helper_are_named() -> None:
    g = dual_ma()
    g["nodes"].append(node("sk", "op.Skew", window=10))
    g["edges"] = [e for e in g["edges"] if e["id"] != "fast-up-x"]
    g["edges"] += [edge("close", "sk", "x"), edge("sk", "up", "x")]
    with pytest.raises(UnsupportedPython) as err:
        graph_python(Graph.model_validate(g))
    assert err.value.blocks == {"sk": "Skew"}


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
