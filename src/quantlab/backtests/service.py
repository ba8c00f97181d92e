"""Backtest rules and transactions: validate and enqueue runs, describe, list, delete and
reproduce them (stored results are read in :mod:`quantlab.backtests.views`). Every read and
write is owner-scoped (admins see all). A run's status is its job's."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab import __version__
from quantlab.backtests import results, robustness
from quantlab.backtests.exceptions import (
    BacktestNotFound,
    BacktestRunning,
    DatesOutsideData,
    InvalidBacktestConfig,
    InvalidStrategyCode,
    InvalidStrategyExpression,
    MissingPriceFields,
    UnknownBacktestSymbols,
)
from quantlab.backtests.model_scores import check_model_scores
from quantlab.backtests.models import Backtest
from quantlab.backtests.schemas import BacktestOut, BacktestRequest
from quantlab.backtests.tasks import JOB_TYPE
from quantlab.datasets import service as dataset_service
from quantlab.datasets import universes
from quantlab.datasets.exceptions import UniverseNotFound
from quantlab.engine.backtest import compile as spec_compile
from quantlab.engine.backtest.enums import PriceMode
from quantlab.engine.spec import SCHEMA_VERSION, model_runs, model_score_field
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.ownership import Principal, get_owned

ENGINE_VERSION = f"quantlab {__version__}; spec v{SCHEMA_VERSION}"
TERMINAL = ("completed", "failed", "cancelled")


def validate_spec(req: BacktestRequest, fields: list[str]) -> None:
    """The engine's checks of a spec, as API errors (422 with the field and position)."""
    try:
        spec_compile.validate_spec(req, fields)
    except spec_compile.SpecExpressionError as err:
        text = str(err.details.get("expression", ""))
        raise InvalidStrategyExpression.from_expr(err.error, err.details["field"], text) from None
    except spec_compile.SpecCodeError as err:
        raise InvalidStrategyCode(err.message, details=err.details) from None
    except spec_compile.SpecError as err:
        raise InvalidBacktestConfig(err.message, details=err.details or None) from None


def _parse_day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


async def _check_request(
    session: AsyncSession, user: Principal, req: BacktestRequest, data_dir: Path
) -> BacktestRequest:
    """Every check that needs no simulation; returns the request with the version pinned."""
    dataset = await dataset_service.get_dataset(session, user, req.dataset_id)
    version = await dataset_service.get_version(session, dataset, req.dataset_version)
    fields = list(version.fields)
    needed = ["close"] + (["open"] if req.execution.price == PriceMode.NEXT_OPEN else [])
    missing = [f for f in dict.fromkeys(needed) if f not in fields]
    if missing:
        raise MissingPriceFields(
            f"the dataset version has no {', '.join(missing)} field", details={"missing": missing}
        )
    first, last = _parse_day(version.start), _parse_day(version.end)
    problems = []
    if req.start and req.end and req.start > req.end:
        problems.append("start is after end")
    for name, value in (("start", req.start), ("end", req.end)):
        if value is not None and first and last and not first <= value <= last:
            problems.append(f"{name} {value} is outside the data ({first} to {last})")
    if problems:
        raise DatesOutsideData(
            "; ".join(problems),
            details={"data_start": str(first), "data_end": str(last), "problems": problems},
        )
    known = set(
        await asyncio.to_thread(dataset_service.load_panel_symbols, data_dir / version.path)
    )
    wanted = [] if req.universe == "all" else list(req.universe)
    wanted += [req.benchmark] if req.benchmark else []
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise UnknownBacktestSymbols(
            f"{len(unknown)} symbol(s) not in the dataset version: {', '.join(unknown[:10])}",
            details={"unknown": unknown[:100]},
        )
    if req.dated_universe is not None:
        try:
            await universes.get_universe(session, user, dataset.id, req.dated_universe)
        except UniverseNotFound as exc:
            raise InvalidBacktestConfig(
                exc.message, details={"dated_universe": req.dated_universe}
            ) from None
    for run_id in model_runs(req):
        await check_model_scores(session, user, run_id, dataset.id)
        fields.append(model_score_field(run_id))
    validate_spec(req, fields)
    return req.model_copy(update={"dataset_version": version.version})


async def check_request(
    session: AsyncSession, user: Principal, req: BacktestRequest, data_dir: Path
) -> BacktestRequest:
    """Every check of a run that needs no simulation (dataset access, fields, dates,
    symbols, the spec itself), for other domains that run specs; the version pinned."""
    return await _check_request(session, user, req, data_dir)


async def create_backtest(
    session: AsyncSession,
    user: Principal,
    req: BacktestRequest,
    data_dir: Path,
    client: str | None = None,
    *,
    rerun_of: str | None = None,
    strategy: tuple[str, int] | None = None,
    study: tuple[str, int] | None = None,
) -> tuple[Backtest, Job]:
    """Validate (404/422 now rather than in the job), record the run and enqueue
    ``backtests.run``. The caller wakes the job runner. ``strategy``: the saved strategy and
    version run; ``study``: the optimisation study and trial the run came from (its
    overfitting findings join the run's diagnostics)."""
    pinned = await _check_request(session, user, req, data_dir)
    assert pinned.dataset_version is not None
    row = Backtest(
        owner_id=user.id,
        name=await _run_name(session, user, pinned, rerun_of),
        dataset_id=pinned.dataset_id,
        dataset_version=pinned.dataset_version,
        strategy_kind=pinned.strategy.kind,
        request=pinned.model_dump(mode="json"),
        engine_version=ENGINE_VERSION,
        seed=pinned.seed,
        rerun_of=rerun_of,
        incomplete=False,
        strategy_id=strategy[0] if strategy else None,
        strategy_version=strategy[1] if strategy else None,
        study_id=study[0] if study else None,
        study_trial=study[1] if study else None,
    )
    session.add(row)
    await session.flush()
    job = await job_service.enqueue(
        session, job_type=JOB_TYPE, params={"backtest_id": row.id}, owner_id=user.id
    )
    row.job_id = job.id
    audit.record(
        session,
        "backtest.rerun" if rerun_of else "backtest.create",
        actor_id=user.id,
        resource_type="backtest",
        resource_id=row.id,
        details={
            "dataset_id": row.dataset_id,
            "version": row.dataset_version,
            "strategy": row.strategy_kind,
            "job_id": job.id,
            "rerun_of": rerun_of,
            **({"study_id": study[0], "study_trial": study[1]} if study else {}),
        },
        client_address=client,
    )
    await session.commit()
    return row, job


async def get_backtest(session: AsyncSession, user: Principal, backtest_id: str) -> Backtest:
    """One of the caller's backtests (404 ``BACKTEST_NOT_FOUND`` otherwise)."""
    return await get_owned(session, Backtest, backtest_id, user, not_found=BacktestNotFound)


def _status(row: Backtest, job: Job | None) -> str:
    """The run's status: its job's (the one record of it)."""
    return job.status if job is not None else "pending"


def backtest_view(row: Backtest, job: Job | None) -> dict[str, Any]:
    """A backtest as listed (no request, no results)."""
    data = {c: getattr(row, c) for c in BacktestOut.model_fields if c != "status"}
    return BacktestOut.model_validate({**data, "status": _status(row, job)}).model_dump(mode="json")


async def _job(session: AsyncSession, row: Backtest) -> Job | None:
    """The row's job, then the row read again: the job ends only after the run committed
    its results to the row, so a finished job is never shown with a row read before that
    commit (each statement may see a newer snapshot than the one before)."""
    if not row.job_id:
        return None
    job = await session.get(Job, row.job_id, populate_existing=True)
    if job is not None and job.status in TERMINAL:
        await session.refresh(row)
    return job


async def describe(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path | None = None
) -> dict[str, Any]:
    """Config, status, progress, reproducibility facts and (with ``data_dir``, once stored)
    every metric of one backtest."""
    row = await get_backtest(session, user, backtest_id)
    job = await _job(session, row)
    out = backtest_view(row, job)
    out["request"] = row.request
    out["reproducibility"] = {
        "dataset_id": row.dataset_id,
        "dataset_version": row.dataset_version,
        "engine_version": row.engine_version,
        "seed": row.seed,
        "schema_version": row.request.get("schema_version"),
    }
    out["job"] = None
    if job is not None:
        out["job"] = {
            "id": job.id,
            "status": job.status,
            "progress": job.progress,
            "stage": job.stage,
            "current": job.current,
            "eta_seconds": job.eta_seconds,
            "running_metrics": job.metrics,
            "error": job.error_message,
        }
    out["metrics"] = None
    if data_dir is not None and row.result_dir:
        path = data_dir / row.result_dir
        out["metrics"] = await asyncio.to_thread(results.read_json, path, "metrics")
    out["parent_id"], out["variant"] = row.parent_id, row.variant
    out["robustness"] = await _robustness_view(session, row, data_dir)
    return out


async def _robustness_view(
    session: AsyncSession, row: Backtest, data_dir: Path | None
) -> dict[str, Any] | None:
    """The requested checks and each variant's status; ``complete`` once findings are in.
    Variants run in the parent's job are read from its ``robustness.json``."""
    if not row.request.get("robustness"):
        return None
    children = await robustness.children_of(session, row.id)
    if children:
        statuses = await robustness.job_statuses(session, children)
        items = [
            {"id": c.id, "job_id": c.job_id, "status": statuses.get(c.id, "pending"),
             "variant": c.variant}
            for c in children
        ]  # fmt: skip
        complete = all(s in TERMINAL for s in statuses.values())
        return {"requested": row.request["robustness"], "complete": complete, "children": items}
    stored = None
    if data_dir is not None and row.result_dir:
        path = data_dir / row.result_dir / "robustness.json"
        stored = await asyncio.to_thread(_read_optional_json, path)
    items = [
        {"status": d.get("status", "completed"), "variant": d} for d in (stored or {}).get(
            "children", [])
    ]  # fmt: skip
    return {"requested": row.request["robustness"], "complete": stored is not None,
            "children": items}  # fmt: skip


def _read_optional_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


async def list_backtests(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    status: str | None = None,
    dataset_id: str | None = None,
    strategy_kind: str | None = None,
    q: str | None = None,
    strategy_id: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's own backtests, newest first (robustness children are listed
    under their parent instead)."""
    stmt = select(Backtest).where(Backtest.owner_id == user.id, Backtest.parent_id.is_(None))
    if status:
        stmt = stmt.join(Job, Job.id == Backtest.job_id).where(Job.status == status)
    if dataset_id:
        stmt = stmt.where(Backtest.dataset_id == dataset_id)
    if strategy_kind:
        stmt = stmt.where(Backtest.strategy_kind == strategy_kind)
    if strategy_id:
        stmt = stmt.where(Backtest.strategy_id == strategy_id)
    if q:
        stmt = stmt.where(Backtest.name.contains(q, autoescape=True))
    rows, total = await paginate(session, stmt, params, Backtest.created_at.desc(), Backtest.id)
    job_ids = [r.job_id for r in rows if r.job_id]
    jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    for r in rows:  # read after the jobs: see _job
        job = jobs.get(r.job_id or "")
        if job is not None and job.status in TERMINAL and r.finished_at is None:
            await session.refresh(r)
    return [backtest_view(r, jobs.get(r.job_id or "")) for r in rows], total


async def delete_backtest(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path, client: str | None
) -> None:
    """Delete a finished backtest and its files (409 while its job may still run)."""
    row = await get_backtest(session, user, backtest_id)
    current = _status(row, await _job(session, row))
    if current not in TERMINAL:
        raise BacktestRunning(f"backtest {backtest_id} is still {current}; cancel it first")
    children = await robustness.children_of(session, row.id)
    statuses = await robustness.job_statuses(session, children)
    busy = [c.id for c in children if statuses.get(c.id, "pending") not in TERMINAL]
    if busy:
        raise BacktestRunning(
            f"{len(busy)} robustness run(s) of backtest {backtest_id} are still going",
            details={"children": busy},
        )
    audit.record(
        session,
        "backtest.delete",
        actor_id=user.id,
        resource_type="backtest",
        resource_id=row.id,
        details={"name": row.name, "job_id": row.job_id},
        client_address=client,
    )
    for child in children:
        await session.delete(child)
    await session.delete(row)
    await session.commit()
    for gone in (*(c.id for c in children), backtest_id):
        await asyncio.to_thread(results.remove, data_dir, gone)


async def rerun(
    session: AsyncSession, user: Principal, backtest_id: str, data_dir: Path, client: str | None
) -> tuple[Backtest, Job]:
    """A new run of the stored request (same dataset version, spec, config and seed)."""
    row = await get_backtest(session, user, backtest_id)
    req = BacktestRequest.from_stored(row.request)
    return await create_backtest(session, user, req, data_dir, client, rerun_of=row.id)


async def _run_name(
    session: AsyncSession, user: Principal, spec: BacktestRequest, rerun_of: str | None
) -> str:
    """The run's name; a rerun is ``<name> (rerun N)``, N counting the reruns of that run."""
    base = spec.name or f"{spec.strategy.kind} backtest"
    if rerun_of is None:
        return base[:120]
    earlier = await session.scalars(select(Backtest.id).where(Backtest.rerun_of == rerun_of))
    original = await session.get(Backtest, rerun_of)
    base = original.name if original is not None else base
    suffix = f" (rerun {len(list(earlier)) + 1})"
    return base[: 120 - len(suffix)] + suffix
