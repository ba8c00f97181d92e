"""A graph in plain words (zh-CN and en): the compiled spec's description from the strategy
library (indicator fields named by their indicator, parameters and output), plus what the
graph adds (universe filters, shared blocks, named parameters)."""

from __future__ import annotations

from collections.abc import Mapping

from quantlab.engine.builder.compile import compile_graph
from quantlab.engine.builder.graph import Graph
from quantlab.engine.library.describe import describe
from quantlab.engine.spec import RunSpec


def describe_graph(graph: Graph, factors: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"zh-CN": ..., "en": ...}`` for ``graph`` (:class:`GraphError` when it is invalid)."""
    compiled = compile_graph(graph, factors)
    spec = RunSpec.model_validate({**compiled.body, "dataset_id": "graph"})
    words = describe(spec)
    for name, d in sorted(spec.indicators.items(), key=lambda kv: -len(kv[0])):
        args = ", ".join(f"{k}={v:g}" for k, v in d.params.items())
        call = f"{d.indicator}({args})"
        words = {
            "zh-CN": words["zh-CN"].replace(name, f"{call} 的 {d.output}"),
            "en": words["en"].replace(name, f"{d.output} of {call}"),
        }
    zh, en = [words["zh-CN"]], [words["en"]]
    rules = compiled.body["rules"]
    if rules["exclude_st"] or rules["exclude_new"] or rules["min_volume_lots"]:
        zh_f, en_f = [], []
        if rules["exclude_st"]:
            zh_f.append("剔除 ST 股票")
            en_f.append("ST stocks")
        if rules["exclude_new"]:
            zh_f.append("剔除次新股")
            en_f.append("new listings")
        if rules["min_volume_lots"]:
            zh_f.append(f"成交量低于 {rules['min_volume_lots']:g} 手不交易")
            en_f.append(f"bars under {rules['min_volume_lots']:g} lots")
        zh.append("股票池:" + "、".join(zh_f) + "。")
        en.append("Excludes " + ", ".join(en_f) + ".")
    if graph.parameters:
        named = ", ".join(f"{k} = {v:g}" for k, v in graph.parameters.items())
        zh.append(f"可调参数:{named}。")
        en.append(f"Tunable parameters: {named}.")
    if compiled.shared:
        zh.append(f"{len(compiled.shared)} 个模块被多处复用,只计算一次。")
        en.append(f"{len(compiled.shared)} block(s) feed several others and are computed once.")
    return {"zh-CN": "".join(zh), "en": " ".join(en)}
