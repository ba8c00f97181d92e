"""The job-type registry: each domain registers its job types with a parameter schema and a
function. Registration is import-driven from the composition layer's list of job-type
modules (:data:`COMPOSITION`; the platform names no domain), so API processes and every
worker process (local pool or Celery) know the same types."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from quantlab.platform.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from quantlab.platform.jobs.context import JobContext

# The module that lists the job-type modules (``JOB_TYPE_MODULES``) and model modules.
COMPOSITION = "quantlab.api.composition"

JobFunction = Callable[["JobContext", Any], Any]


@dataclass(frozen=True, slots=True)
class JobType:
    """A registered job type."""

    name: str
    params: type[BaseModel]
    fn: JobFunction
    checkpointable: bool
    description: str
    finish_on_cancel: bool = False


JOB_TYPES: dict[str, JobType] = {}


class UnknownJobType(NotFound):
    code = "JOB_TYPE_NOT_FOUND"
    status = 404
    description = "No job type of that name is registered."


def register_job_type(
    *,
    name: str,
    params: type[BaseModel],
    fn: JobFunction,
    checkpointable: bool = False,
    description: str = "",
    finish_on_cancel: bool = False,
) -> JobType:
    """Register ``fn`` as job type ``name`` (stable dotted name such as ``backtests.run``).

    ``fn(ctx, params)`` runs in a worker process with a :class:`JobContext` and the validated
    params model, and returns a JSON-serialisable result. ``checkpointable`` types may be
    paused and are resumed from their checkpoint after a crash or restart. Cancelling a
    paused ``finish_on_cancel`` type requeues it with the cancel already requested, so its
    function resumes from the checkpoint, sees the cancel at its first ``check()`` and can
    keep its partial results, exactly as when a running job is cancelled.
    """
    existing = JOB_TYPES.get(name)
    entry = JobType(
        name,
        params,
        fn,
        checkpointable,
        description or (fn.__doc__ or "").strip(),
        finish_on_cancel and checkpointable,
    )
    if existing is not None and (existing.fn, existing.params) != (fn, params):
        raise ValueError(f"job type {name} registered twice")
    JOB_TYPES[name] = entry
    return entry


def load_job_types() -> dict[str, JobType]:
    """Import every job-type module the composition lists and return the registry."""
    for module in importlib.import_module(COMPOSITION).JOB_TYPE_MODULES:
        importlib.import_module(module)
    return JOB_TYPES


def get_job_type(name: str) -> JobType:
    """The registered type ``name`` (404 ``JOB_TYPE_NOT_FOUND`` otherwise)."""
    load_job_types()
    try:
        return JOB_TYPES[name]
    except KeyError:
        raise UnknownJobType(f"unknown job type {name!r}", details={"type": name}) from None


def validate_params(job_type: JobType, params: dict[str, Any] | None) -> BaseModel:
    """Validate ``params`` against the type's schema (422 with per-field details otherwise)."""
    try:
        return job_type.params.model_validate(params or {})
    except ValidationError as exc:
        fields = [
            {
                "field": ".".join(str(p) for p in e["loc"]),
                "location": "body.params",
                "path": ["body", "params", *[str(p) for p in e["loc"]]],
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        raise ValidationFailed(
            f"invalid params for job type {job_type.name}", details=fields
        ) from None
