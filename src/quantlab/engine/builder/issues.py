"""What validation reports (:class:`Issue`), the error a failed compilation raises and the
look-ups of a checked graph shared by validation and the compilers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from quantlab.engine.builder.catalog import NodeType
from quantlab.engine.builder.graph import Graph, Node, ParamRef


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
