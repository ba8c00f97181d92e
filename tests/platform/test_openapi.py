"""The OpenAPI document describes every response: clients are generated from it.

A web UI (TypeScript) and a Python client are generated from ``/openapi.json``, so every JSON
route must declare a typed ``response_model`` (the envelope with a typed ``data``), every
download its real media type, and every error the error envelope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings

# Routes whose untyped body is allowed, each with the reason. Remove entries, never add
# without a reason a client developer would accept.
UNTYPED_ALLOWED: dict[str, str] = {
    # The result of a job is the job type's own JSON (any type may be queued); each domain
    # serves a typed view of its jobs' results (e.g. GET /api/factors/evaluations/{id}).
    "GET /api/tasks/{job_id}/result": "per job type",
    # a JSON Schema document (of the run spec), itself the description of a shape
    "GET /api/backtests/schema": "a JSON Schema document",
    "GET /api/builder/schema": "a JSON Schema document (of the builder graph)",
    # a download; its json format is the whole result as a file, not the envelope
    "GET /api/backtests/{backtest_id}/export/{fmt}": "a download",
}
# Path prefixes whose untyped bodies are allowed (none: every domain is typed).
UNTYPED_PREFIXES_ALLOWED: tuple[str, ...] = ()

# Routes that cannot fail with a client error (no input, no authentication).
NO_CLIENT_ERRORS = {
    "GET /api/health",
    "GET /api/meta/error-codes",
    "GET /api/ready",
    "GET /api/security/health",
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from quantlab.api.app import create_app

    data_dir: Path = tmp_path_factory.mktemp("openapi")
    app = create_app(make_settings(data_dir, f"sqlite+aiosqlite:///{data_dir / 'q.db'}"))
    return app.openapi()


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options"}:
                out.append((f"{method.upper()} {path}", op))
    return out


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _untyped(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> str | None:
    """Why ``schema`` says nothing about the shape (``None`` when it is typed)."""
    schema = _resolve(doc, schema)
    if depth > 3:
        return None
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for branch in branches:
            if _resolve(doc, branch).get("type") != "null":
                reason = _untyped(doc, branch, depth + 1)
                if reason:
                    return reason
        return None
    kind = schema.get("type")
    if kind is None and not schema.get("allOf") and "const" not in schema:
        return "no type at all (Any)"
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        if not schema.get("properties"):
            if extra is True or extra == {}:
                return "an object of anything (dict[str, Any])"
            return _untyped(doc, extra, depth + 1)
    if kind == "array":
        return _untyped(doc, schema.get("items", {}), depth + 1)
    return None


def test_every_json_success_response_has_a_typed_data_member(document: dict[str, Any]) -> None:
    problems = []
    for key, op in _operations(document):
        if key in UNTYPED_ALLOWED or key.split(" ", 1)[1].startswith(UNTYPED_PREFIXES_ALLOWED):
            continue
        successes = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        if not successes:
            problems.append(f"{key}: no success response")
        for code, response in successes.items():
            content = response.get("content", {})
            if code == "204":
                if content:
                    problems.append(f"{key} 204: declares a body")
                continue
            if not content:
                problems.append(f"{key} {code}: no media type (a download must name its own)")
                continue
            if "application/json" not in content:
                continue  # a download (zip, CSV, PNG, text) in its real media type
            schema = _resolve(document, content["application/json"].get("schema", {}))
            data = schema.get("properties", {}).get("data")
            if data is None:
                problems.append(f"{key} {code}: not the envelope (no 'data' member)")
                continue
            reason = _untyped(document, data)
            if reason:
                problems.append(f"{key} {code}: 'data' is {reason}")
    assert not problems, "\n".join(problems)


def test_every_route_has_a_summary_and_documents_its_errors(document: dict[str, Any]) -> None:
    problems = []
    for key, op in _operations(document):
        if not op.get("summary"):
            problems.append(f"{key}: no summary")
        errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
        if key not in NO_CLIENT_ERRORS and not any(c.startswith("4") for c in errors):
            problems.append(f"{key}: no documented client errors")
        for code, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").rsplit("/", 1)[-1] != "ErrorEnvelope":
                problems.append(f"{key} {code}: not the error envelope")
    assert not problems, "\n".join(problems)


def test_lists_carry_their_pagination_meta(document: dict[str, Any]) -> None:
    """A route taking ``page``/``size`` answers with ``Page[T]``: ``meta`` is required."""
    problems = []
    for key, op in _operations(document):
        if key.split(" ", 1)[1].startswith(UNTYPED_PREFIXES_ALLOWED):
            continue
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if not {"page", "size"} <= names:
            continue
        content = op["responses"]["200"].get("content", {}).get("application/json", {})
        schema = _resolve(document, content.get("schema", {}))
        if "meta" not in schema.get("required", []):
            problems.append(f"{key}: paginated but 'meta' is not required")
    assert not problems, "\n".join(problems)


def test_downloads_name_their_real_media_types(document: dict[str, Any]) -> None:
    def media(key: str) -> set[str]:
        method, path = key.split(" ", 1)
        return set(document["paths"][path][method.lower()]["responses"]["200"]["content"])

    assert media("GET /api/datasets/{dataset_id}/export") == {
        "application/zip",
        "application/vnd.apache.parquet",
    }
    assert media("GET /api/charts/ohlcv.png") == {"image/png"}
    assert media("GET /api/charts/ohlcv") == {"application/json", "text/csv"}
    assert media("GET /api/tasks/{job_id}/logs/download") == {"text/plain"}
