"""HTTP routes of optimisation studies (thin: parse, call one service function, wrap).
Pause, resume and cancel go through the job API (``/api/tasks/{job_id}/...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import ERROR_RESPONSES, Envelope, Page, Pagination, ok, page
from quantlab.platform.ratelimit import client_address
from quantlab.studies import service
from quantlab.studies.schemas import (
    ApplyBestIn,
    ApplyBestOut,
    Heatmap,
    Importance,
    OverfitReport,
    Sensitivity,
    StudyCreate,
    StudyDetail,
    StudyOut,
    StudyStarted,
    TrialBacktestIn,
    TrialBacktestOut,
    TrialOut,
    WalkForwardOut,
)

router = APIRouter(prefix="/api/studies", tags=["studies"], responses=ERROR_RESPONSES)
Objective = Annotated[int, Query(ge=0, le=3, description="index of the objective")]
ParamName = Annotated[str, Query(min_length=1, max_length=40)]


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start an optimisation study",
    response_model=Envelope[StudyStarted],
)
async def create(body: StudyCreate, user: WriteUser, session: DbSession, request: Request) -> Any:
    """Checked now (space size and ranges, objectives, data, spec: 422 ``INVALID_STUDY``;
    another user's strategy or dataset: 404); runs as the ``studies.run`` job."""
    row, job = await service.create_study(
        session, user, body, _data_dir(request), client_address(request)
    )
    request.app.state.jobs.wake()
    return ok({"id": row.id, "job_id": job.id, "status": job.status, "n_trials": row.n_trials})


@router.get("", summary="Your studies", response_model=Page[StudyOut])
async def list_studies(user: CurrentUser, session: DbSession, params: Pagination) -> Any:
    items, total = await service.list_studies(session, user, params)
    return page(items, total, params)


@router.get(
    "/{study_id}", summary="One study with its progress", response_model=Envelope[StudyDetail]
)
async def get_study(study_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.view(session, await service.get_study(session, user, study_id), True))


@router.delete("/{study_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a study")
async def delete_study(
    study_id: str, user: WriteUser, session: DbSession, request: Request
) -> Response:
    await service.delete_study(session, user, study_id, _data_dir(request), client_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{study_id}/trials", summary="Trials, sortable by any metric", response_model=Page[TrialOut]
)
async def trials(
    study_id: str,
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    sort: Annotated[
        str, Query(max_length=60, description="number, objective, seconds or a metric")
    ] = "number",
    order: Literal["asc", "desc"] = "asc",
    feasible: bool | None = None,
) -> Any:
    items, total = await service.trials(session, user, study_id, params, sort, order, feasible)
    return page(items, total, params)


@router.get(
    "/{study_id}/top",
    summary="The 10 best feasible trials",
    response_model=Envelope[list[TrialOut]],
)
async def top(study_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.top(session, user, study_id))


@router.get(
    "/{study_id}/pareto", summary="The Pareto front", response_model=Envelope[list[TrialOut]]
)
async def pareto(study_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.pareto(session, user, study_id))


@router.get(
    "/{study_id}/heatmap",
    summary="2-D heat map of a parameter pair",
    response_model=Envelope[Heatmap],
)
async def heatmap(
    study_id: str, user: CurrentUser, session: DbSession, x: ParamName, y: ParamName,
    objective: Objective = 0,
) -> Any:  # fmt: skip
    return ok(await service.heatmap(session, user, study_id, x, y, objective))


@router.get(
    "/{study_id}/sensitivity",
    summary="1-D sensitivity to a parameter",
    response_model=Envelope[Sensitivity],
)
async def sensitivity(
    study_id: str, user: CurrentUser, session: DbSession, param: ParamName,
    objective: Objective = 0,
) -> Any:  # fmt: skip
    return ok(await service.sensitivity(session, user, study_id, param, objective))


@router.get(
    "/{study_id}/importance",
    summary="Parameter importance (fANOVA)",
    response_model=Envelope[Importance],
)
async def importance(
    study_id: str, user: CurrentUser, session: DbSession, objective: Objective = 0
) -> Any:
    return ok(await service.importance(session, user, study_id, objective))


@router.get(
    "/{study_id}/report",
    summary="PBO and deflated Sharpe report",
    response_model=Envelope[OverfitReport],
)
async def report(study_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.report(session, user, study_id))


@router.get(
    "/{study_id}/walk-forward",
    summary="Walk-forward optimisation result",
    response_model=Envelope[WalkForwardOut],
)
async def walk_forward(
    study_id: str, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    return ok(await service.walk_forward(session, user, study_id, _data_dir(request)))


@router.post(
    "/{study_id}/apply-best",
    summary="Save the best parameters as a new strategy version",
    response_model=Envelope[ApplyBestOut],
)
async def apply_best(
    study_id: str, body: ApplyBestIn, user: WriteUser, session: DbSession, request: Request
) -> Any:
    """With ``run``, also starts a backtest of the new version that records the study (its
    overfitting findings appear in that backtest's diagnostics)."""
    out = await service.apply_best(
        session, user, study_id, body.trial, body.message, client_address(request),
        run=body.run, data_dir=_data_dir(request),
    )  # fmt: skip
    if body.run:
        request.app.state.jobs.wake()
    return ok(out)


@router.post(
    "/{study_id}/backtest",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Backtest a trial (default the best) of the study",
    response_model=Envelope[TrialBacktestOut],
)
async def run_trial(
    study_id: str, body: TrialBacktestIn, user: WriteUser, session: DbSession, request: Request
) -> Any:
    """A full backtest of the study's run with the trial's parameters; the run records the
    study and trial, and the study's overfitting findings (PBO, deflated Sharpe ratio)
    appear in its diagnostics."""
    out = await service.run_trial(
        session, user, study_id, body.trial, body.name, _data_dir(request),
        client_address(request),
    )  # fmt: skip
    request.app.state.jobs.wake()
    return ok(out)
