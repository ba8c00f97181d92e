"""The visual strategy builder's pure part: graph model, node catalog, validation and the
compilers (graph -> run spec, run spec -> graph, graph -> Python, graph -> Qlib YAML) and
plain-language descriptions. No web, database or user imports.

Public API::

    Graph, graph_schema()                         # the versioned graph model
    catalog(), catalog_rows()                     # the node types
    validate(graph, factors=None, fields=None) -> [Issue]
    compile_graph(graph, factors=None) -> CompiledGraph; compile_spec(graph, dataset_id, ...)
    graph_from_spec(spec) -> Graph; canonical_spec(spec)
    graph_python(graph, factors=None) -> PythonStrategy
    graph_qlib_yaml(graph, ...) -> QlibYaml
    describe_graph(graph, factors=None) -> {"zh-CN": ..., "en": ...}
"""

from quantlab.engine.builder.catalog import catalog, catalog_rows
from quantlab.engine.builder.compile import (
    CompiledGraph,
    UnsupportedSpec,
    canonical,
    canonical_spec,
    compile_graph,
    compile_spec,
    dropped_fields,
    graph_from_spec,
)
from quantlab.engine.builder.describe import describe_graph
from quantlab.engine.builder.graph import GRAPH_VERSION, Graph, graph_schema
from quantlab.engine.builder.python import PythonStrategy, UnsupportedPython, graph_python
from quantlab.engine.builder.qlib import QlibYaml, graph_qlib_yaml
from quantlab.engine.builder.validate import GraphError, Issue, validate

__all__ = [
    "GRAPH_VERSION",
    "CompiledGraph",
    "Graph",
    "GraphError",
    "Issue",
    "PythonStrategy",
    "QlibYaml",
    "UnsupportedPython",
    "UnsupportedSpec",
    "canonical",
    "canonical_spec",
    "catalog",
    "catalog_rows",
    "compile_graph",
    "compile_spec",
    "describe_graph",
    "dropped_fields",
    "graph_from_spec",
    "graph_python",
    "graph_qlib_yaml",
    "graph_schema",
    "validate",
]
