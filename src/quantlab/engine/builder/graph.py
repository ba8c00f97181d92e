"""The builder graph: a versioned pydantic model, served as JSON Schema.

A graph is nodes (id, type, parameters, position) and edges (source node/port -> target
node/port). Node types and their typed ports live in :mod:`.catalog`; a graph is only
structurally checked here (sizes, id syntax, parameter value shapes) so that hostile input
is refused before any work: :func:`quantlab.engine.builder.validate.validate` does the rest.

A parameter value is a number, a string, a boolean, or a reference to one of the graph's
named ``parameters`` (``{"ref": "fast"}``, optionally ``"negate": true``), which compiles
to the run spec's ``{fast}`` placeholder so the optimiser and templates can vary it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantlab.engine.spec import PARAMETER_NAME, PresetName

GRAPH_VERSION = 1
GRAPH_SCHEMA_ID = f"https://quantlab.dev/schemas/builder-graph/v{GRAPH_VERSION}.json"
MAX_NODES = 500
MAX_EDGES = 2_000
NODE_ID = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
PORT_NAME = r"^[a-z][a-z0-9_]{0,31}$"
TYPE_NAME = r"^[A-Za-z][A-Za-z0-9_.]{0,63}$"


class _Strict(BaseModel):
    # strict: a boolean is not a number and a number is not text (no silent coercion)
    model_config = ConfigDict(extra="forbid", strict=True)


class ParamRef(_Strict):
    """A reference to a named graph parameter (``{name}`` in the compiled spec)."""

    ref: str = Field(pattern=PARAMETER_NAME.pattern)
    negate: bool = False


ParamValue = bool | int | float | Annotated[str, Field(max_length=4_000)] | ParamRef


class Position(_Strict):
    """Where the node sits on the canvas (UI only)."""

    x: float = Field(0.0, ge=-1e6, le=1e6)
    y: float = Field(0.0, ge=-1e6, le=1e6)


class Node(_Strict):
    """One block: its ``type`` names a catalog entry."""

    id: str = Field(pattern=NODE_ID)
    type: str = Field(pattern=TYPE_NAME)
    params: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")], ParamValue] = (
        Field(default_factory=dict, max_length=32)
    )
    position: Position = Field(default_factory=Position)
    label: str = Field("", max_length=120, description="free text shown on the canvas")


class Edge(_Strict):
    """A connection from an output port to an input port."""

    id: str = Field(pattern=NODE_ID)
    source: str = Field(pattern=NODE_ID)
    source_port: str = Field("out", pattern=PORT_NAME)
    target: str = Field(pattern=NODE_ID)
    target_port: str = Field(pattern=PORT_NAME)


class RunSettings(_Strict):
    """The run configuration a compiled spec gets (the data is chosen when running)."""

    preset: PresetName = "cn_a_share"
    price: Literal["next_open", "close", "next_vwap"] | None = Field(
        None, description="fill price; default: the preset's"
    )


class Graph(_Strict):
    """A strategy as a node graph (one ``strategy`` node is the output)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"$id": GRAPH_SCHEMA_ID, "x-schema-version": GRAPH_VERSION},
    )

    schema_version: Literal[1] = Field(1, description="version of this schema")
    name: str = Field("", max_length=120)
    nodes: list[Node] = Field(max_length=MAX_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES)
    parameters: dict[
        Annotated[str, Field(pattern=PARAMETER_NAME.pattern)],
        Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)],
    ] = Field(default_factory=dict, max_length=50, description="named numbers nodes refer to")
    settings: RunSettings = Field(default_factory=RunSettings)


def graph_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Graph` (what ``/api/builder/schema`` serves)."""
    schema = Graph.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["x-limits"] = {"nodes": MAX_NODES, "edges": MAX_EDGES}
    return schema
