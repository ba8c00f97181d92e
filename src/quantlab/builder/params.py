"""The parameter schema of a builder graph, so a strategy saved from the canvas can be tuned.

A graph's tunable numbers are its named parameters (``{"ref": "fast"}`` on a block), the
literal numeric parameters of operator blocks (the window of a Mean, the lag of a Ref...)
and the numeric parameters an indicator block sets (RSI's period, BOLL's width).
Each literal becomes a named parameter ``<node>_<param>`` before compiling, so the saved
spec reads it as a ``{placeholder}`` the optimiser can vary; each named parameter gets the
range of the block parameter it feeds (intersected when it feeds several) and step 1 when
that parameter is a whole number. Offsets stay literal: a negative offset looks ahead.
"""

from __future__ import annotations

import re
from typing import Any

from quantlab.engine.builder import Graph, catalog
from quantlab.engine.builder.catalog import ParamDef
from quantlab.engine.builder.graph import ParamRef
from quantlab.engine.library import ParamSpec

TUNABLE_KINDS = frozenset({"window", "lag", "span", "quantile"})
MAX_PARAMS = 50


def _name(node_id: str, param: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]", "_", node_id)[:30]
    base = f"{stem}_{param}" if stem[:1].isalpha() or stem[:1] == "_" else f"n_{stem}_{param}"
    name, k = base[:40], 1
    while name in taken:
        k += 1
        name = f"{base[:36]}_{k}"
    return name


def _tunable(extra: dict[str, Any], param: str, given: dict[str, Any]) -> bool:
    """An operator's window-like parameter, or an indicator parameter the block sets (the
    defaults it leaves, such as RSI's unused second and third periods, stay fixed)."""
    if "operator" in extra:
        return param in TUNABLE_KINDS
    return "indicator" in extra and param in given


def _valid(defn: ParamDef, raw: Any) -> bool:
    """A literal the block accepts as it is (anything else stays for validation to refuse)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return False
    if defn.type == "int" and not float(raw).is_integer():
        return False
    lo = float("-inf") if defn.minimum is None else defn.minimum
    hi = float("inf") if defn.maximum is None else defn.maximum
    return bool(lo <= raw <= hi)


def _bounds(defn: ParamDef, negate: bool) -> tuple[float, float] | None:
    if defn.minimum is None or defn.maximum is None:
        return None
    lo, hi = float(defn.minimum), float(defn.maximum)
    return (-hi, -lo) if negate else (lo, hi)


def tunable(graph: Graph) -> tuple[Graph, list[ParamSpec]]:
    """The graph with literal operator parameters named, and the schema of every named
    parameter that has a bounded range (at most :data:`MAX_PARAMS`, in graph order)."""
    types = catalog()
    params: dict[str, float] = dict(graph.parameters)
    ranges: dict[str, tuple[str, float, float]] = {}
    nodes = []
    for node in graph.nodes:
        entry = types.get(node.type)
        values = dict(node.params)
        for defn in entry.params if entry else ():
            raw = values.get(defn.name)
            if defn.type not in ("int", "float"):
                continue
            if isinstance(raw, ParamRef):
                name, negate = raw.ref, raw.negate
            elif (
                entry is not None
                and _tunable(entry.extra, defn.name, node.params)
                and _valid(defn, raw)
                and len(params) < MAX_PARAMS
            ):
                name, negate = _name(node.id, defn.name, set(params)), False
                params[name] = float(raw)  # type: ignore[arg-type]  # a number: _valid checked
                values[defn.name] = ParamRef(ref=name)
            else:
                continue
            bounds = _bounds(defn, negate)
            if bounds is None or name not in params:
                continue
            kind, lo, hi = ranges.get(name, (defn.type, *bounds))
            kind = "float" if "float" in (kind, defn.type) else "int"
            ranges[name] = (kind, max(lo, bounds[0]), min(hi, bounds[1]))
        nodes.append(node.model_copy(update={"params": values}))
    schema = [
        spec
        for name, (kind, lo, hi) in ranges.items()
        if (spec := _spec(name, kind, params[name], lo, hi)) is not None
    ][:MAX_PARAMS]
    return graph.model_copy(update={"nodes": nodes, "parameters": params}), schema


def _spec(name: str, kind: str, default: float, lo: float, hi: float) -> ParamSpec | None:
    if kind == "int" and not float(default).is_integer():
        kind = "float"
    if not lo <= default <= hi:
        return None
    text: dict[str, Any] = {"zh-CN": f"画布参数 {name}", "en": f"canvas parameter {name}"}
    return ParamSpec(
        name=name,
        type=kind,  # type: ignore[arg-type]
        default=float(default),
        min=float(lo),
        max=float(hi),
        step=1.0 if kind == "int" else None,
        description=text,  # type: ignore[arg-type]
    )
