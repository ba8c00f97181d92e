"""Errors of the builder (each code is in the catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class DraftNotFound(NotFound):
    code = "BUILDER_DRAFT_NOT_FOUND"
    description = "The draft does not exist, is not yours, or expired after 24 h unsaved."


class SnapshotNotFound(NotFound):
    code = "BUILDER_SNAPSHOT_NOT_FOUND"
    description = "The draft has no such snapshot."


class DraftStale(Conflict):
    code = "BUILDER_DRAFT_STALE"
    description = (
        "The draft changed since the version you edited (details.current_version); reload it "
        "and apply your change again."
    )


class InvalidGraph(ValidationFailed):
    code = "BUILDER_INVALID_GRAPH"
    description = (
        "The graph cannot compile: details.issues lists each problem with its node or edge "
        "id, a message and a suggested fix."
    )


class GraphUnsupported(ValidationFailed):
    code = "BUILDER_UNSUPPORTED"
    description = (
        "The graph or spec is valid but has no form in the requested target (Python helpers, "
        "blocks for a code strategy); details say which blocks or kind."
    )


class PreviewFailed(ValidationFailed):
    code = "BUILDER_PREVIEW_FAILED"
    description = "The node cannot be evaluated on this sample (details say why)."
