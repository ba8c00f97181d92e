"""Model-run rules and transactions: validate and enqueue runs, read stored outputs, compare.
Every read and write is owner-scoped (admins see all)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab import __version__
from quantlab.datasets import service as dataset_service
from quantlab.datasets.exceptions import UniverseNotFound
from quantlab.engine.expr import ExprError
from quantlab.engine.ml import check_config
from quantlab.factors import service as factor_service
from quantlab.factors.models import Factor
from quantlab.ml.exceptions import (
    InvalidModelConfig,
    ModelRunInUse,
    ModelRunNotFound,
    ModelRunNotReady,
    ModelRunRunning,
)
from quantlab.ml.models import ModelRun
from quantlab.ml.schemas import ModelRunRequest
from quantlab.ml.tasks import (
    JOB_TYPE,
    load_panel,
    read_predictions,
    result_dir,
    workflow_config,
)
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.ownership import Principal, get_owned, visible

ENGINE_VERSION = f"quantlab {__version__}; ml v1"
TERMINAL = ("completed", "failed", "cancelled")


async def _check(
    session: AsyncSession, user: Principal, req: ModelRunRequest, data_dir: Path
) -> ModelRunRequest:
    """Every check short of training (422 ``INVALID_MODEL_CONFIG``); pins the version."""
    dataset = await dataset_service.get_dataset(session, user, req.dataset_id)
    version = await dataset_service.get_version(session, dataset, req.dataset_version)
    pinned = req.model_copy(update={"dataset_version": version.version})
    try:
        panel = await load_panel(session, user, pinned, data_dir)
    except UniverseNotFound as exc:
        details = {"dated_universe": req.dated_universe}
        raise InvalidModelConfig(exc.message, details=details) from None
    try:
        await asyncio.to_thread(check_config, workflow_config(pinned), panel)
    except ExprError as err:
        raise InvalidModelConfig(
            f"invalid expression: {err.message}",
            details={"kind": err.kind, "position": err.position},
        ) from None
    except (ValueError, KeyError) as err:
        raise InvalidModelConfig(str(err).strip("'\"")) from None
    if req.backtest is not None:
        if "close" not in panel.fields:
            raise InvalidModelConfig("the backtest needs a close field")
        bench = req.backtest.benchmark
        if bench and bench not in set(panel.instruments.tolist()):
            raise InvalidModelConfig(f"benchmark {bench} is not in the dataset version")
    return pinned


def _default_name(req: ModelRunRequest) -> str:
    features = req.features if isinstance(req.features, str) else "expressions"
    return f"{req.model} on {features}"


async def create_run(
    session: AsyncSession,
    user: Principal,
    req: ModelRunRequest,
    data_dir: Path,
    client: str | None = None,
) -> tuple[ModelRun, Job]:
    """Validate (404/422 now rather than in the job), record the run and enqueue
    ``models.train``. The caller wakes the job runner."""
    pinned = await _check(session, user, req, data_dir)
    assert pinned.dataset_version is not None
    row = ModelRun(
        owner_id=user.id,
        name=pinned.name or _default_name(pinned),
        status="pending",
        dataset_id=pinned.dataset_id,
        dataset_version=pinned.dataset_version,
        model=pinned.model,
        request=pinned.model_dump(mode="json"),
        engine_version=ENGINE_VERSION,
        seed=pinned.seed,
    )
    session.add(row)
    await session.flush()
    job = await job_service.enqueue(
        session, job_type=JOB_TYPE, params={"run_id": row.id}, owner_id=user.id
    )
    row.job_id = job.id
    audit.record(
        session,
        "model_run.create",
        actor_id=user.id,
        resource_type="model_run",
        resource_id=row.id,
        details={"dataset_id": row.dataset_id, "version": row.dataset_version, "model": row.model,
                 "job_id": job.id},
        client_address=client,
    )  # fmt: skip
    await session.commit()
    return row, job


async def get_run(session: AsyncSession, user: Principal, run_id: str) -> ModelRun:
    """One of the caller's runs (404 ``MODEL_RUN_NOT_FOUND`` otherwise)."""
    return await get_owned(session, ModelRun, run_id, user, not_found=ModelRunNotFound)


async def _status(session: AsyncSession, row: ModelRun) -> str:
    """The row's status once final; before that the job's (cancelled while queued)."""
    if row.status in TERMINAL or not row.job_id:
        return row.status
    job = await session.get(Job, row.job_id)
    return row.status if job is None or job.status == "completed" else job.status


async def view(session: AsyncSession, row: ModelRun, detail: bool = False) -> dict[str, Any]:
    """A run as served (with the request and engine version when ``detail``)."""
    keys = ["id", "name", "dataset_id", "dataset_version", "model", "seed", "job_id",
            "summary", "error", "created_at", "started_at", "finished_at"]  # fmt: skip
    out = {k: getattr(row, k) for k in keys}
    out["status"] = await _status(session, row)
    if detail:
        out["request"] = row.request
        out["engine_version"] = row.engine_version
    return out


async def list_runs(
    session: AsyncSession, user: Principal, params: PageParams, status: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's runs, newest first."""
    stmt = visible(select(ModelRun), ModelRun, user)
    if status:
        stmt = stmt.where(ModelRun.status == status)
    rows, total = await paginate(session, stmt, params, ModelRun.created_at.desc(), ModelRun.id)
    return [await view(session, r) for r in rows], total


async def delete_run(
    session: AsyncSession, user: Principal, run_id: str, data_dir: Path, client: str | None
) -> None:
    """Delete a finished run and its files (409 while its job may still run)."""
    row = await get_owned(session, ModelRun, run_id, user, write=True, not_found=ModelRunNotFound)
    if await _status(session, row) not in TERMINAL:
        raise ModelRunRunning(f"model run {run_id} is still {row.status}; cancel it first")
    users = list(await session.scalars(select(Factor.name).where(Factor.model_run_id == row.id)))
    if users:
        raise ModelRunInUse(
            f"factors {', '.join(sorted(users))} hold this run's predictions; delete them first",
            details={"factors": sorted(users)},
        )
    audit.record(
        session,
        "model_run.delete",
        actor_id=user.id,
        resource_type="model_run",
        resource_id=row.id,
        client_address=client,
    )
    await session.delete(row)
    await session.commit()
    shutil.rmtree(result_dir(data_dir, run_id), ignore_errors=True)


async def _results(
    session: AsyncSession, user: Principal, run_id: str, data_dir: Path, read: bool = True
) -> tuple[ModelRun, dict[str, Any]]:
    row = await get_run(session, user, run_id)
    if row.status != "completed" or not row.result_dir:
        raise ModelRunNotReady(f"model run {run_id} has no results (status {row.status})")
    if not read:
        return row, {}
    text = await asyncio.to_thread((data_dir / row.result_dir / "results.json").read_text)
    return row, json.loads(text)


async def results_part(
    session: AsyncSession, user: Principal, run_id: str, data_dir: Path, part: str
) -> dict[str, Any]:
    """Importance, learning curve, signal analysis or backtest of a completed run."""
    _, res = await _results(session, user, run_id, data_dir)
    if part == "importance":
        return {"features": res["features"], "windows": res["importance"]}
    if part == "curve":
        return {"windows": res["curves"], "best_rounds": res["best_rounds"]}
    if part == "backtest":
        if res["backtest"] is None:
            raise ModelRunNotReady(f"model run {run_id} was not back-tested (no backtest asked)")
        return dict(res["backtest"])
    return dict(res["signal"])


def _read_predictions(folder: Path) -> dict[str, Any]:
    dates, instruments, values = read_predictions(folder)
    return {
        "dates": [str(d) for d in dates],
        "instruments": instruments.tolist(),
        "values": [[None if np.isnan(v) else float(v) for v in row] for row in values],
    }


async def predictions(
    session: AsyncSession, user: Principal, run_id: str, data_dir: Path
) -> dict[str, Any]:
    """The date × instrument score panel of the test span."""
    row, _ = await _results(session, user, run_id, data_dir)
    assert row.result_dir is not None
    return await asyncio.to_thread(_read_predictions, data_dir / row.result_dir)


async def compare(session: AsyncSession, user: Principal, ids: list[str]) -> list[dict[str, Any]]:
    """Headline figures of several runs side by side (404 if any is not the caller's)."""
    out = []
    for run_id in dict.fromkeys(ids):
        row = await get_run(session, user, run_id)
        s = row.summary or {}
        out.append(
            {
                "id": row.id,
                "name": row.name,
                "model": row.model,
                "status": await _status(session, row),
                "signal": s.get("signal"),
                "backtest": s.get("backtest"),
                "best_rounds": s.get("best_rounds"),
            }
        )
    return out


async def as_factor(
    session: AsyncSession,
    user: Principal,
    run_id: str,
    name: str,
    description: str,
    client: str | None = None,
) -> Factor:
    """Save a completed run's predictions as a factor of the caller's library (kind
    ``model``): the factor lab evaluates it on the run's dataset like any other factor."""
    row, _ = await _results(session, user, run_id, Path("."), read=False)
    text = description or f"predictions of model run {row.name!r} ({row.model})"
    return await factor_service.create_model_factor(
        session, user, name=name, description=text, model_run_id=row.id, client=client
    )
