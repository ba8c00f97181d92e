"""HTTP routes of the strategy library (thin: parse, call one service function, wrap).

``/api/strategy-templates``: the gallery (system templates and published strategies) with
computed examples. ``/api/strategies``: saved strategies, versions, runs, ratings and
favourites (ratings and favourites also take template ids).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status

from quantlab.auth.dependencies import (
    AccountUser,
    AdminWriteUser,
    AppCache,
    CurrentUser,
    WriteUser,
)
from quantlab.backtests.schemas import BacktestOut
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
from quantlab.strategies import cache as gallery_cache
from quantlab.strategies import gallery, service, social, validation, views
from quantlab.strategies import runs as strategy_runs
from quantlab.strategies.schemas import (
    Category,
    CopyBody,
    ExampleOut,
    ExampleRequest,
    FavouriteOut,
    FromTemplate,
    Market,
    RatingBody,
    RatingOut,
    RatingSummary,
    RestoreBody,
    RunBody,
    RunStarted,
    StrategyCreate,
    StrategyDetail,
    StrategyOut,
    StrategyUpdate,
    ValidationReport,
    VersionDetail,
    VersionDiff,
    VersionOut,
)

templates_router = APIRouter(
    prefix="/api/strategy-templates", tags=["strategy templates"], responses=ERROR_RESPONSES
)
router = APIRouter(prefix="/api/strategies", tags=["strategies"], responses=ERROR_RESPONSES)

Sort = Literal["name", "popular", "newest"]
Q = Annotated[str | None, Query(max_length=120, description="text in name or description")]
Tag = Annotated[str | None, Query(max_length=40)]
Version = Annotated[int, "version number"]


def _data_dir(request: Request) -> Any:
    return request.app.state.settings.data_dir


async def _detail(session: Any, user: Any, row: Any) -> dict[str, Any]:
    examples = await gallery.examples_of(session, user, row) if row.is_template else []
    return await views.strategy_detail(session, user, row, examples)


# --- gallery --------------------------------------------------------------------------------


@templates_router.get("", summary="The template gallery", response_model=Page[StrategyOut])
async def list_templates(
    user: CurrentUser,
    session: DbSession,
    cache: AppCache,
    params: Pagination,
    q: Q = None,
    category: Category | None = None,
    tag: Tag = None,
    market: Market | None = None,
    sort: Sort = "name",
) -> dict[str, Any]:
    async def load() -> Any:
        return await service.list_strategies(
            session,
            user,
            params,
            templates=True,
            q=q,
            category=category,
            tag=tag,
            market=market,
            sort=sort,
        )

    query: dict[str, Any] = {"q": q, "category": category, "tag": tag, "market": market}
    query.update(sort=sort, page=params.page, size=params.size)
    items, total = await gallery_cache.read(cache, user, query, load)
    return page(items, total, params)


@templates_router.get(
    "/popular", summary="The five most used templates", response_model=Envelope[list[StrategyOut]]
)
async def popular(user: CurrentUser, session: DbSession, cache: AppCache) -> dict[str, Any]:
    return ok(
        await gallery_cache.read(
            cache, user, {"popular": True}, lambda: service.popular(session, user)
        )
    )


@templates_router.get(
    "/{template_id}",
    summary="A template: parameters, plain-language description and computed examples",
    response_model=Envelope[StrategyDetail],
)
async def get_template(template_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    row = await service.get_strategy(session, user, template_id)
    return ok(await _detail(session, user, row))


@templates_router.post(
    "/{template_id}/use",
    status_code=status.HTTP_201_CREATED,
    summary="Save a strategy from a template (parameter overrides checked)",
    response_model=Envelope[StrategyDetail],
)
async def use_template(
    template_id: str,
    body: FromTemplate,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.from_template(session, user, template_id, body, client_address(request))
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


@templates_router.post(
    "/{template_id}/examples",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Compute the template's example on a dataset (as a job; reused when current)",
    response_model=Envelope[list[ExampleOut]],
)
async def compute_example(
    template_id: str,
    body: ExampleRequest,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    await gallery.refresh_examples(session, user, body.dataset_id, template_id)
    request.app.state.jobs.wake()
    row = await service.get_strategy(session, user, template_id)
    out = ok(await gallery.examples_of(session, user, row))
    await gallery_cache.changed(cache)
    return out


@templates_router.post(
    "/examples/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Compute every template's example on a dataset (jobs; current ones are reused)",
    response_model=Envelope[dict[str, int]],
)
async def refresh_examples(
    body: ExampleRequest,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    templates, queued = await gallery.refresh_examples(session, user, body.dataset_id)
    request.app.state.jobs.wake()
    out = ok({"templates": templates, "queued": queued})
    await gallery_cache.changed(cache)
    return out


@templates_router.post(
    "/{template_id}/hide",
    summary="Hide a template from the gallery (admins)",
    response_model=Envelope[StrategyOut],
)
async def hide(
    template_id: str,
    user: AdminWriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.set_hidden(session, user, template_id, True, client_address(request))
    out = ok((await views.strategy_views(session, user, [row]))[0])
    await gallery_cache.changed(cache)
    return out


@templates_router.post(
    "/{template_id}/show",
    summary="Show a hidden template again (admins)",
    response_model=Envelope[StrategyOut],
)
async def show(
    template_id: str,
    user: AdminWriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.set_hidden(session, user, template_id, False, client_address(request))
    out = ok((await views.strategy_views(session, user, [row]))[0])
    await gallery_cache.changed(cache)
    return out


# --- saved strategies -------------------------------------------------------------------------


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Save a strategy from a run-spec body (checked structurally)",
    response_model=Envelope[StrategyDetail],
)
async def create(
    body: StrategyCreate,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.create_strategy(session, user, body, client_address(request))
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


@router.post(
    "/validate",
    summary="Check a strategy without saving it: problems with paths and fixes",
    response_model=Envelope[ValidationReport],
)
async def validate(body: StrategyCreate, user: CurrentUser) -> dict[str, Any]:
    return ok(validation.validate(body.body, body.param_schema, body.constraints))


@router.get("", summary="Strategies you can read", response_model=Page[StrategyOut])
async def list_strategies(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    q: Q = None,
    category: Category | None = None,
    tag: Tag = None,
    mine: bool = False,
    sort: Sort = "newest",
) -> dict[str, Any]:
    items, total = await service.list_strategies(
        session,
        user,
        params,
        templates=False,
        q=q,
        category=category,
        tag=tag,
        mine=mine,
        sort=sort,
    )
    return page(items, total, params)


@router.get("/{strategy_id}", summary="A strategy", response_model=Envelope[StrategyDetail])
async def get_strategy(strategy_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    row = await service.get_strategy(session, user, strategy_id)
    return ok(await _detail(session, user, row))


@router.patch(
    "/{strategy_id}",
    summary="Rename, describe, tag; a changed spec saves a new version",
    response_model=Envelope[StrategyDetail],
)
async def update(
    strategy_id: str,
    body: StrategyUpdate,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.update_strategy(session, user, strategy_id, body, client_address(request))
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


@router.delete(
    "/{strategy_id}", summary="Delete a strategy (soft)", response_model=Envelope[Deleted]
)
async def delete(
    strategy_id: str,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    await service.delete_strategy(session, user, strategy_id, client_address(request))
    out = ok({"id": strategy_id, "deleted": True})
    await gallery_cache.changed(cache)
    return out


@router.post(
    "/{strategy_id}/copy",
    status_code=status.HTTP_201_CREATED,
    summary="A private copy of a strategy or template",
    response_model=Envelope[StrategyDetail],
)
async def copy(
    strategy_id: str,
    body: CopyBody,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.copy_strategy(
        session, user, strategy_id, body.name, client_address(request)
    )
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


@router.post(
    "/{strategy_id}/publish",
    summary="Publish as a public template (read-only to others)",
    response_model=Envelope[StrategyDetail],
)
async def publish(
    strategy_id: str,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.publish(session, user, strategy_id, True, client_address(request))
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


@router.post(
    "/{strategy_id}/unpublish",
    summary="Withdraw a published strategy",
    response_model=Envelope[StrategyDetail],
)
async def unpublish(
    strategy_id: str,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.publish(session, user, strategy_id, False, client_address(request))
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


# --- versions -----------------------------------------------------------------------------------


def _version_out(v: Any, current: int, full: bool = False) -> dict[str, Any]:
    out = {
        "version": v.version,
        "message": v.message,
        "author_id": v.author_id,
        "created_at": v.created_at,
        "current": v.version == current,
    }
    if full:
        out.update(body=v.body, param_schema=v.param_schema, constraints=v.constraints)
    return out


@router.get(
    "/{strategy_id}/versions",
    summary="Kept versions, newest first",
    response_model=Envelope[list[VersionOut]],
)
async def versions(strategy_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    row = await service.get_strategy(session, user, strategy_id)
    return ok([_version_out(v, row.version) for v in await service.list_versions(session, row)])


@router.get(
    "/{strategy_id}/versions/{version}",
    summary="One version with its spec",
    response_model=Envelope[VersionDetail],
)
async def version(
    strategy_id: str, version: Version, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    row = await service.get_strategy(session, user, strategy_id)
    return ok(_version_out(await service.get_version(session, row, version), row.version, True))


@router.get(
    "/{strategy_id}/diff",
    summary="What changed between two versions (parameters, expressions, settings)",
    response_model=Envelope[VersionDiff],
)
async def diff(
    strategy_id: str,
    user: CurrentUser,
    session: DbSession,
    from_: Annotated[int, Query(alias="from", ge=1)],
    to: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    return ok(await service.diff(session, user, strategy_id, from_, to))


@router.post(
    "/{strategy_id}/versions/{version}/restore",
    summary="Make an earlier version current (as a new version)",
    response_model=Envelope[StrategyDetail],
)
async def restore(
    strategy_id: str,
    version: Version,
    body: RestoreBody,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    row = await service.restore(
        session, user, strategy_id, version, body.message, client_address(request)
    )
    out = ok(await _detail(session, user, row))
    await gallery_cache.changed(cache)
    return out


# --- runs ---------------------------------------------------------------------------------------


@router.post(
    "/{strategy_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Backtest the strategy (or one of its versions) on a dataset",
    response_model=Envelope[RunStarted],
)
async def start_run(
    strategy_id: str,
    body: RunBody,
    user: WriteUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    backtest, job, row, version = await strategy_runs.run_strategy(
        session, user, strategy_id, body, _data_dir(request), client_address(request)
    )
    request.app.state.jobs.wake()
    out = ok(
        {
            "id": backtest.id,
            "job_id": job.id,
            "status": job.status,
            "name": backtest.name,
            "strategy_id": row.id,
            "strategy_version": version,
        }
    )
    await gallery_cache.changed(cache)
    return out


@router.get(
    "/{strategy_id}/runs",
    summary="Your runs of the strategy with key metrics and versions",
    response_model=Page[BacktestOut],
)
async def list_runs(
    strategy_id: str, user: CurrentUser, session: DbSession, params: Pagination
) -> dict[str, Any]:
    items, total = await strategy_runs.list_runs(session, user, strategy_id, params)
    return page(items, total, params)


# --- ratings and favourites ------------------------------------------------------------------


@router.put(
    "/{strategy_id}/rating",
    summary="Rate 1-5 with a comment (one per user)",
    response_model=Envelope[RatingSummary],
)
async def rate(
    strategy_id: str,
    body: RatingBody,
    user: AccountUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    out = ok(await social.rate(session, user, strategy_id, body, client_address(request)))
    await gallery_cache.changed(cache)
    return out


@router.delete(
    "/{strategy_id}/rating", summary="Remove your rating", response_model=Envelope[RatingSummary]
)
async def unrate(
    strategy_id: str,
    user: AccountUser,
    session: DbSession,
    request: Request,
    cache: AppCache,
) -> dict[str, Any]:
    out = ok(await social.unrate(session, user, strategy_id, client_address(request)))
    await gallery_cache.changed(cache)
    return out


@router.get(
    "/{strategy_id}/ratings",
    summary="Ratings with comments, newest first",
    response_model=Page[RatingOut],
)
async def ratings(
    strategy_id: str, user: CurrentUser, session: DbSession, params: Pagination
) -> dict[str, Any]:
    items, total = await social.list_ratings(session, user, strategy_id, params)
    return page(items, total, params)


@router.put(
    "/{strategy_id}/favourite", summary="Add to favourites", response_model=Envelope[FavouriteOut]
)
async def favourite(
    strategy_id: str, user: AccountUser, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    out = ok(await social.set_favourite(session, user, strategy_id, True))
    await gallery_cache.changed(cache)
    return out


@router.delete(
    "/{strategy_id}/favourite",
    summary="Remove from favourites",
    response_model=Envelope[FavouriteOut],
)
async def unfavourite(
    strategy_id: str, user: AccountUser, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    out = ok(await social.set_favourite(session, user, strategy_id, False))
    await gallery_cache.changed(cache)
    return out
