"""The per-block checks of validation: parameters (known, typed, in range, references),
look-ahead, expressions and saved factors, and nesting depth."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from quantlab.engine import expr
from quantlab.engine.builder.catalog import BOOL_OPS, LOGIC_OPS, NodeType, ParamDef
from quantlab.engine.builder.graph import Graph, Node, ParamRef
from quantlab.engine.builder.issues import Checked, Issue
from quantlab.engine.spec import substitute

MAX_LOGIC_DEPTH = 8
MAX_DEPTH = 40
FIELD_NAME = r"^[a-z_][a-z0-9_]{0,39}$"


def param_issues(node: Node, t: NodeType, graph: Graph) -> list[Issue]:
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
        if not re.match(FIELD_NAME, v):
            return f"{v!r} is not a field name (lower-case letters, digits, _)"
    return None


def _fix(p: ParamDef) -> str:
    if p.choices:
        return f"choose one of {list(p.choices)}"
    if p.minimum is not None:
        return f"use a value between {p.minimum} and {p.maximum} (default {p.default})"
    return f"use a valid {p.type}"


def node_issues(
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


def depth_issues(c: Checked) -> list[Issue]:
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


def expression_type(node: Node, t: NodeType, graph: Graph) -> str | None:
    """``bool`` for an expression block whose outermost operator is a comparison, a cross or
    AND/OR/NOT (it gives 0/1), ``series`` for other expressions, None for other blocks."""
    if t.type != "expr":
        return None
    text = node.params.get("expression")
    try:
        root = expr.parse(substitute(str(text), dict(graph.parameters)))
    except (expr.ExprError, KeyError):
        return "series"
    return "bool" if isinstance(root, expr.Call) and root.op in BOOL_OPS else "series"
