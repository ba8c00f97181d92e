"""Factor evaluations: validate the request, pin what is evaluated, enqueue
``factors.evaluate`` and read the stored results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service as dataset_service
from quantlab.datasets import universes
from quantlab.engine import expr
from quantlab.factors import seed, validation
from quantlab.factors import service as factor_service
from quantlab.factors.exceptions import (
    EvaluationNotFound,
    InvalidExpression,
    ModelFactorUnavailable,
    NothingToEvaluate,
    PriceFieldMissing,
)
from quantlab.factors.models import FactorEvaluation
from quantlab.factors.references import expand
from quantlab.factors.schemas import EvaluateRequest, EvaluationOut
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.status import TERMINAL
from quantlab.platform.ownership import Principal, get_owned

JOB_TYPE = "factors.evaluate"
PENDING = "pending"  # the status of an evaluation whose job is not (yet) recorded
RESULTS_DIR = "factors/evaluations"
INLINE_RESULT_BYTES = 1 << 20  # larger results go to a file under the data dir


def _usable(text: str, fields: Sequence[str]) -> bool:
    try:
        expr.validate(text, fields)
    except expr.ExprError:
        return False
    return True


async def _features(
    session: AsyncSession, user: Principal, body: EvaluateRequest, fields: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """What to evaluate, pinned: ``features`` [[name, text]] or python ``code``."""
    if body.feature_set is not None:
        items = seed.feature_set(body.feature_set)
        usable = [[n, t] for n, t in items if _usable(t, fields)]
        skipped = [n for n, t in items if not _usable(t, fields)]
        if not usable:
            raise NothingToEvaluate(
                f"no feature of {body.feature_set} can be computed from fields {fields}"
            )
        return {"features": usable}, skipped
    if body.factor_id is not None:
        factor = await factor_service.get_factor(session, user, body.factor_id)
        await factor_service.record_usage(session, user, factor)
        if factor.kind == "python":
            return {"code": factor.code, "name": factor.name}, []
        if factor.kind == "model":
            return await _model_source(session, factor, body.dataset_id), []
        assert factor.expression is not None
        lookup = await validation.owner_lookup(session, factor.owner_id)
        expanded = expand(factor.expression, lookup, self_name=factor.name)
        validation.parse_expanded(expanded, fields)
        return {"features": [[factor.name, expanded.text]]}, []
    assert body.expression is not None
    expanded = expand(body.expression, await validation.owner_lookup(session, user.id))
    validation.parse_expanded(expanded, fields)
    return {"features": [["expression", expanded.text]]}, []


async def _model_source(session: AsyncSession, factor: Any, dataset_id: str) -> dict[str, Any]:
    """A model factor's predictions, pinned: the run's stored folder (422 when the run is
    gone or unfinished, or the evaluation asks for another dataset)."""
    from quantlab.ml.models import ModelRun

    run = await session.get(ModelRun, factor.model_run_id or "")
    if run is None or run.status != "completed" or not run.result_dir:
        raise ModelFactorUnavailable(
            f"factor {factor.name!r} is the predictions of model run {factor.model_run_id}, "
            "which was deleted or has no results"
        )
    if run.dataset_id != dataset_id:
        raise ModelFactorUnavailable(
            f"factor {factor.name!r} holds predictions for dataset {run.dataset_id}: "
            "evaluate it on that dataset",
            details={"dataset_id": run.dataset_id},
        )
    return {"model": {"run_id": run.id, "folder": run.result_dir}, "name": factor.name}


def check_label(text: str, fields: Sequence[str]) -> tuple[int, list[str]]:
    """Validate a label expression; returns the days of future it reads and warnings.

    This is the one place outside the engine's tests that lets an expression read the
    future (``allow_future=True``): a label is what evaluation compares a factor with,
    never an input of a feature or a strategy, which stay under the look-ahead refusal.

    Raises
    ------
    InvalidExpression
        422 for a syntax error, an unknown field or operator, wrong arity or a bad window;
        ``details.field`` is ``"label"``.
    """
    try:
        node = expr.validate(text, fields, allow_future=True)
    except expr.ExprError as err:
        error = InvalidExpression.from_expr(err, text)
        error.details["field"] = "label"
        raise error from None
    ahead = expr.lookahead(node)
    warnings = []
    if ahead == 0:
        warnings.append(
            "the label reads no future day (no Ref(x, -n)): the IC then measures a same-day "
            "relation, not a prediction"
        )
    return ahead, warnings


async def start_evaluation(
    session: AsyncSession, user: Principal, body: EvaluateRequest, client: str | None = None
) -> tuple[FactorEvaluation, Job]:
    """Check the request (404/422 now rather than in the job), record it and enqueue the job.
    The caller wakes the job runner."""
    dataset = await dataset_service.get_dataset(session, user, body.dataset_id)
    version = await dataset_service.get_version(session, dataset, body.version)
    fields = expr.available_fields(version.fields)  # + $vwap from amount / volume
    if "close" not in fields:
        raise PriceFieldMissing(f"dataset {dataset.name!r} has no 'close' field")
    if body.dated_universe is not None:  # 404 UNIVERSE_NOT_FOUND now, not in the job
        await universes.get_universe(session, user, dataset.id, body.dated_universe)
    what, skipped = await _features(session, user, body, fields)
    label_params: dict[str, Any] = {}
    if body.label is not None:
        ahead, warnings = check_label(body.label, fields)
        label_params = {"label": body.label, "label_lookahead": ahead, "warnings": warnings}
    params: dict[str, Any] = {
        **what,
        "symbols": body.symbols,
        "start": body.start.isoformat() if body.start else None,
        "end": body.end.isoformat() if body.end else None,
        "horizons": body.horizons,
        "quantiles": body.quantiles,
        "dated_universe": body.dated_universe,
        "skipped": skipped,
        **label_params,
    }
    evaluation = FactorEvaluation(
        owner_id=user.id,
        factor_id=body.factor_id,
        feature_set=body.feature_set,
        expression=body.expression,
        dataset_id=dataset.id,
        dataset_version=version.version,
        params=params,
    )
    session.add(evaluation)
    await session.flush()
    job = await job_service.enqueue(
        session, job_type=JOB_TYPE, params={"evaluation_id": evaluation.id}, owner_id=user.id
    )
    evaluation.job_id = job.id
    audit.record(
        session,
        "factor.evaluate",
        actor_id=user.id,
        resource_type="factor_evaluation",
        resource_id=evaluation.id,
        details={
            "factor_id": body.factor_id,
            "feature_set": body.feature_set,
            "dataset_id": dataset.id,
            "version": version.version,
            "job_id": job.id,
        },
        client_address=client,
    )
    await session.commit()
    return evaluation, job


async def get_evaluation(
    session: AsyncSession, user: Principal, evaluation_id: str, data_dir: Path
) -> dict[str, Any]:
    """An evaluation of ``user`` with its job's progress and, once done, its result."""
    evaluation = await get_owned(
        session, FactorEvaluation, evaluation_id, user, not_found=EvaluationNotFound
    )
    job = None
    if evaluation.job_id:
        job = await session.get(Job, evaluation.job_id, populate_existing=True)
        if job is not None and job.status in TERMINAL and not _recorded(evaluation):
            await session.refresh(evaluation)  # see job_service.row_statuses
    out = evaluation_view(evaluation, job.status if job is not None else PENDING)
    out["job"] = (
        None
        if job is None
        else {
            "id": job.id,
            "status": job.status,
            "progress": job.progress,
            "stage": job.stage,
            "error": job.error_message,
        }
    )
    if job is not None and job.status in ("failed", "cancelled"):
        # the job may have ended before it could record its outcome (e.g. a lost worker)
        out["error"] = out["error"] or job.error_message
    result = evaluation.result
    if result is None and evaluation.result_ref:
        result = json.loads((data_dir / evaluation.result_ref).read_text(encoding="utf-8"))
    out["result"] = result
    return out


async def list_evaluations(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    factor_id: str | None = None,
    status: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's own evaluations, newest first (results not included)."""
    stmt = select(FactorEvaluation).where(FactorEvaluation.owner_id == user.id)
    if factor_id:
        stmt = stmt.where(FactorEvaluation.factor_id == factor_id)
    if status:
        stmt = stmt.join(Job, Job.id == FactorEvaluation.job_id).where(Job.status == status)
    rows, total = await paginate(
        session, stmt, params, FactorEvaluation.created_at.desc(), FactorEvaluation.id
    )
    found = await job_service.row_statuses(session, rows, _recorded)
    return [evaluation_view(r, s) for r, s in zip(rows, found, strict=True)], total


def _recorded(evaluation: FactorEvaluation) -> bool:
    """The job stored the evaluation's outcome (a summary, or the error it ended with)."""
    return evaluation.summary is not None or evaluation.error is not None


def evaluation_view(evaluation: FactorEvaluation, status: str) -> dict[str, Any]:
    """JSON form of an evaluation row without its result; ``status`` is its job's (the
    row keeps no copy)."""
    data = {k: getattr(evaluation, k) for k in EvaluationOut.model_fields if k != "status"}
    return EvaluationOut.model_validate({**data, "status": status}).model_dump(mode="json")
