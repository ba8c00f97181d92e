"""The job-type registry: each domain registers its job types with a parameter schema and a
function. Registration is import-driven from the composition layer's list of job-type
modules (:data:`COMPOSITION`; the platform names no domain), so API processes and every
worker process (local pool or Celery) know the same types.

Every type is one of two kinds:

- **internal** (the default): jobs are created only by their domain's service, which checks
  the caller's rights on the objects involved (``backtests.run`` for a backtest row, ...).
  ``POST /api/tasks`` and schedules refuse them (422 ``JOB_TYPE_INTERNAL``).
- **user-submittable** (``submittable=True``): anyone with write access may create them
  through the generic API. Every object id among the parameters (every field named
  ``*_id``) must be declared in ``owned`` with its model; the caller's rights on each are
  checked when the job (or schedule) is created and again when the job runs, as the job's
  owner, since ownership may change in between."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.errors import NotFound, QuantlabError, ValidationFailed

if TYPE_CHECKING:
    from quantlab.platform.jobs.context import JobContext

# The module that lists the job-type modules (``JOB_TYPE_MODULES``) and model modules.
COMPOSITION = "quantlab.api.composition"

JobFunction = Callable[["JobContext", Any], Any]
# on_final(session, job, data_dir) runs when a job reaches a final state by any route (its
# function ending, a crash, restart recovery, a cancel); the caller commits.
FinalHook = Callable[[AsyncSession, Any, Path], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class OwnedRef:
    """A parameter holding the id of an owner-scoped object (model with ``owner_id``).

    ``write``: the job changes the object, so the caller must be allowed to write it (a
    public object of someone else answers 403); otherwise reading it is enough.
    ``not_found``: the domain's 404 error, identical to the one for an id that does not exist.
    """

    field: str
    model: Any
    write: bool = True
    not_found: type[QuantlabError] = NotFound


@dataclass(frozen=True, slots=True)
class JobType:
    """A registered job type."""

    name: str
    params: type[BaseModel]
    fn: JobFunction
    checkpointable: bool
    description: str
    finish_on_cancel: bool = False
    submittable: bool = False
    owned: tuple[OwnedRef, ...] = ()
    on_final: FinalHook | None = None


JOB_TYPES: dict[str, JobType] = {}


class UnknownJobType(NotFound):
    code = "JOB_TYPE_NOT_FOUND"
    status = 404
    description = "No job type of that name is registered."


class JobTypeInternal(ValidationFailed):
    code = "JOB_TYPE_INTERNAL"
    status = 422
    description = (
        "Jobs of this type are created by their own domain's endpoint, not by /api/tasks "
        "or schedules."
    )


def register_job_type(
    *,
    name: str,
    params: type[BaseModel],
    fn: JobFunction,
    checkpointable: bool = False,
    description: str = "",
    finish_on_cancel: bool = False,
    submittable: bool = False,
    owned: tuple[OwnedRef, ...] = (),
    on_final: FinalHook | None = None,
) -> JobType:
    """Register ``fn`` as job type ``name`` (stable dotted name such as ``backtests.run``).

    ``fn(ctx, params)`` runs in a worker process with a :class:`JobContext` and the validated
    params model, and returns a JSON-serialisable result. ``checkpointable`` types may be
    paused and are resumed from their checkpoint after a crash or restart. Cancelling a
    paused ``finish_on_cancel`` type requeues it with the cancel already requested, so its
    function resumes from the checkpoint, sees the cancel at its first ``check()`` and can
    keep its partial results, exactly as when a running job is cancelled.

    ``submittable`` types may be created through ``POST /api/tasks`` and schedules; each of
    their ``*_id`` parameters must be listed in ``owned`` (checked at creation and at run
    time). ``on_final(session, job)`` keeps domain state that is not the job's status in
    step with every final state, including failures found by restart recovery.
    """
    declared = {ref.field for ref in owned}
    unknown = declared - set(params.model_fields)
    if unknown:
        raise ValueError(f"job type {name}: owned fields {sorted(unknown)} are not parameters")
    if submittable:
        ids = {f for f in params.model_fields if f.endswith("_id") or f.endswith("_ids")}
        if ids - declared:
            raise ValueError(
                f"job type {name} is submittable but does not say who may use "
                f"{sorted(ids - declared)}: declare them in owned="
            )
    existing = JOB_TYPES.get(name)
    entry = JobType(
        name,
        params,
        fn,
        checkpointable,
        description or (fn.__doc__ or "").strip(),
        finish_on_cancel and checkpointable,
        submittable,
        owned,
        on_final,
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


def submittable_type(name: str) -> JobType:
    """The registered type ``name`` if users may create it directly (404 / 422 otherwise)."""
    entry = get_job_type(name)
    if not entry.submittable:
        raise JobTypeInternal(
            f"jobs of type {name} are created by their own endpoint, not through "
            "/api/tasks or schedules",
            details={"type": name},
        )
    return entry


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
