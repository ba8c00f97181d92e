"""Study rules and transactions: check a study completely (space, objectives, data, spec)
before any job starts, record it and enqueue ``studies.run``; read its progress and results;
apply the best parameters to the saved strategy as a new version. Every read and write is
owner-scoped (admins see all). A study's status is its job's."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab import __version__
from quantlab.backtests import service as backtest_service
from quantlab.datasets import service as dataset_service
from quantlab.engine.library import TEMPLATES, Constraint, ParamSpec
from quantlab.engine.library.params import ParameterProblem, resolve
from quantlab.engine.library.params import apply as apply_values
from quantlab.engine.optimise import ObjectiveError, SpaceError
from quantlab.engine.optimise.search import to_variant
from quantlab.engine.optimise.space import MAX_GRID
from quantlab.engine.spec import SCHEMA_VERSION, RunSpec, apply_variant
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.ownership import Principal, get_owned, visible
from quantlab.strategies import service as strategy_service
from quantlab.strategies.schemas import StrategyUpdate
from quantlab.studies import analysis
from quantlab.studies.exceptions import InvalidStudy, StudyNotFound, StudyNotReady, StudyRunning
from quantlab.studies.models import Study, StudyChunk, StudyTrial
from quantlab.studies.plan import TPE_METHODS, Plan, build
from quantlab.studies.schemas import RangeIn, StudyCreate
from quantlab.studies.tasks import JOB_TYPE, result_dir

ENGINE_VERSION = f"quantlab {__version__}; spec v{SCHEMA_VERSION}; studies v1"
TERMINAL = ("completed", "failed", "cancelled")
FAN_OUT_CELLS = 2_000_000_000  # trials × days × symbols above which "auto" fans out
RUN_FIELDS = ("dataset_id", "dataset_version", "start", "end", "initial_capital", "universe",
              "benchmark", "preset")  # fmt: skip


# --- creation ---------------------------------------------------------------------------------


def _ranges(parameters: dict[str, RangeIn]) -> dict[str, dict[str, Any]]:
    return {
        name: {k: v for k, v in r.model_dump(exclude={"type", "target"}).items()
               if v is not None and not (k == "log" and v is False)}
        for name, r in parameters.items()
    }  # fmt: skip


def _raw_schema(spec: RunSpec, parameters: dict[str, RangeIn]) -> list[ParamSpec]:
    """A parameter schema for a raw spec, from the searched ranges."""
    if not parameters:
        raise InvalidStudy("a study of a raw spec needs 'parameters': the ranges to search")
    out = []
    for name, r in parameters.items():
        if r.choices:
            lo, hi = min(r.choices), max(r.choices)
        elif r.min is None or r.max is None:
            raise InvalidStudy(f"parameter {name}: give min and max, or choices")
        else:
            lo, hi = r.min, r.max
        if lo > hi:
            raise InvalidStudy(f"parameter {name}: min {lo:g} exceeds max {hi:g}")
        whole = all(float(v).is_integer() for v in (lo, hi, r.step or 1.0, *(r.choices or [])))
        kind = r.type or ("int" if whole else "float")
        if r.target is None and name not in spec.parameters:
            raise InvalidStudy(
                f"parameter {name} is not among the spec's parameters {sorted(spec.parameters)}; "
                "add it there or give a JSON pointer 'target'"
            )
        current = spec.parameters.get(name, lo)
        try:
            out.append(ParamSpec.model_validate({
                "name": name, "type": kind, "default": float(min(max(current, lo), hi)),
                "min": float(lo), "max": float(hi), "step": r.step, "log": r.log,
                "target": r.target, "description": {"zh-CN": name, "en": name},
            }))  # fmt: skip
        except ValidationError as err:
            raise InvalidStudy(f"parameter {name}: {err.errors()[0]['msg']}") from None
    return out


async def _source(
    session: AsyncSession, user: Principal, data: StudyCreate
) -> tuple[dict[str, Any], list[ParamSpec], list[Constraint], dict[str, Any]]:
    """The body, schema and linked constraints the study varies, and where they came from."""
    if data.strategy_id is not None:
        row = await strategy_service.get_strategy(session, user, data.strategy_id)
        source: Any = row
        version = row.version
        if data.strategy_version is not None and data.strategy_version != row.version:
            source = await strategy_service.get_version(session, row, data.strategy_version)
            version = data.strategy_version
        schema, constraints = strategy_service.schema_of(source)
        origin = {"strategy_id": row.id, "strategy_version": version}
        return dict(source.body), schema, constraints, origin
    if data.template is not None:
        template = TEMPLATES.get(data.template)
        if template is None:
            raise InvalidStudy(
                f"unknown template {data.template!r}: use one of {sorted(TEMPLATES)}"
            )
        values = resolve(template.parameters, template.constraints, {})
        body = apply_values(template.body, template.parameters, values)
        origin = {"template_key": template.key}
        return body, list(template.parameters), list(template.constraints), origin
    assert data.spec is not None
    spec = data.spec
    body = spec.model_dump(mode="json")
    return body, _raw_schema(spec, data.parameters), [], {}


def _spec(body: dict[str, Any], data: StudyCreate) -> RunSpec:
    run = {k: getattr(data, k) for k in RUN_FIELDS if getattr(data, k) is not None}
    values = {**body, **{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                         for k, v in run.items()}}  # fmt: skip
    values["robustness"] = None
    try:
        return RunSpec.model_validate(values)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise InvalidStudy(
            f"the run spec is not valid: {first['msg']}",
            details={"path": ".".join(map(str, first["loc"])), "message": first["msg"]},
        ) from None


def _plan(
    spec: RunSpec, schema: list[ParamSpec], constraints: list[Constraint], data: StudyCreate
) -> tuple[Plan, dict[str, Any], int]:
    """The engine plan, the stored space and the number of trials; every problem of the
    space, objectives or method is a 422 here, before any job exists."""
    if data.method == "multi_objective" and len(data.objectives) < 2:
        raise InvalidStudy("a multi-objective study needs at least two objectives")
    if data.method != "grid" and data.n_trials is None:
        raise InvalidStudy(f"a {data.method} study needs n_trials")
    if data.early_stopping is not None and (data.method != "tpe" or len(data.objectives) != 1):
        raise InvalidStudy(
            "early stopping prunes TPE trials on one objective: use method 'tpe' with a "
            "single objective, or leave early_stopping out"
        )
    linked = [*constraints, *data.linked]
    space = {
        "ranges": _ranges(data.parameters) or {p.name: {} for p in schema},
        "linked": [c.model_dump(mode="json") for c in linked],
    }
    if not space["ranges"]:
        raise InvalidStudy("the strategy has no tunable parameters")
    objectives = [o if isinstance(o, str) else o.model_dump(exclude_none=True)
                  for o in data.objectives]  # fmt: skip
    bounds = [b.model_dump() for b in data.constraints]
    schema_json = [p.model_dump(mode="json", by_alias=True) for p in schema]
    try:
        plan = build(
            spec.model_dump(mode="json"), schema_json, space, objectives, bounds, data.method,
            int(data.n_trials or 0), int(data.seed),
        )  # fmt: skip
        if data.method == "grid":
            size = plan.space.grid_size()
            if size > MAX_GRID:
                raise SpaceError(
                    f"the grid has {size:,} combinations (limit {MAX_GRID:,}): narrow the "
                    "ranges, enlarge the steps, or use random or TPE search"
                )
            total = plan.space.count()
            if total == 0:
                raise SpaceError("no grid point satisfies the linked constraints")
        else:
            next(plan.space.sample(1, int(data.seed)))
            total = int(data.n_trials or 0)
        # every trial's spec must be valid (targets name fields of the spec): try one
        first = next(plan.space.grid() if data.method == "grid" else plan.space.sample(1, 0))
        apply_variant(plan.spec, to_variant(first, plan.params))
    except (SpaceError, ObjectiveError, ParameterProblem, KeyError, ValidationError) as err:
        raise InvalidStudy(
            str(err).strip("'\"")[:2000], details={"space": space["ranges"]}
        ) from None
    stored = {**space, "size": total}
    return plan, stored, total


async def create_study(
    session: AsyncSession,
    user: Principal,
    data: StudyCreate,
    data_dir: Path,
    client: str | None = None,
) -> tuple[Study, Job]:
    """Check everything (404 on others' strategies and datasets, 422 on bad spaces), record
    the study and enqueue ``studies.run``. The caller wakes the job runner."""
    body, schema, constraints, origin = await _source(session, user, data)
    spec = _spec(body, data)
    if spec.strategy.kind == "code":
        raise InvalidStudy("studies search expression strategies; code strategies run alone")
    plan, space, total = await asyncio.to_thread(_plan, spec, schema, constraints, data)
    pinned = await backtest_service.check_request(session, user, spec, data_dir)
    dataset = await dataset_service.get_dataset(session, user, pinned.dataset_id)
    version = await dataset_service.get_version(session, dataset, pinned.dataset_version)
    cells = total * max(int(version.rows or 0), 1)
    children = 0
    if data.method not in TPE_METHODS and (
        data.run_as == "jobs" or (data.run_as == "auto" and cells > FAN_OUT_CELLS)
    ):
        children = int(data.workers)
    assert pinned.dataset_version is not None
    row = Study(
        owner_id=user.id,
        name=data.name or f"{data.method} study of {spec.name or spec.strategy.kind}"[:120],
        dataset_id=pinned.dataset_id,
        dataset_version=pinned.dataset_version,
        strategy_id=origin.get("strategy_id"),
        strategy_version=origin.get("strategy_version"),
        template_key=origin.get("template_key"),
        spec=pinned.model_dump(mode="json"),
        param_schema=[p.model_dump(mode="json", by_alias=True) for p in plan.params],
        space=space,
        objectives=[
            o if isinstance(o, str) else o.model_dump(exclude_none=True) for o in data.objectives
        ],
        constraints=[b.model_dump() for b in data.constraints],
        method=data.method,
        n_trials=total,
        seed=data.seed,
        chunk_size=data.chunk_size,
        keep_returns=data.keep_returns and total <= analysis.MAX_RETURNS_TRIALS,
        children=children,
        walk_forward=data.walk_forward.model_dump() if data.walk_forward else None,
        early_stopping=data.early_stopping.model_dump() if data.early_stopping else None,
        engine_version=ENGINE_VERSION,
    )
    session.add(row)
    await session.flush()
    job = await job_service.enqueue(
        session, job_type=JOB_TYPE, params={"study_id": row.id}, owner_id=user.id
    )
    row.job_id = job.id
    audit.record(
        session, "study.create", actor_id=user.id, resource_type="study", resource_id=row.id,
        details={"method": row.method, "trials": total, "job_id": job.id, **origin},
        client_address=client,
    )  # fmt: skip
    await session.commit()
    return row, job


# --- reads ------------------------------------------------------------------------------------


async def get_study(session: AsyncSession, user: Principal, study_id: str) -> Study:
    """One of the caller's studies (404 ``STUDY_NOT_FOUND`` otherwise)."""
    return await get_owned(session, Study, study_id, user, not_found=StudyNotFound)


async def _job(session: AsyncSession, row: Study) -> Job | None:
    if not row.job_id:
        return None
    job = await session.get(Job, row.job_id, populate_existing=True)
    if job is not None and job.status in TERMINAL:
        await session.refresh(row)
    return job


async def view(session: AsyncSession, row: Study, detail: bool = False) -> dict[str, Any]:
    """A study as served; with ``detail``, what reproduces it and its live progress."""
    job = await _job(session, row)
    keys = ["id", "name", "method", "n_trials", "seed", "dataset_id", "dataset_version",
            "strategy_id", "strategy_version", "template_key", "job_id", "summary", "error",
            "created_at", "started_at", "finished_at"]  # fmt: skip
    out = {k: getattr(row, k) for k in keys}
    out["status"] = job.status if job is not None else "pending"
    if detail:
        for k in ("spec", "space", "objectives", "constraints", "chunk_size", "walk_forward",
                  "early_stopping", "engine_version"):  # fmt: skip
            out[k] = getattr(row, k)
        metrics = (job.metrics if job is not None else None) or {}
        out["progress"] = {
            "trials_done": metrics.get("trials_done", 0),
            "trials_total": row.n_trials,
            "best": metrics.get("best"),
            "percentage": job.progress * 100.0 if job is not None else 0.0,
            "eta_seconds": job.eta_seconds if job is not None and job.status == "running" else None,
            "stage": job.stage if job is not None else None,
        }
    return out


async def list_studies(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """A page of the caller's studies, newest first."""
    stmt = visible(select(Study), Study, user)
    rows, total = await paginate(session, stmt, params, Study.created_at.desc(), Study.id)
    return [await view(session, r) for r in rows], total


async def delete_study(
    session: AsyncSession, user: Principal, study_id: str, data_dir: Path, client: str | None
) -> None:
    """Delete a finished study, its trials and files (409 while its job may still run)."""
    row = await get_owned(session, Study, study_id, user, write=True, not_found=StudyNotFound)
    job = await _job(session, row)
    if job is not None and job.status not in TERMINAL:
        raise StudyRunning(f"study {study_id} is {job.status}; cancel it first")
    audit.record(session, "study.delete", actor_id=user.id, resource_type="study",
                 resource_id=row.id, client_address=client)  # fmt: skip
    await session.execute(delete(StudyTrial).where(StudyTrial.study_id == row.id))
    await session.execute(delete(StudyChunk).where(StudyChunk.study_id == row.id))
    await session.delete(row)
    await session.commit()
    shutil.rmtree(result_dir(data_dir, study_id), ignore_errors=True)


def trial_view(t: StudyTrial) -> dict[str, Any]:
    """A trial as served."""
    return {"number": t.number, "params": t.params, "values": t.values,
            "feasible": t.feasible, "metrics": t.metrics, "seconds": t.seconds,
            "state": t.state}  # fmt: skip


SORT_COLUMNS = {"number": StudyTrial.number, "objective": StudyTrial.objective,
                "seconds": StudyTrial.seconds}  # fmt: skip


async def trials(
    session: AsyncSession, user: Principal, study_id: str, params: PageParams,
    sort: str = "number", order: str = "asc", feasible: bool | None = None,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """A page of trials sorted by ``number``, ``objective`` (the first, best first when
    descending), ``seconds`` or any scalar metric name; missing values sort last."""
    row = await get_study(session, user, study_id)
    if sort in SORT_COLUMNS:
        column: Any = SORT_COLUMNS[sort]
    else:
        from quantlab.engine.optimise.objectives import metric_name

        try:
            column = StudyTrial.metrics[metric_name(sort)].as_float()
        except ObjectiveError as err:
            raise InvalidStudy(str(err)) from None
    key = (column.desc() if order == "desc" else column.asc()).nulls_last()
    stmt = select(StudyTrial).where(StudyTrial.study_id == row.id)
    if feasible is not None:
        stmt = stmt.where(StudyTrial.feasible.is_(feasible))
    rows, total = await paginate(session, stmt, params, key, StudyTrial.number)
    return [trial_view(t) for t in rows], total


async def top(session: AsyncSession, user: Principal, study_id: str, n: int = 10) -> list[Any]:
    """The ``n`` best feasible trials by the first objective."""
    row = await get_study(session, user, study_id)
    stmt = (
        select(StudyTrial)
        .where(StudyTrial.study_id == row.id, StudyTrial.feasible.is_(True),
               StudyTrial.objective.is_not(None))
        .order_by(StudyTrial.objective.desc(), StudyTrial.number)
        .limit(n)
    )  # fmt: skip
    return [trial_view(t) for t in await session.scalars(stmt)]


async def pareto(session: AsyncSession, user: Principal, study_id: str) -> list[dict[str, Any]]:
    """The Pareto front of the feasible trials over every objective, by number."""
    row = await get_study(session, user, study_id)
    numbers = await analysis.pareto_numbers(session, row)
    out: list[dict[str, Any]] = []
    for k in range(0, len(numbers), 500):
        stmt = select(StudyTrial).where(
            StudyTrial.study_id == row.id, StudyTrial.number.in_(numbers[k : k + 500])
        )
        out.extend(trial_view(t) for t in await session.scalars(stmt.order_by(StudyTrial.number)))
    return out


def _param_names(row: Study) -> list[str]:
    return list(row.space["ranges"])


def _objective(row: Study, objective: int) -> None:
    if not 0 <= objective < len(row.objectives):
        raise InvalidStudy(f"objective must be 0 to {len(row.objectives) - 1}")


async def _pairs(
    session: AsyncSession, user: Principal, study_id: str, objective: int, names: list[str]
) -> tuple[Study, list[tuple[dict[str, Any], float]]]:
    row = await get_study(session, user, study_id)
    _objective(row, objective)
    unknown = [n for n in names if n not in _param_names(row)]
    if unknown:
        raise InvalidStudy(f"unknown parameters {unknown}: use some of {_param_names(row)}")
    pairs = await analysis.params_values(session, row, objective)
    if not pairs:
        raise StudyNotReady(f"study {study_id} has no trials yet")
    return row, pairs


class _T:
    __slots__ = ("params", "values")

    def __init__(self, params: dict[str, Any], value: float) -> None:
        self.params, self.values = params, [value]


def _maximize(row: Study, objective: int) -> bool:
    return analysis.goal_of(row).objectives[objective].maximize


async def heatmap(
    session: AsyncSession, user: Principal, study_id: str, x: str, y: str, objective: int
) -> dict[str, Any]:
    """2-D heat-map data of an objective over parameters ``x`` and ``y`` (best over the
    other parameters; NaN cells: no feasible trial)."""
    from quantlab.engine.optimise import heatmap as engine_heatmap

    if x == y:
        raise InvalidStudy("choose two different parameters")
    row, pairs = await _pairs(session, user, study_id, objective, [x, y])
    found = engine_heatmap([_T(p, v) for p, v in pairs], x, y, maximize=_maximize(row, objective))  # type: ignore[misc]
    return {"x_param": x, "y_param": y, "objective": objective, **found}


async def sensitivity(
    session: AsyncSession, user: Principal, study_id: str, name: str, objective: int
) -> dict[str, Any]:
    """1-D sensitivity of an objective to one parameter (best and mean per value)."""
    from quantlab.engine.optimise import sensitivity as engine_sensitivity

    row, pairs = await _pairs(session, user, study_id, objective, [name])
    found = engine_sensitivity([_T(p, v) for p, v in pairs], name,  # type: ignore[misc]
                               maximize=_maximize(row, objective))  # fmt: skip
    return {"param": name, "objective": objective, **found}


async def importance(
    session: AsyncSession, user: Principal, study_id: str, objective: int
) -> dict[str, Any]:
    """Parameter importance (Optuna's fANOVA, seeded)."""
    row, pairs = await _pairs(session, user, study_id, objective, [])
    found = await asyncio.to_thread(analysis.importance, row, pairs, objective)
    return {"method": "fanova", "objective": objective, "importances": found}


async def report(session: AsyncSession, user: Principal, study_id: str) -> dict[str, Any]:
    """The overfitting report: PBO with its logit histogram and degradation, the deflated
    Sharpe ratio of the best trial, and the diagnostics registry's findings."""
    row = await get_study(session, user, study_id)
    best = (row.summary or {}).get("best")
    if best is None:
        raise StudyNotReady(f"study {study_id} has no finished result with a feasible trial")
    found = await analysis.overfitting(session, row, int(best["number"]))
    if found is None:
        raise StudyNotReady(
            f"study {study_id} kept no daily returns (more than "
            f"{analysis.MAX_RETURNS_TRIALS:,} trials, or keep_returns was false)"
        )
    return found


async def walk_forward(
    session: AsyncSession, user: Principal, study_id: str, data_dir: Path
) -> dict[str, Any]:
    """The walk-forward optimisation result (stitched out-of-sample equity, metrics,
    parameter stability)."""
    row = await get_study(session, user, study_id)
    path = result_dir(data_dir, row.id) / "walk_forward.json"
    if not row.walk_forward or not path.exists():
        raise StudyNotReady(f"study {study_id} has no walk-forward result (none asked, or "
                            "not finished)")  # fmt: skip
    loaded: dict[str, Any] = json.loads(await asyncio.to_thread(path.read_text))
    return loaded


async def _chosen_trial(row: Study, session: AsyncSession, trial: int | None) -> StudyTrial:
    """Trial ``trial`` of the study, or its best feasible one (409 when there is none)."""
    if trial is None:
        best = (row.summary or {}).get("best")
        if best is None:
            raise StudyNotReady(f"study {row.id} has no best feasible trial yet")
        trial = int(best["number"])
    found = await session.get(StudyTrial, (row.id, trial))
    if found is None:
        raise StudyNotReady(f"study {row.id} has no trial {trial}")
    return found


async def _trial_backtest(
    session: AsyncSession, user: Principal, row: Study, trial: StudyTrial, data_dir: Path,
    client: str | None, *, strategy: tuple[str, int] | None, name: str | None = None,
) -> tuple[Any, Job]:  # fmt: skip
    """Start a backtest of the study's run spec with a trial's parameters, through the
    backtests domain, recording the study and trial it came from."""
    from quantlab.studies.plan import plan_of

    variant = to_variant(trial.params, plan_of(row).params)
    spec = apply_variant(RunSpec.from_stored(row.spec), variant)
    spec = spec.model_copy(update={"name": (name or f"{row.name} · trial {trial.number}")[:120]})
    return await backtest_service.create_backtest(
        session, user, spec, data_dir, client, strategy=strategy, study=(row.id, trial.number)
    )


async def run_trial(
    session: AsyncSession, user: Principal, study_id: str, trial: int | None,
    name: str | None, data_dir: Path, client: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Backtest a trial (default the best) of a study: a full run with every result and
    diagnostic, linked to the study so its overfitting findings appear on the run."""
    row = await get_study(session, user, study_id)
    found = await _chosen_trial(row, session, trial)
    strategy = None
    if row.strategy_id is not None and row.strategy_version is not None:
        strategy = (row.strategy_id, int(row.strategy_version))
    backtest, job = await _trial_backtest(session, user, row, found, data_dir, client,
                                          strategy=strategy, name=name)  # fmt: skip
    return {"backtest_id": backtest.id, "job_id": job.id, "status": job.status,
            "study_id": row.id, "trial": found.number, "parameters": found.params}  # fmt: skip


async def apply_best(
    session: AsyncSession, user: Principal, study_id: str, trial: int | None, message: str,
    client: str | None, *, run: bool = False, data_dir: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Save the best (or a chosen) trial's parameters as a new version of the study's
    saved strategy, through the strategies service; with ``run``, also start a backtest of
    that version, linked to the study."""
    row = await get_study(session, user, study_id)
    if row.strategy_id is None:
        raise InvalidStudy("only a study of a saved strategy can apply its parameters")
    found = await _chosen_trial(row, session, trial)
    text = message or f"parameters of trial {found.number} of study {row.name}"
    update = StrategyUpdate(parameters={k: float(v) for k, v in found.params.items()},
                            message=text[:500])  # fmt: skip
    strategy = await strategy_service.update_strategy(
        session, user, row.strategy_id, update, client
    )
    out: dict[str, Any] = {"strategy_id": strategy.id, "version": strategy.version,
                           "trial": found.number, "parameters": found.params}  # fmt: skip
    if run:
        assert data_dir is not None
        backtest, job = await _trial_backtest(
            session, user, row, found, data_dir, client,
            strategy=(strategy.id, int(strategy.version)),
            name=f"{strategy.name} v{strategy.version}",
        )  # fmt: skip
        out.update(backtest_id=backtest.id, job_id=job.id)
    return out
