"""Graph -> run spec, and run spec -> graph for the spec kinds the catalog covers.

Graph -> spec: each expression input is written out in the factor language from its
sub-graph; a block used by several consumers is one node of the graph and one canonical
sub-tree of the expressions, which the engine evaluates once (equal sub-trees are shared
by :mod:`quantlab.engine.expr`). Named graph parameters become the spec's ``{name}``
placeholders, so a compiled spec keeps its tunable parameters.

Spec -> graph: each expression is parsed (placeholders stand in as sentinel numbers) into
one block per distinct sub-tree; signals, scores and expression weights open, code and
static weights do not (:class:`UnsupportedSpec`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantlab.engine import expr
from quantlab.engine.builder.catalog import port_name
from quantlab.engine.builder.graph import Edge, Graph, Node, ParamRef, Position, RunSettings
from quantlab.engine.builder.validate import Checked, GraphError, check, errors_of
from quantlab.engine.expr.ast import Call, Const, Field, format_number
from quantlab.engine.spec import (
    Expression,
    RunSpec,
    ScoresStrategy,
    SignalsStrategy,
    WeightsStrategy,
    preset_values,
)

MAX_EXPRESSION = 4_000
_SENTINEL = 7_919_000.0
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ = Expression
INFIX = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Gt": ">", "Ge": ">=", "Lt": "<",
         "Le": "<=", "Eq": "==", "Ne": "!=", "And": "&", "Or": "|"}  # fmt: skip


class UnsupportedSpec(ValueError):
    """A spec the builder cannot show as a graph (code strategies, static weights)."""


@dataclass(frozen=True)
class CompiledGraph:
    """A compiled graph: the spec body (no dataset), its expressions and shared blocks."""

    body: dict[str, Any]
    expressions: dict[str, str]
    shared: list[str]
    warnings: list[dict[str, Any]]


def _number(c: Checked, node: Node, name: str) -> str:
    raw = node.params.get(name)
    if isinstance(raw, ParamRef):
        return f"(-{{{raw.ref}}})" if raw.negate else f"{{{raw.ref}}}"
    value = c.value(node, name)
    text = format_number(float(value))
    return f"({text})" if text.startswith("-") else text


def _token(value: float | str) -> str:
    if isinstance(value, str):  # "{name}" of a parameter: "_name_", never a number's token
        return re.sub(r"[^a-z0-9]", "_", value.lower())
    text = format_number(float(value)).replace("-", "m").replace(".", "p")
    return re.sub(r"[^a-z0-9]", "_", text.lower())


def indicator_field(indicator: str, params: Mapping[str, float | str], output: str) -> str:
    """The spec field name of an indicator output: the same indicator, parameters (in the
    catalog's order, defaults included; ``"{name}"`` for a named parameter) and output
    always give the same name."""
    parts = [indicator, *(_token(v) for v in params.values()), output]
    name = "ind_" + re.sub(r"[^a-z0-9_]", "_", "_".join(parts).lower())
    if len(name) > 60:
        import hashlib

        name = f"{name[:50]}_{hashlib.sha256(name.encode()).hexdigest()[:9]}"
    return name


class _Writer:
    def __init__(self, c: Checked, factors: Mapping[str, str] | None) -> None:
        self.c = c
        self.factors = factors or {}
        self.memo: dict[tuple[str, str], str] = {}
        self.infix: set[str] = set()
        self.indicators: dict[str, dict[str, Any]] = {}

    def indicator(self, nid: str, port: str) -> str:
        """``$name`` of an indicator block's output port, its definition recorded."""
        c = self.c
        node, t = c.nodes[nid], c.types[nid]
        refs = {k: v for k, v in node.params.items() if isinstance(v, ParamRef)}
        negated = [k for k, v in refs.items() if v.negate]
        if negated:
            message = f"{nid}: an indicator parameter takes a parameter, not its negation"
            raise GraphError([_issue("param_type", f"{message} ({negated[0]})", nid)])
        outputs = {port_name(o): o for o in t.extra["output_names"]}
        output = outputs[port]
        params: dict[str, float | str] = {}
        for p in t.params:  # a named parameter stays "{name}": the run resolves it
            ref = refs.get(p.name)
            params[p.name] = f"{{{ref.ref}}}" if ref else float(c.value(node, p.name))
        name = indicator_field(str(t.extra["indicator"]), params, output)
        given = {k: params[k] for k in node.params}
        self.indicators[name] = {"indicator": t.extra["indicator"], "params": given,
                                 "output": output}  # fmt: skip
        return f"${name}"

    def text(self, nid: str, port: str = "out") -> str:
        done = self.memo.get((nid, port))
        if done is not None:
            return done
        c = self.c
        node, t = c.nodes[nid], c.types[nid]
        if "indicator" in t.extra:
            out = self.indicator(nid, port)
        elif t.type == "field":
            out = f"${c.value(node, 'name')}"
        elif t.type == "const":
            out = _number(c, node, "value")
        elif t.type == "expr":
            out = f"({c.value(node, 'expression')})"
        elif t.type == "factor":
            fid = c.value(node, "factor_id")
            if fid not in self.factors:
                raise GraphError([_issue("unknown_factor", f"{nid}: unknown factor {fid!r}", nid)])
            out = f"({self.factors[fid]})"
        elif "operator" in t.extra:
            args = []
            for in_port in t.inputs:
                src = c.source(nid, in_port.name)
                assert src is not None
                args.append(self.text(*src))
            args += [_number(c, node, p.name) for p in t.params]
            symbol = INFIX.get(t.extra["operator"])
            if symbol is not None:
                out = f"({args[0]} {symbol} {args[1]})"
                self.infix.add(nid)
            else:
                out = f"{t.extra['operator']}({', '.join(args)})"
        else:
            raise GraphError(
                [
                    _issue(
                        "not_compilable",
                        f"{nid}: {t.type} gives no expression",
                        nid,
                    )
                ]
            )
        if len(out) > MAX_EXPRESSION:
            raise GraphError(
                [
                    _issue(
                        "expression_too_long",
                        f"{nid}: the expression grows past {MAX_EXPRESSION} characters",
                        nid,
                    )
                ]
            )
        self.memo[(nid, port)] = out
        return out

    def input_text(self, nid: str, port: str) -> str:
        src = self.c.source(nid, port)
        assert src is not None
        text = self.text(*src)
        return text[1:-1] if src[0] in self.infix else text


def _issue(code: str, message: str, nid: str) -> Any:
    from quantlab.engine.builder.validate import Issue

    return Issue(code, message, "see GET /api/builder/catalog", nid)


def checked_graph(
    graph: Graph, factors: Mapping[str, str] | None = None
) -> tuple[Checked, list[dict[str, Any]]]:
    """The graph's look-ups, or :class:`GraphError` with every error; plus its warnings."""
    c, issues = check(graph, factors=factors)
    errors = errors_of(issues)
    blocking = [i for i in issues if i.code == "not_compilable"]
    if errors or blocking:
        raise GraphError(errors + blocking)
    return c, [i.as_dict() for i in issues]


def compile_graph(graph: Graph, factors: Mapping[str, str] | None = None) -> CompiledGraph:
    """The spec body of ``graph`` (everything of a RunSpec but the data and dates)."""
    c, warnings = checked_graph(graph, factors)
    out = c.output
    assert out is not None
    w = _Writer(c, factors)
    src = {p: c.source(out, p) for p in ("entry", "exit", "select", "weights", "sizing")}
    strategy: dict[str, Any]
    exprs: dict[str, str] = {}
    if src["select"] is not None:
        sel = src["select"][0]
        node = c.nodes[sel]
        exprs["strategy.score"] = w.input_text(sel, "score")
        strategy = {"kind": "scores", "score": exprs["strategy.score"]}
        for name in ("top_k", "n_drop", "rebalance", "hold_thresh", "risk_degree"):
            strategy[name] = c.value(node, name)
        if strategy["n_drop"] > strategy["top_k"]:
            raise GraphError([_issue("param_range", f"{sel}: n_drop exceeds top_k", sel)])
    elif src["weights"] is not None:
        wid = src["weights"][0]
        exprs["strategy.weight"] = w.input_text(wid, "weight")
        node = c.nodes[wid]
        strategy = {
            "kind": "weights",
            "weight": exprs["strategy.weight"],
            "normalize": c.value(node, "normalize"),
            "rebalance": c.value(node, "rebalance"),
        }
    else:
        assert src["entry"] is not None and src["exit"] is not None
        exprs["strategy.entry"] = w.input_text(src["entry"][0], "when")
        exprs["strategy.exit"] = w.input_text(src["exit"][0], "when")
        strategy = {
            "kind": "signals",
            "entry": exprs["strategy.entry"],
            "exit": exprs["strategy.exit"],
            **_sizing(c, src["sizing"]),
        }
    body: dict[str, Any] = {
        "name": graph.name,
        "preset": graph.settings.preset,
        "parameters": dict(graph.parameters),
        "strategy": strategy,
        "execution": _risk(c, out),
        "rules": _universe(c, out),
    }
    if graph.settings.price is not None:
        body["execution"]["price"] = graph.settings.price
    if w.indicators:
        body["indicators"] = dict(sorted(w.indicators.items()))
    _check_expressions(exprs, graph.parameters)
    written = {nid for nid, _ in w.memo}
    shared = [n for n in c.order if c.consumers.get(n, 0) > 1 and n in written]
    return CompiledGraph(body, exprs, shared, warnings)


def _check_expressions(exprs: Mapping[str, str], parameters: Mapping[str, float]) -> None:
    """Every compiled expression parses (windows fit their operator, no future reads)."""
    from quantlab.engine.builder.validate import Issue
    from quantlab.engine.spec import substitute

    for path, text in exprs.items():
        try:
            expr.validate(substitute(text, dict(parameters)))
        except expr.ExprError as err:
            issue = Issue(
                "invalid_expression",
                f"{path}: {err.message}",
                "check the blocks' parameters (e.g. windows an operator accepts)",
            )
            raise GraphError([issue]) from None


def _sizing(c: Checked, src: tuple[str, str] | None) -> dict[str, Any]:
    if src is None:
        return {}
    node, kind = c.nodes[src[0]], c.types[src[0]].type.split(".", 1)[1]
    sizing: dict[str, Any] = {"mode": kind, "per_stock_cap": c.value(node, "per_stock_cap")}
    for name in ("fraction", "amount", "vol_target", "vol_window"):
        if c.types[src[0]].param(name) is not None:
            sizing[name] = c.value(node, name)
    return {"sizing": sizing, "max_holdings": int(c.value(node, "max_holdings"))}


def _risk(c: Checked, out: str) -> dict[str, Any]:
    ex: dict[str, Any] = {"stop_loss": "none", "take_profit": "none"}
    for src, _ in c.inputs[out]["risk"]:
        node, t = c.nodes[src], c.types[src].type
        if t == "risk.trailing_stop":
            ex.update(stop_loss="trailing", stop_loss_value=c.value(node, "value"))
            continue
        side = "stop_loss" if t == "risk.stop_loss" else "take_profit"
        ex[side] = c.value(node, "mode")
        ex[f"{side}_value"] = c.value(node, "value")
        if ex[side] == "atr":
            ex["atr_window"] = int(c.value(node, "atr_window"))
    return ex


def _universe(c: Checked, out: str) -> dict[str, Any]:
    kinds = {c.types[s].type: c.nodes[s] for s, _ in c.inputs[out]["universe"]}
    liquidity = kinds.get("universe.liquidity")
    return {
        "exclude_st": "universe.exclude_st" in kinds,
        "exclude_new": "universe.listing_age" in kinds,
        "min_volume_lots": 0.0 if liquidity is None else c.value(liquidity, "min_volume_lots"),
    }


def compile_spec(
    graph: Graph,
    dataset_id: str,
    factors: Mapping[str, str] | None = None,
    **config: Any,
) -> RunSpec:
    """``graph`` compiled to a runnable spec on ``dataset_id`` (``config``: start, end ...)."""
    body = compile_graph(graph, factors).body
    return RunSpec.model_validate({**body, **config, "dataset_id": dataset_id})


# --- spec -> graph ---------------------------------------------------------------------------


def _sentinels(parameters: Mapping[str, float]) -> dict[str, float]:
    return {name: _SENTINEL + 7 * i for i, name in enumerate(sorted(parameters))}


def _parse_with_placeholders(text: str, parameters: Mapping[str, float]) -> expr.Node:
    marks = _sentinels(parameters)
    return expr.parse(_PLACEHOLDER.sub(lambda m: format_number(marks[m.group(1)]), text))


def canonical(text: str, parameters: Mapping[str, float]) -> str:
    """The canonical form of an expression with its ``{name}`` placeholders kept: two texts
    with the same canonical form are the same computation with the same parameters."""
    marks = {format_number(v): k for k, v in _sentinels(parameters).items()}
    out = str(_parse_with_placeholders(text, parameters))
    return re.sub(r"-?\d+", lambda m: _mark_text(m.group(), marks), out)


def _mark_text(number: str, marks: Mapping[str, str]) -> str:
    neg = number.startswith("-")
    name = marks.get(number.lstrip("-"))
    if name is None:
        return number
    return f"-{{{name}}}" if neg else f"{{{name}}}"


def canonical_spec(spec: RunSpec) -> dict[str, Any]:
    """``spec`` as JSON with every expression in :func:`canonical` form (for comparisons)."""
    data = spec.model_dump(mode="json")
    s = data["strategy"]
    names = _canonical_indicators(data)
    for key in ("entry", "exit", "score", "weight"):
        if isinstance(s.get(key), str):
            text = canonical(s[key], spec.parameters)
            s[key] = re.sub(r"\$(\w+)", lambda m: f"${names.get(m.group(1), m.group(1))}", text)
    return data


def _canonical_indicators(data: dict[str, Any]) -> dict[str, str]:
    """Rename ``data``'s indicator fields to :func:`indicator_field` names with every
    parameter written out (so two spellings of one definition compare equal); the renames."""
    from quantlab.engine.indicators import IndicatorError, get_indicator

    names: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, d in data.get("indicators", {}).items():
        try:
            params = get_indicator(d["indicator"]).validate_params(d["params"])
        except IndicatorError:
            out[name] = d
            continue
        full = {k: float(v) for k, v in params.items()}
        names[name] = indicator_field(d["indicator"], full, d["output"])
        out[names[name]] = {**d, "params": full}
    data["indicators"] = dict(sorted(out.items()))
    return names


def _ref(src: str) -> tuple[str, str]:
    """A block output as ``(node, port)`` (``node.port`` names a port other than ``out``)."""
    nid, _, port = src.partition(".")
    return nid, port or "out"


class _Builder:
    def __init__(
        self, parameters: Mapping[str, float], indicators: Mapping[str, Any] | None = None
    ) -> None:
        self.parameters = parameters
        self.indicators = indicators or {}
        self.marks = {v: k for k, v in _sentinels(parameters).items()}
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.ids: dict[Any, str] = {}
        self.depth: dict[str, int] = {}

    def add(self, type_: str, params: dict[str, Any], inputs: list[tuple[str, str]]) -> str:
        key = (type_, tuple(sorted((k, repr(v)) for k, v in params.items())), tuple(inputs))
        found = self.ids.get(key)
        if found is not None:
            return found
        nid = f"n{len(self.nodes) + 1}"
        self.ids[key] = nid
        depth = 1 + max((self.depth[_ref(s)[0]] for s, _ in inputs), default=0)
        self.depth[nid] = depth
        self.nodes.append(
            Node(id=nid, type=type_, params=params, position=Position(x=240.0 * depth, y=0.0))
        )
        for src, port in inputs:
            source, source_port = _ref(src)
            self.edges.append(
                Edge(
                    id=f"e{len(self.edges) + 1}",
                    source=source,
                    source_port=source_port,
                    target=nid,
                    target_port=port,
                )
            )
        return nid

    def indicator(self, name: str) -> str:
        """The block (and port, as ``node.port``) of the spec's indicator field ``name``."""
        from quantlab.engine.builder.catalog import catalog

        d = self.indicators[name]
        t = catalog().get(f"indicator.{d.indicator}")
        ports = {o: port_name(o) for o in t.extra["output_names"]} if t else {}
        if t is None or d.output not in ports:
            raise UnsupportedSpec(f"indicators.{name} is not a catalog indicator output")
        params: dict[str, Any] = {}
        for k, v in d.params.items():
            p = t.param(k)
            if isinstance(v, str):  # "{name}" of a parameter
                params[k] = ParamRef(ref=v[1:-1])
            else:
                params[k] = int(v) if p is not None and p.type == "int" and v == int(v) else v
        return f"{self.add(t.type, params, [])}.{ports[d.output]}"

    def value(self, v: float) -> float | ParamRef:
        if v in self.marks:
            return ParamRef(ref=self.marks[v])
        if -v in self.marks:
            return ParamRef(ref=self.marks[-v], negate=True)
        if abs(abs(v) - _SENTINEL) < 1e5:
            raise UnsupportedSpec("a parameter is folded into arithmetic on constants")
        return v

    def tree(self, node: expr.Node) -> str:
        from quantlab.engine.builder.catalog import catalog

        if isinstance(node, Field):
            if node.name in self.indicators:
                return self.indicator(node.name)
            return self.add("field", {"name": node.name}, [])
        if isinstance(node, Const):
            return self.add("const", {"value": self.value(node.value)}, [])
        assert isinstance(node, Call)
        t = catalog()[f"op.{node.op}"]
        inputs = [(self.tree(a), p.name) for a, p in zip(node.args, t.inputs, strict=True)]
        params = {p.name: self.value(v) for p, v in zip(t.params, node.params, strict=True)}
        return self.add(t.type, params, inputs)

    def expression(self, text: str) -> str:
        try:
            return self.tree(_parse_with_placeholders(text, self.parameters))
        except (expr.ExprError, UnsupportedSpec):
            return self.add("expr", {"expression": text}, [])


def graph_from_spec(spec: RunSpec) -> Graph:
    """The graph of ``spec`` (signals, scores, expression weights); compiling it gives back
    an equal spec in :func:`canonical_spec` form."""
    s = spec.strategy
    b = _Builder(spec.parameters, spec.indicators)
    wire: dict[str, str] = {}
    if isinstance(s, SignalsStrategy):
        wire["entry"] = b.add("signal.entry", {}, [(b.expression(s.entry), "when")])
        wire["exit"] = b.add("signal.exit", {}, [(b.expression(s.exit), "when")])
        sz = s.sizing
        if sz.mode != "equal" or sz.per_stock_cap or s.max_holdings:
            params: dict[str, Any] = {
                "per_stock_cap": sz.per_stock_cap,
                "max_holdings": s.max_holdings,
            }
            extra = {
                "fixed_fraction": ("fraction",),
                "fixed_amount": ("amount",),
                "vol_target": ("vol_target", "vol_window"),
            }.get(sz.mode.value, ())
            params.update({k: getattr(sz, k) for k in extra})
            wire["sizing"] = b.add(f"sizing.{sz.mode.value}", params, [])
    elif isinstance(s, ScoresStrategy):
        if not isinstance(s.score, str):
            raise UnsupportedSpec("a model run's predictions as the score have no builder node")
        score = b.expression(s.score)
        params = {
            "top_k": s.top_k,
            "n_drop": s.n_drop,
            "rebalance": s.rebalance.value,
            "hold_thresh": s.hold_thresh,
            "risk_degree": s.risk_degree,
        }
        wire["select"] = b.add("select.top_k", params, [(score, "score")])
    elif isinstance(s, WeightsStrategy) and s.weight is not None:
        weight = b.expression(s.weight)
        params = {"normalize": s.normalize, "rebalance": s.rebalance.value}
        wire["weights"] = b.add("weights.target", params, [(weight, "weight")])
    else:
        raise UnsupportedSpec(
            f"a {s.kind} strategy{' with static weights' if s.kind == 'weights' else ''} "
            "cannot open as a graph (code and fixed weights have no blocks)"
        )
    ex = spec.execution
    risks: list[str] = []
    if ex.stop_loss == "trailing":
        risks.append(b.add("risk.trailing_stop", {"value": ex.stop_loss_value}, []))
    elif ex.stop_loss != "none":
        risks.append(
            b.add(
                "risk.stop_loss",
                {
                    "mode": ex.stop_loss.value,
                    "value": ex.stop_loss_value,
                    "atr_window": ex.atr_window,
                },
                [],
            )
        )
    if ex.take_profit != "none":
        risks.append(
            b.add(
                "risk.take_profit",
                {
                    "mode": ex.take_profit.value,
                    "value": ex.take_profit_value,
                    "atr_window": ex.atr_window,
                },
                [],
            )
        )
    filters = []
    if spec.rules.exclude_st:
        filters.append(b.add("universe.exclude_st", {}, []))
    if spec.rules.exclude_new:
        filters.append(b.add("universe.listing_age", {}, []))
    if spec.rules.min_volume_lots:
        params = {"min_volume_lots": spec.rules.min_volume_lots}
        filters.append(b.add("universe.liquidity", params, []))
    inputs = [(nid, port) for port, nid in wire.items()]
    inputs += [(r, "risk") for r in risks] + [(f, "universe") for f in filters]
    b.add("strategy", {}, inputs)
    _layout(b)
    own_price = preset_values(spec.preset)["execution"]["price"]
    price = None if spec.execution.price.value == own_price else spec.execution.price.value
    settings = RunSettings.model_validate({"preset": spec.preset, "price": price})
    return Graph(
        name=spec.name,
        nodes=b.nodes,
        edges=b.edges,
        parameters=dict(spec.parameters),
        settings=settings,
    )


def _layout(b: _Builder) -> None:
    rows: dict[float, int] = {}
    for node in b.nodes:
        row = rows.get(node.position.x, 0)
        rows[node.position.x] = row + 1
        node.position.y = 110.0 * row


def dropped_fields(spec: RunSpec, graph: Graph) -> list[str]:
    """Top-level spec sections that the graph does not carry (custom costs, rules ...)."""
    back = compile_spec(
        graph,
        spec.dataset_id,
        dataset_version=spec.dataset_version,
        universe=spec.universe,
        start=spec.start,
        end=spec.end,
        initial_capital=spec.initial_capital,
        benchmark=spec.benchmark,
        seed=spec.seed,
        robustness=spec.robustness,
    )
    a, z = canonical_spec(spec), canonical_spec(back)
    out = []
    for key in a:
        if isinstance(a[key], dict) and isinstance(z.get(key), dict):
            out += [f"{key}.{k}" for k in a[key] if a[key][k] != z[key].get(k)]
        elif a[key] != z.get(key):
            out.append(key)
    return out


def node_expression(
    c: Checked, node_id: str, factors: Mapping[str, str] | None = None, port: str = "out"
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The factor-language text of one block's output port, parameters substituted, and
    the indicator fields it reads (a spec's ``indicators``), for previews."""
    from quantlab.engine.spec import resolve_indicator, substitute

    w = _Writer(c, factors)
    values = dict(c.graph.parameters)
    text = substitute(w.text(node_id, port), values)
    return text, {name: resolve_indicator(d, values) for name, d in w.indicators.items()}
