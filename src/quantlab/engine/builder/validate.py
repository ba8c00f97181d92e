"""Graph validation: every problem with the node and edge it concerns and a suggested fix.

Checks, in order: known node types; unique ids; edges naming existing nodes and ports;
port types (see :data:`~quantlab.engine.builder.catalog.ACCEPTS`); one edge per single
input; required inputs; parameters (known, present, typed, in range, references to named
parameters); cycles; one ``strategy`` output with an entry *and* an exit path (or a
selection, or weights); look-ahead (``Ref`` with a negative offset, expressions reading the
future); nesting depth of AND/OR/NOT and of the whole graph; expressions that parse.
Disconnected nodes (nothing of theirs reaches the output) are warnings; everything else is
an error.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Mapping

from quantlab.engine.builder.catalog import ACCEPTS, NodeType, catalog
from quantlab.engine.builder.checks import (
    MAX_DEPTH,
    MAX_LOGIC_DEPTH,
    depth_issues,
    expression_type,
    node_issues,
    param_issues,
)
from quantlab.engine.builder.graph import Graph, Node
from quantlab.engine.builder.issues import Checked, GraphError, Issue

__all__ = [
    "MAX_DEPTH",
    "MAX_LOGIC_DEPTH",
    "Checked",
    "GraphError",
    "Issue",
    "check",
    "errors_of",
    "validate",
]


def check(
    graph: Graph,
    *,
    factors: Mapping[str, str] | None = None,
    fields: Collection[str] | None = None,
) -> tuple[Checked, list[Issue]]:
    """Look-ups of ``graph`` plus every issue found (see the module docstring)."""
    cat = catalog()
    issues: list[Issue] = []
    nodes: dict[str, Node] = {}
    types: dict[str, NodeType] = {}
    for node in graph.nodes:
        if node.id in nodes:
            issues.append(
                Issue(
                    "duplicate_id",
                    f"two nodes have the id {node.id!r}",
                    "give each node its own id",
                    node.id,
                )
            )
            continue
        nodes[node.id] = node
        t = cat.get(node.type)
        if t is None:
            issues.append(
                Issue(
                    "unknown_node_type",
                    f"unknown node type {node.type!r}",
                    "pick a type from GET /api/builder/catalog",
                    node.id,
                )
            )
            continue
        types[node.id] = t
        issues.extend(param_issues(node, t, graph))
    inputs: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    consumers: dict[str, int] = defaultdict(int)
    succ: dict[str, list[str]] = defaultdict(list)
    edge_ids: set[str] = set()
    for e in graph.edges:
        if e.id in edge_ids:
            issues.append(
                Issue(
                    "duplicate_id",
                    f"two edges have the id {e.id!r}",
                    "give each edge its own id",
                    edge_id=e.id,
                )
            )
            continue
        edge_ids.add(e.id)
        missing = [n for n in (e.source, e.target) if n not in nodes]
        if missing:
            issues.append(
                Issue(
                    "unknown_edge_node",
                    f"edge {e.id} names no node {missing[0]!r}",
                    "delete the edge or add the node",
                    edge_id=e.id,
                )
            )
            continue
        st, tt = types.get(e.source), types.get(e.target)
        if st is None or tt is None:
            continue
        out_port, in_port = st.output(e.source_port), tt.input(e.target_port)
        if out_port is None or in_port is None:
            side, name, t = (
                ("output", e.source_port, st) if out_port is None else ("input", e.target_port, tt)
            )
            ports = [p.name for p in (t.outputs if side == "output" else t.inputs)]
            issues.append(
                Issue(
                    "unknown_port",
                    f"{t.type} has no {side} port {name!r}",
                    f"use one of {ports}",
                    edge_id=e.id,
                    port=name,
                )
            )
            continue
        given = expression_type(nodes[e.source], st, graph) or out_port.type
        if given not in ACCEPTS[in_port.type]:
            fix = (
                "add a comparison (e.g. Greater than) to turn numbers into a condition"
                if in_port.type == "bool"
                else f"connect a {in_port.type} output here"
            )
            issues.append(
                Issue(
                    "type_mismatch",
                    f"{e.source}.{e.source_port} gives "
                    f"{given} but {e.target}.{e.target_port} takes "
                    f"{in_port.type}",
                    fix,
                    e.target,
                    e.id,
                    e.target_port,
                )
            )
            continue
        if inputs[e.target][e.target_port] and not in_port.multiple:
            issues.append(
                Issue(
                    "port_taken",
                    f"{e.target}.{e.target_port} already has an input",
                    "delete one of the two edges",
                    e.target,
                    e.id,
                    e.target_port,
                )
            )
            continue
        inputs[e.target][e.target_port].append((e.source, e.source_port))
        consumers[e.source] += 1
        succ[e.source].append(e.target)
    for nid, t in types.items():
        for p in t.inputs:
            if not p.optional and not inputs[nid][p.name]:
                issues.append(
                    Issue(
                        "missing_input",
                        f"{nid}: input {p.name!r} is not connected",
                        f"connect a {p.type} output to {p.name}",
                        nid,
                        port=p.name,
                    )
                )
    order = _topological(list(nodes), inputs)
    if order is None:
        cyc = sorted(_in_cycles(list(nodes), succ))
        cyc_edges = [e.id for e in graph.edges if e.source in cyc and e.target in cyc]
        issues.append(
            Issue(
                "cycle",
                f"the graph has a cycle through {cyc[:10]}",
                "remove one of the edges of the loop",
                cyc[0] if cyc else None,
                cyc_edges[0] if cyc_edges else None,
            )
        )
        order = []
    outputs = [nid for nid, t in types.items() if t.type == "strategy"]
    output = outputs[0] if len(outputs) == 1 else None
    checked = Checked(graph, nodes, types, inputs, consumers, order, output)
    if not outputs:
        issues.append(
            Issue(
                "missing_output",
                "the graph has no strategy output node",
                "add a 'strategy' node and connect signals to it",
            )
        )
    elif len(outputs) > 1:
        issues.append(
            Issue(
                "multiple_outputs",
                f"{len(outputs)} strategy nodes",
                "keep one strategy node",
                outputs[1],
            )
        )
    if output is not None:
        issues.extend(_output_issues(checked, output))
        if order:
            issues.extend(_reach_issues(checked, output))
    issues.extend(node_issues(checked, factors, fields))
    if order:
        issues.extend(depth_issues(checked))
    return checked, issues


def _topological(
    ids: list[str], inputs: Mapping[str, Mapping[str, list[tuple[str, str]]]]
) -> list[str] | None:
    indeg = {n: sum(len(v) for v in inputs.get(n, {}).values()) for n in ids}
    succ: dict[str, list[str]] = defaultdict(list)
    for tgt, ports in inputs.items():
        for srcs in ports.values():
            for src, _ in srcs:
                succ[src].append(tgt)
    queue = deque(n for n in ids if indeg[n] == 0)
    order: list[str] = []
    while queue:
        n = queue.popleft()
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                queue.append(m)
    return order if len(order) == len(ids) else None


def _in_cycles(ids: list[str], succ: Mapping[str, list[str]]) -> set[str]:
    # peel off nodes without successors or predecessors until only loops are left
    remaining = set(ids)
    changed = True
    while changed:
        changed = False
        has_pred = {m for n in remaining for m in succ.get(n, []) if m in remaining}
        for n in list(remaining):
            if n not in has_pred or not any(m in remaining for m in succ.get(n, [])):
                remaining.discard(n)
                changed = True
    return remaining


def _output_issues(c: Checked, out: str) -> list[Issue]:
    has = {p: bool(c.inputs[out][p]) for p in ("entry", "exit", "select", "weights")}
    issues: list[Issue] = []
    modes = [
        m
        for m, on in (
            ("signals", has["entry"] or has["exit"]),
            ("select", has["select"]),
            ("weights", has["weights"]),
        )
        if on
    ]
    if not modes:
        issues.append(
            Issue(
                "missing_entry",
                "nothing decides what to buy",
                "connect an entry signal, a top-k selection or target weights to the strategy node",
                out,
                port="entry",
            )
        )
    if len(modes) > 1:
        issues.append(
            Issue(
                "conflicting_outputs",
                f"the strategy node mixes {modes}",
                "keep only one of entry/exit signals, selection or weights",
                out,
            )
        )
    if has["entry"] and not has["exit"]:
        issues.append(
            Issue(
                "missing_exit",
                "there is an entry signal but no exit path",
                "add an exit signal node and connect it to the strategy's exit",
                out,
                port="exit",
            )
        )
    if has["exit"] and not has["entry"]:
        issues.append(
            Issue(
                "missing_entry",
                "there is an exit signal but no entry",
                "add an entry signal node and connect it to the strategy's entry",
                out,
                port="entry",
            )
        )
    for port, wanted in (
        ("entry", "signal.entry"),
        ("exit", "signal.exit"),
        ("select", "select.top_k"),
    ):
        src = c.source(out, port)
        if src is not None and c.types[src[0]].type != wanted:
            issues.append(
                Issue(
                    "type_mismatch",
                    f"the strategy's {port} takes a {wanted} node",
                    f"put a {wanted} node between",
                    out,
                    port=port,
                )
            )
    if has["select"] or has["weights"]:
        if c.inputs[out]["sizing"]:
            issues.append(
                Issue(
                    "sizing_unused",
                    "sizing applies to entry/exit signals only",
                    "remove the sizing node (top-k and weights size themselves)",
                    out,
                    port="sizing",
                    severity="warning",
                )
            )
    risks = [c.types[s].type for s, _ in c.inputs[out]["risk"]]
    if "risk.trailing_stop" in risks and "risk.stop_loss" in risks:
        issues.append(
            Issue(
                "conflicting_risk",
                "a stop-loss and a trailing stop together",
                "keep one of them (a trailing stop is a stop-loss)",
                out,
                port="risk",
            )
        )
    for kind in set(risks):
        if risks.count(kind) > 1:
            issues.append(
                Issue(
                    "conflicting_risk", f"{kind} is connected twice", "keep one", out, port="risk"
                )
            )
    return issues


def _reach_issues(c: Checked, out: str) -> list[Issue]:
    reached = {out}
    stack = [out]
    while stack:
        n = stack.pop()
        for srcs in c.inputs.get(n, {}).values():
            for src, _ in srcs:
                if src not in reached:
                    reached.add(src)
                    stack.append(src)
    return [
        Issue(
            "disconnected",
            f"{n} does not reach the strategy output",
            "connect it or delete it",
            n,
            severity="warning",
        )
        for n in c.nodes
        if n not in reached
    ]


def errors_of(issues: list[Issue]) -> list[Issue]:
    """The issues that stop compilation."""
    return [i for i in issues if i.severity == "error"]


def validate(
    graph: Graph,
    *,
    factors: Mapping[str, str] | None = None,
    fields: Collection[str] | None = None,
) -> list[Issue]:
    """Every issue of ``graph`` (errors and warnings)."""
    return check(graph, factors=factors, fields=fields)[1]
