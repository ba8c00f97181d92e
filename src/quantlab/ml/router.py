"""HTTP routes of model runs (thin: parse, call one service function, wrap)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.factors import service as factor_service
from quantlab.factors.schemas import FactorOut
from quantlab.ml import service
from quantlab.ml.schemas import (
    BacktestOut,
    CompareRequest,
    CompareRow,
    Importance,
    LearningCurve,
    ModelFactorIn,
    ModelRunDetail,
    ModelRunOut,
    ModelRunRequest,
    ModelRunStarted,
    PredictionsOut,
    SignalOut,
)
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import ERROR_RESPONSES, Envelope, Page, Pagination, ok, page
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/models", tags=["models"], responses=ERROR_RESPONSES)
Status = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a model run",
    response_model=Envelope[ModelRunStarted],
)
async def create(
    body: ModelRunRequest, user: WriteUser, session: DbSession, request: Request
) -> Any:
    """Checked now (segments, label, features, processors, hyper-parameters, rows: 422
    ``INVALID_MODEL_CONFIG``); trains as the ``models.train`` job."""
    row, job = await service.create_run(
        session, user, body, _data_dir(request), client_address(request)
    )
    request.app.state.jobs.wake()
    return ok({"id": row.id, "job_id": job.id, "status": row.status})


@router.get("", summary="Your model runs", response_model=Page[ModelRunOut])
async def list_runs(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    status_: Annotated[Status | None, Query(alias="status")] = None,
) -> Any:
    items, total = await service.list_runs(session, user, params, status_)
    return page(items, total, params)


@router.post("/compare", summary="Runs side by side", response_model=Envelope[list[CompareRow]])
async def compare(body: CompareRequest, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.compare(session, user, body.ids))


@router.get("/{run_id}", summary="One model run", response_model=Envelope[ModelRunDetail])
async def get_run(run_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(await service.view(session, await service.get_run(session, user, run_id), True))


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a run")
async def delete_run(
    run_id: str, user: WriteUser, session: DbSession, request: Request
) -> Response:
    await service.delete_run(session, user, run_id, _data_dir(request), client_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{run_id}/importance",
    summary="Feature importance (gain and split)",
    response_model=Envelope[Importance],
)
async def importance(run_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    return ok(await service.results_part(session, user, run_id, _data_dir(request), "importance"))


@router.get(
    "/{run_id}/learning-curve",
    summary="Train and valid loss per round",
    response_model=Envelope[LearningCurve],
)
async def learning_curve(
    run_id: str, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    return ok(await service.results_part(session, user, run_id, _data_dir(request), "curve"))


@router.get(
    "/{run_id}/signal",
    summary="IC, ICIR, Rank IC, Rank ICIR on the test span",
    response_model=Envelope[SignalOut],
)
async def signal(run_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    return ok(await service.results_part(session, user, run_id, _data_dir(request), "signal"))


@router.get(
    "/{run_id}/backtest",
    summary="Top-k dropout backtest of the predictions",
    response_model=Envelope[BacktestOut],
)
async def backtest(run_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    return ok(await service.results_part(session, user, run_id, _data_dir(request), "backtest"))


@router.get(
    "/{run_id}/predictions",
    summary="Predictions: the date × instrument score panel of the test span",
    response_model=Envelope[PredictionsOut],
)
async def predictions(run_id: str, user: CurrentUser, session: DbSession, request: Request) -> Any:
    return ok(await service.predictions(session, user, run_id, _data_dir(request)))


@router.post(
    "/{run_id}/factor",
    status_code=status.HTTP_201_CREATED,
    summary="Save the predictions as a factor (kind model) the factor lab can evaluate",
    response_model=Envelope[FactorOut],
)
async def as_factor(
    run_id: str, body: ModelFactorIn, user: WriteUser, session: DbSession, request: Request
) -> Any:
    factor = await service.as_factor(
        session, user, run_id, body.name, body.description, client_address(request)
    )
    return ok(factor_service.factor_view(factor))
