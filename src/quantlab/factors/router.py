"""HTTP routes of the indicator catalog and the factor library (thin: parse, call, wrap)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status

from quantlab.auth.dependencies import AccountUser, CurrentUser, WriteUser
from quantlab.factors import evaluations, indicators, seed, service, validation
from quantlab.factors.schemas import (
    CloneBody,
    ComputeOut,
    ComputeRequest,
    EvaluateRequest,
    EvaluationDetail,
    EvaluationOut,
    EvaluationStarted,
    ExpressionInfo,
    FactorCreate,
    FactorKind,
    FactorOut,
    FactorUpdate,
    FactorValidate,
    FeatureSetDetail,
    FeatureSetOut,
    IndicatorDetail,
    IndicatorOut,
    RecentFactorOut,
)
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Deleted,
    Envelope,
    Page,
    Pagination,
    ok,
    page,
)
from quantlab.platform.ratelimit import client_address

indicators_router = APIRouter(
    prefix="/api/indicators", tags=["indicators"], responses=ERROR_RESPONSES
)
router = APIRouter(prefix="/api/factors", tags=["factors"], responses=ERROR_RESPONSES)

Category = Literal["trend", "oscillator", "volume", "volatility", "financial"]
Source = Literal["native", "talib", "financial"]


# --- indicators -------------------------------------------------------------------------


@indicators_router.get(
    "", summary="Search the indicator catalog", response_model=Page[IndicatorOut]
)
async def list_indicators(
    params: Pagination,
    search: Annotated[str | None, Query(max_length=100, description="name or text")] = None,
    category: Category | None = None,
    source: Source | None = None,
) -> Any:
    items, total = indicators.list_indicators(params, search, category, source)
    return page(items, total, params)


@indicators_router.post(
    "/compute",
    summary="Compute an indicator or expression on a dataset",
    response_model=Envelope[ComputeOut],
)
async def compute(
    body: ComputeRequest, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    data_dir = request.app.state.settings.data_dir
    return ok(await indicators.compute(session, user, body, data_dir))


@indicators_router.get(
    "/{name}",
    summary="One indicator's spec (and availability on a dataset)",
    response_model=Envelope[IndicatorDetail],
    response_model_exclude_unset=True,  # ``availability`` only when a dataset was named
)
async def get_indicator(
    name: str,
    user: CurrentUser,
    session: DbSession,
    dataset_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    return ok(await indicators.describe_indicator(session, user, name, dataset_id))


# --- factor library ---------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a factor (validated)",
    response_model=Envelope[FactorOut],
)
async def create_factor(
    body: FactorCreate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    factor = await service.create_factor(session, user, body, client_address(request))
    return ok(service.factor_view(factor))


@router.get("", summary="List factors you can read", response_model=Page[FactorOut])
async def list_factors(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    q: Annotated[str | None, Query(max_length=120, description="search name/description")] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    kind: FactorKind | None = None,
    scope: Literal["all", "mine", "public"] = "all",
    favourites: bool = False,
) -> Any:
    rows, total = await service.list_factors(
        session, user, params, q=q, tag=tag, kind=kind, scope=scope, favourites=favourites
    )
    liked = await service.favourite_ids(session, user, [f.id for f in rows])
    return page([service.factor_view(f, liked) for f in rows], total, params)


@router.post(
    "/validate",
    summary="Check an expression without saving it",
    response_model=Envelope[ExpressionInfo],
)
async def validate_expression(body: FactorValidate, user: CurrentUser, session: DbSession) -> Any:
    return ok(await validation.describe_expression(session, user, body.expression, body.dataset_id))


@router.get(
    "/recent",
    summary="Factors you used most recently",
    response_model=Envelope[list[RecentFactorOut]],
)
async def recent(
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    pairs = await service.recently_used(session, user, limit)
    liked = await service.favourite_ids(session, user, [f.id for f, _ in pairs])
    items = [
        {**service.factor_view(f, liked), "my_uses": u.count, "my_last_used_at": u.last_used_at}
        for f, u in pairs
    ]
    return ok(items)


@router.get(
    "/feature-sets",
    summary="Named feature sets (Alpha158, Alpha360)",
    response_model=Envelope[list[FeatureSetOut]],
)
async def feature_sets() -> Any:
    return ok(seed.feature_sets())


@router.get(
    "/feature-sets/{name}",
    summary="The features of a named set",
    response_model=Envelope[FeatureSetDetail],
)
async def feature_set(name: str) -> Any:
    items = seed.feature_set(name)
    return ok({"name": name, "features": [{"name": n, "expression": t} for n, t in items]})


@router.post(
    "/evaluate",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Evaluate a factor, expression or feature set (a job)",
    response_model=Envelope[EvaluationStarted],
)
async def evaluate(
    body: EvaluateRequest, user: WriteUser, session: DbSession, request: Request
) -> Any:
    evaluation, job = await evaluations.start_evaluation(
        session, user, body, client_address(request)
    )
    request.app.state.jobs.wake()
    return ok({"id": evaluation.id, "job_id": job.id, "status": job.status})


@router.get("/evaluations", summary="Your factor evaluations", response_model=Page[EvaluationOut])
async def list_evaluations(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    factor_id: Annotated[str | None, Query(max_length=32)] = None,
    status_: Annotated[
        Literal["pending", "running", "completed", "failed", "cancelled"] | None,
        Query(alias="status"),
    ] = None,
) -> Any:
    items, total = await evaluations.list_evaluations(
        session, user, params, factor_id=factor_id, status=status_
    )
    return page(items, total, params)


@router.get(
    "/evaluations/{evaluation_id}",
    summary="An evaluation with progress and results",
    response_model=Envelope[EvaluationDetail],
)
async def get_evaluation(
    evaluation_id: str, user: CurrentUser, session: DbSession, request: Request
) -> Any:
    data_dir = request.app.state.settings.data_dir
    return ok(await evaluations.get_evaluation(session, user, evaluation_id, data_dir))


@router.get("/{factor_id}", summary="Get a factor", response_model=Envelope[FactorOut])
async def get_factor(factor_id: str, user: CurrentUser, session: DbSession) -> Any:
    factor = await service.get_factor(session, user, factor_id)
    liked = await service.favourite_ids(session, user, [factor.id])
    return ok(service.factor_view(factor, liked))


@router.patch(
    "/{factor_id}", summary="Change a factor (re-validated)", response_model=Envelope[FactorOut]
)
async def update_factor(
    factor_id: str, body: FactorUpdate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    factor = await service.update_factor(session, user, factor_id, body, client_address(request))
    return ok(service.factor_view(factor))


@router.delete("/{factor_id}", summary="Delete a factor", response_model=Envelope[Deleted])
async def delete_factor(
    factor_id: str, user: WriteUser, session: DbSession, request: Request
) -> Any:
    await service.delete_factor(session, user, factor_id, client_address(request))
    return ok({"id": factor_id, "deleted": True})


@router.post(
    "/{factor_id}/publish", summary="Make a factor public", response_model=Envelope[FactorOut]
)
async def publish(factor_id: str, user: WriteUser, session: DbSession, request: Request) -> Any:
    factor = await service.publish_factor(session, user, factor_id, client_address(request))
    return ok(service.factor_view(factor))


@router.post(
    "/{factor_id}/clone",
    status_code=status.HTTP_201_CREATED,
    summary="Copy a factor to yours",
    response_model=Envelope[FactorOut],
)
async def clone(
    factor_id: str,
    user: WriteUser,
    session: DbSession,
    request: Request,
    body: CloneBody | None = None,
) -> Any:
    name = body.name if body else None
    factor = await service.clone_factor(session, user, factor_id, name, client_address(request))
    return ok(service.factor_view(factor))


@router.put(
    "/{factor_id}/favourite",
    summary="Mark a factor as favourite",
    response_model=Envelope[FactorOut],
)
async def favourite(factor_id: str, user: AccountUser, session: DbSession, request: Request) -> Any:
    factor = await service.set_favourite(session, user, factor_id, True, client_address(request))
    return ok(service.factor_view(factor, {factor.id}))


@router.delete(
    "/{factor_id}/favourite",
    summary="Remove a factor from favourites",
    response_model=Envelope[FactorOut],
)
async def unfavourite(
    factor_id: str, user: AccountUser, session: DbSession, request: Request
) -> Any:
    factor = await service.set_favourite(session, user, factor_id, False, client_address(request))
    return ok(service.factor_view(factor))
