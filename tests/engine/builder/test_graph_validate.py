"""Graph validation: each kind of problem names its node or edge and suggests a fix;
hostile graphs are refused by the model before any work."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError
from tests.engine.builder.graphs import chain, dual_ma, edge, node

from quantlab.engine.builder import Graph, GraphError, compile_graph, graph_schema, validate
from quantlab.engine.builder.catalog import catalog
from quantlab.engine.builder.graph import MAX_NODES
from quantlab.engine.builder.validate import MAX_LOGIC_DEPTH


def _codes(data: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for issue in validate(Graph.model_validate(data)):
        assert issue.message and issue.fix
        out.setdefault(issue.code, []).append(issue)
    return out


def test_the_dual_ma_graph_is_clean() -> None:
    assert validate(Graph.model_validate(dual_ma())) == []


def test_schema_is_versioned_json_schema() -> None:
    schema = graph_schema()
    assert schema["$id"].endswith("/v1.json") and schema["x-schema-version"] == 1
    assert {"nodes", "edges", "parameters"} <= set(schema["properties"])
    assert schema["x-limits"]["nodes"] == MAX_NODES


def test_catalog_covers_the_issue_blocks() -> None:
    types = set(catalog())
    wanted = {"field", "expr", "factor", "op.Add", "op.Gt", "op.Cross", "op.CrossDown",
              "op.And", "op.Or", "op.Not", "op.CSRank", "op.CSZScore", "signal.entry",
              "signal.exit", "select.top_k", "sizing.equal", "sizing.fixed_fraction",
              "sizing.vol_target", "risk.stop_loss", "risk.take_profit",
              "risk.trailing_stop", "universe.exclude_st", "universe.listing_age",
              "universe.liquidity", "indicator.MA", "indicator.MACD"}  # fmt: skip
    assert wanted <= types
    for entry in catalog().values():
        row = entry.as_dict()
        assert row["label"]["zh-CN"] and row["label"]["en"]
        assert row["description"]["zh-CN"] and row["description"]["en"]


def test_type_mismatch_names_the_edge() -> None:
    g = dual_ma()
    g["edges"] = [e for e in g["edges"] if e["target"] != "buy"]
    g["edges"].append(edge("fast", "buy", "when"))  # numbers where a condition is wanted
    issues = _codes(g)["type_mismatch"]
    assert issues[0].edge_id == "fast-buy-when" and issues[0].node_id == "buy"
    assert "comparison" in issues[0].fix


def test_cycle_is_found() -> None:
    g = dual_ma()
    g["nodes"].append(node("loop", "op.Add"))
    g["edges"] += [edge("fast", "loop", "x"), edge("loop", "loop2", "y")]
    g["nodes"].append(node("loop2", "op.Abs"))
    g["edges"].append(edge("loop2", "loop", "y"))
    g["edges"] = [e for e in g["edges"] if e["id"] != "loop-loop2-y"]
    g["edges"].append(edge("loop", "loop2", "x"))
    codes = _codes(g)
    assert codes["cycle"][0].node_id in {"loop", "loop2"}
    assert codes["cycle"][0].edge_id is not None


def test_disconnected_node_is_a_warning() -> None:
    g = dual_ma()
    g["nodes"].append(node("stray", "field", name="open"))
    issue = _codes(g)["disconnected"][0]
    assert issue.node_id == "stray" and issue.severity == "warning"
    compile_graph(Graph.model_validate(g))  # warnings do not stop compilation


def test_missing_exit_path() -> None:
    g = dual_ma()
    g["edges"] = [e for e in g["edges"] if e["target_port"] != "exit"]
    issue = _codes(g)["missing_exit"][0]
    assert issue.node_id == "out" and issue.port == "exit"
    with pytest.raises(GraphError) as err:
        compile_graph(Graph.model_validate(g))
    assert any(i.code == "missing_exit" for i in err.value.issues)


def test_parameters_out_of_range_and_unknown() -> None:
    g = dual_ma()
    g["nodes"][2]["params"]["window"] = 99_999
    g["nodes"][7]["params"]["fraction"] = 3.0
    g["nodes"][7]["params"]["colour"] = 1
    g["nodes"][1]["params"]["window"] = {"ref": "nope"}
    codes = _codes(g)
    assert {i.node_id for i in codes["param_range"]} == {"slow", "size"}
    assert codes["param_unknown"][0].param == "colour"
    assert codes["unknown_parameter"][0].node_id == "fast"


def test_look_ahead_in_blocks_and_expressions() -> None:
    g = dual_ma()
    g["nodes"].append(node("peek", "op.Ref", offset=-1))
    g["nodes"].append(node("peek2", "expr", expression="Ref($close, -2) > $close"))
    g["edges"].append(edge("close", "peek", "x"))
    codes = _codes(g)
    assert {i.node_id for i in codes["lookahead"]} == {"peek", "peek2"}


def test_logic_nesting_depth() -> None:
    g = dual_ma()
    prev = "up"
    for i in range(MAX_LOGIC_DEPTH + 1):
        g["nodes"].append(node(f"not{i}", "op.Not"))
        g["edges"].append(edge(prev, f"not{i}", "x"))
        prev = f"not{i}"
    g["edges"] = [e for e in g["edges"] if e["target"] != "buy"]
    g["edges"].append(edge(prev, "buy", "when"))
    assert _codes(g)["nesting_too_deep"][0].node_id == f"not{MAX_LOGIC_DEPTH}"


def test_chain_depth_limit() -> None:
    assert "nesting_too_deep" in _codes(chain(60))


def test_unknown_type_and_missing_output() -> None:
    g = dual_ma()
    g["nodes"] = [n for n in g["nodes"] if n["id"] != "out"]
    g["edges"] = [e for e in g["edges"] if e["target"] != "out"]
    g["nodes"].append(node("x", "os.system"))
    codes = _codes(g)
    assert codes["unknown_node_type"][0].node_id == "x"
    assert "missing_output" in codes


def test_indicator_blocks_compile_with_numbers_or_named_parameters() -> None:
    g = dual_ma()
    g["nodes"].append(node("ma", "indicator.MA", n=5))
    g["edges"] = [e for e in g["edges"] if e["id"] != "fast-up-x"]
    g["edges"].append(edge("ma", "up", "x", src_port="ma"))
    assert "not_compilable" not in _codes(g)
    body = compile_graph(Graph.model_validate(g)).body
    assert body["strategy"]["entry"].startswith("Cross($ind_ma_5_ma, ")
    assert body["indicators"] == {"ind_ma_5_ma": {"indicator": "MA", "params": {"n": 5.0},
                                                  "output": "MA"}}  # fmt: skip
    g["nodes"][-1]["params"]["n"] = {"ref": "fast"}
    body = compile_graph(Graph.model_validate(g)).body
    assert body["indicators"] == {"ind_ma__fast__ma": {"indicator": "MA",
                                                       "params": {"n": "{fast}"},
                                                       "output": "MA"}}  # fmt: skip
    g["nodes"][-1]["params"]["n"] = {"ref": "fast", "negate": True}
    with pytest.raises(GraphError, match="out of range"):  # -5: validation refuses it
        compile_graph(Graph.model_validate(g))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda g: g.update(nodes=[node(f"n{i}", "field") for i in range(10_000)]),
        lambda g: g["nodes"].append(node("x'); import os; os.system('id')#", "field")),
        lambda g: g["nodes"].append(node("bad", "field", name={"nested": {"deep": 1}})),
        lambda g: g["nodes"][0]["params"].update(name="x" * 5_000),
        lambda g: g.update(extra="field"),
    ],
)
def test_hostile_graphs_are_refused_by_the_model(mutate: Any) -> None:
    g = copy.deepcopy(dual_ma())
    mutate(g)
    with pytest.raises(ValidationError):
        Graph.model_validate(g)


def test_names_with_code_in_them_stay_data() -> None:
    g = dual_ma()
    g["nodes"][0]["params"]["name"] = "close'); import os #"
    g["nodes"][0]["label"] = "'); import os; os.system('id') #"
    codes = _codes(g)
    assert codes["param_type"][0].node_id == "close"
