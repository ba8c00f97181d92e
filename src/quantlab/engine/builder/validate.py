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

import math
from collections import defaultdict, deque
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from quantlab.engine import expr
from quantlab.engine.builder.catalog import ACCEPTS, LOGIC_OPS, NodeType, ParamDef, catalog
from quantlab.engine.builder.graph import Graph, Node, ParamRef
from quantlab.engine.spec import substitute

MAX_LOGIC_DEPTH = 8
MAX_DEPTH = 40
FIELD_NAME = r"^[a-z_][a-z0-9_]{0,39}$"


@dataclass(frozen=True)
class Issue:
    """One problem of a graph."""

    code: str
    message: str
    fix: str
    node_id: str | None = None
    edge_id: str | None = None
    port: str | None = None
    param: str | None = None
    severity: Literal["error", "warning"] = "error"

    def as_dict(self) -> dict[str, Any]:
        """The issue as JSON."""
        return asdict(self)


class GraphError(ValueError):
    """A graph that cannot compile; ``issues`` says why (a caller maps it to a 422)."""

    def __init__(self, issues: list[Issue]) -> None:
        errors = [i for i in issues if i.severity == "error"]
        first = errors[0] if errors else issues[0]
        super().__init__(f"{len(errors)} problem(s) in the graph; first: {first.message}")
        self.issues = issues


@dataclass
class Checked:
    """A graph with its look-ups, shared by validation and the compilers."""

    graph: Graph
    nodes: dict[str, Node]
    types: dict[str, NodeType]
    inputs: dict[str, dict[str, list[tuple[str, str]]]]  # node -> port -> [(src, port)]
    consumers: dict[str, int]
    order: list[str]  # topological, sources first (empty when there is a cycle)
    output: str | None

    def source(self, node_id: str, port: str) -> tuple[str, str] | None:
        """The (node, port) feeding ``port`` of ``node_id``, if any."""
        found = self.inputs.get(node_id, {}).get(port)
        return found[0] if found else None

    def value(self, node: Node, name: str) -> Any:
        """A parameter's value with references resolved (the default when absent)."""
        raw = node.params.get(name)
        if raw is None:
            pdef = self.types[node.id].param(name)
            return None if pdef is None else pdef.default
        if isinstance(raw, ParamRef):
            v = self.graph.parameters[raw.ref]
            return -v if raw.negate else v
        return raw


def _param_issues(node: Node, t: NodeType, graph: Graph) -> list[Issue]:
    out: list[Issue] = []
    for name in node.params:
        if t.param(name) is None:
            allowed = ", ".join(p.name for p in t.params) or "none"
            out.append(
                Issue(
                    "param_unknown",
                    f"{t.type} has no parameter {name!r}",
                    f"remove it (parameters: {allowed})",
                    node.id,
                    param=name,
                )
            )
    for p in t.params:
        raw = node.params.get(p.name)
        if raw is None:
            if p.required and p.default is None:
                out.append(
                    Issue(
                        "param_missing",
                        f"{t.type}: parameter {p.name!r} is required",
                        f"set {p.name}",
                        node.id,
                        param=p.name,
                    )
                )
            continue
        if isinstance(raw, ParamRef):
            if raw.ref not in graph.parameters:
                out.append(
                    Issue(
                        "unknown_parameter",
                        f"{node.id}.{p.name} refers to the undefined parameter {raw.ref!r}",
                        f"add {raw.ref!r} to the graph's parameters",
                        node.id,
                        param=p.name,
                    )
                )
                continue
            if p.type not in ("int", "float"):
                out.append(
                    Issue(
                        "param_type",
                        f"{p.name} takes a {p.type}, not a reference",
                        "write the value itself",
                        node.id,
                        param=p.name,
                    )
                )
                continue
            value: Any = graph.parameters[raw.ref] * (-1 if raw.negate else 1)
        else:
            value = raw
        problem = _check_value(p, value)
        if problem:
            out.append(
                Issue(
                    "param_range" if "range" in problem else "param_type",
                    f"{node.id}.{p.name}: {problem}",
                    _fix(p),
                    node.id,
                    param=p.name,
                )
            )
    return out


def _check_value(p: ParamDef, v: Any) -> str | None:
    if p.type in ("int", "float"):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return f"must be a finite number, got {v!r}"
        if p.type == "int" and v != int(v):
            return f"must be a whole number, got {v!r}"
        if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
            return f"{v!r} is out of range [{p.minimum}, {p.maximum}]"
        return None
    if p.type == "bool":
        return None if isinstance(v, bool) else f"must be true or false, got {v!r}"
    if not isinstance(v, str):
        return f"must be text, got {v!r}"
    if p.type == "enum" and v not in p.choices:
        return f"{v!r} is not one of {list(p.choices)}"
    if p.type == "field":
        import re

        if not re.match(FIELD_NAME, v):
            return f"{v!r} is not a field name (lower-case letters, digits, _)"
    return None


def _fix(p: ParamDef) -> str:
    if p.choices:
        return f"choose one of {list(p.choices)}"
    if p.minimum is not None:
        return f"use a value between {p.minimum} and {p.maximum} (default {p.default})"
    return f"use a valid {p.type}"


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
        issues.extend(_param_issues(node, t, graph))
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
        if out_port.type not in ACCEPTS[in_port.type]:
            fix = (
                "add a comparison (e.g. Greater than) to turn numbers into a condition"
                if in_port.type == "bool"
                else f"connect a {in_port.type} output here"
            )
            issues.append(
                Issue(
                    "type_mismatch",
                    f"{e.source}.{e.source_port} gives "
                    f"{out_port.type} but {e.target}.{e.target_port} takes "
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
    issues.extend(_node_issues(checked, factors, fields))
    if order:
        issues.extend(_depth_issues(checked))
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


def _node_issues(
    c: Checked, factors: Mapping[str, str] | None, fields: Collection[str] | None
) -> list[Issue]:
    issues: list[Issue] = []
    for nid, t in c.types.items():
        node = c.nodes[nid]
        if t.type == "op.Ref":
            offset = c.value(node, "offset")
            if isinstance(offset, int | float) and offset < 0:
                issues.append(
                    Issue(
                        "lookahead",
                        f"{nid} reads {-offset:g} day(s) into the future",
                        "use a positive offset (days ago)",
                        nid,
                        param="offset",
                    )
                )
        elif t.type == "expr":
            text = c.value(node, "expression")
            if isinstance(text, str):
                issues.extend(_expr_issues(nid, text, c.graph.parameters, fields))
        elif t.type == "factor":
            fid = c.value(node, "factor_id")
            if factors is not None and fid not in factors:
                issues.append(
                    Issue(
                        "unknown_factor",
                        f"{nid}: no saved factor {fid!r}",
                        "pick a factor of your library",
                        nid,
                        param="factor_id",
                    )
                )
        elif t.type == "field" and fields is not None:
            name = c.value(node, "name")
            if name not in fields:
                issues.append(
                    Issue(
                        "unknown_field",
                        f"{nid}: the dataset has no field {name!r}",
                        f"use one of {sorted(fields)[:12]}",
                        nid,
                        param="name",
                    )
                )
        elif not t.compilable:
            issues.append(
                Issue(
                    "not_compilable",
                    f"{nid}: {t.type} is a preview-only block "
                    "(indicators are not part of the factor language)",
                    "use the equivalent factor-language blocks (e.g. Moving "
                    "average) or an expression node",
                    nid,
                    severity="warning",
                )
            )
    return issues


def _expr_issues(
    nid: str, text: str, parameters: Mapping[str, float], fields: Collection[str] | None
) -> list[Issue]:
    try:
        resolved = substitute(text, dict(parameters))
    except KeyError as exc:
        return [
            Issue(
                "unknown_parameter",
                f"{nid}: expression refers to {exc.args[0]!r}",
                "add it to the graph's parameters",
                nid,
                param="expression",
            )
        ]
    try:
        expr.validate(resolved, fields)
    except expr.ExprError as err:
        code = "lookahead" if err.kind == "lookahead" else "invalid_expression"
        return [
            Issue(
                code,
                f"{nid}: {err.message} (at {err.position})",
                "fix the expression; GET /api/factors/operators lists the operators",
                nid,
                param="expression",
            )
        ]
    return []


def _depth_issues(c: Checked) -> list[Issue]:
    depth: dict[str, int] = {}
    logic: dict[str, int] = {}
    issues: list[Issue] = []
    for nid in c.order:
        srcs = [s for ports in c.inputs.get(nid, {}).values() for s, _ in ports]
        t = c.types.get(nid)
        own = 1 if t is not None and t.extra.get("operator") in LOGIC_OPS else 0
        depth[nid] = 1 + max((depth[s] for s in srcs), default=0)
        logic[nid] = own + max((logic[s] for s in srcs), default=0)
        if logic[nid] > MAX_LOGIC_DEPTH and own:
            issues.append(
                Issue(
                    "nesting_too_deep",
                    f"{nid}: AND/OR/NOT nested {logic[nid]} deep (at most {MAX_LOGIC_DEPTH})",
                    "combine conditions side by side rather than in a chain",
                    nid,
                )
            )
            break
        if depth[nid] > MAX_DEPTH:
            issues.append(
                Issue(
                    "nesting_too_deep",
                    f"{nid}: {depth[nid]} blocks deep (at most {MAX_DEPTH})",
                    "use an expression node for long chains",
                    nid,
                )
            )
            break
    return issues


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
