"""Checks of a strategy before it is saved or run: parameter values against the schema and
linked constraints, the run-spec structure, and the library's structural checks, each
problem with its field path and a fix."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from quantlab.engine import library
from quantlab.engine.library import Constraint, ParameterProblem, ParamSpec
from quantlab.engine.spec import RunSpec
from quantlab.strategies.exceptions import InvalidParameters, InvalidStrategy

#: Fields of a run spec that belong to a run, not to a strategy: ignored in a body.
RUN_FIELDS = ("dataset_id", "dataset_version", "start", "end", "initial_capital", "name")
_PLACEHOLDER_DATASET = "-"


def strip_run_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the per-run fields (dataset, dates, capital, run name)."""
    return {k: v for k, v in body.items() if k not in RUN_FIELDS}


def current_values(body: dict[str, Any], schema: list[ParamSpec]) -> dict[str, Any]:
    """The parameter values a body holds, read from ``parameters`` and the targets."""
    out: dict[str, Any] = {}
    exprs = body.get("parameters") or {}
    for p in schema:
        if p.target is None:
            if p.name in exprs:
                out[p.name] = exprs[p.name]
            continue
        node: Any = body
        for part in p.target[1:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out[p.name] = node
    return out


def _spec(body: dict[str, Any]) -> RunSpec:
    try:
        return RunSpec.model_validate({**body, "dataset_id": _PLACEHOLDER_DATASET})
    except ValidationError as err:
        problems = [
            {
                "path": ".".join(str(p) for p in e["loc"]) or "body",
                "message": e["msg"],
                "suggestion": "see GET /api/backtests/schema for the allowed values",
            }
            for e in err.errors(include_url=False, include_context=False)
        ][:50]
        raise InvalidStrategy(
            f"the strategy is not a valid run spec: {problems[0]['message']}",
            details={"problems": problems},
        ) from None


def resolve_body(
    body: dict[str, Any],
    schema: list[ParamSpec],
    constraints: list[Constraint],
    overrides: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], RunSpec]:
    """The body with checked parameter values written in, and its spec; every problem of
    the parameters and of the spec's structure is a 422 with paths and fixes."""
    try:
        library.check_schema(schema, constraints)
        values = library.resolve(
            schema, constraints, {**current_values(body, schema), **(overrides or {})}
        )
    except ParameterProblem as err:
        raise InvalidParameters(str(err), details={"problems": err.problems}) from None
    resolved = library.apply(strip_run_fields(body), schema, values) if schema else dict(body)
    spec = _spec(resolved)
    problems = library.check(spec)
    if problems:
        raise InvalidStrategy(problems[0]["message"], details={"problems": problems})
    return resolved, spec


def validate(
    body: dict[str, Any], schema: list[ParamSpec], constraints: list[Constraint]
) -> dict[str, Any]:
    """A validation report (``valid``, ``problems``, plain-language description)."""
    try:
        _, spec = resolve_body(strip_run_fields(body), schema, constraints)
    except (InvalidStrategy, InvalidParameters) as err:
        return {"valid": False, "problems": (err.details or {}).get("problems", [])}
    return {"valid": True, "problems": [], "description": library.describe(spec)}
