"""HTTP routes of /api/user (mode, preferences, guides) and /api/help (FAQ).

Every route acts on the signed-in user only: there is no ``user_id`` parameter, and the
bodies refuse unknown fields.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from quantlab.auth.dependencies import AccountUser, AppCache, CurrentUser
from quantlab.onboarding import service
from quantlab.onboarding.schemas import (
    FaqOut,
    GuidesOut,
    Language,
    ModeIn,
    ModeOut,
    PreferencesOut,
    PreferencesPatch,
)
from quantlab.platform.cache import prefetch
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import ERROR_RESPONSES, Envelope, ok
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/user", tags=["onboarding"], responses=ERROR_RESPONSES)
help_router = APIRouter(prefix="/api/help", tags=["onboarding"], responses=ERROR_RESPONSES)


@router.get("/mode", response_model=Envelope[ModeOut], summary="My interface mode")
async def get_mode(user: CurrentUser, request: Request, cache: AppCache) -> dict[str, Any]:
    """``beginner`` (default) or ``expert``."""
    prefs = await service.get_preferences(request.app.state.db.sessionmaker, cache, user.id)
    return ok({"mode": prefs["mode"], "updated_at": prefs["updated_at"]})


@router.post("/mode", response_model=Envelope[ModeOut], summary="Switch my interface mode")
async def set_mode(
    body: ModeIn, user: AccountUser, request: Request, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    """Case-insensitive input, stored lower-case; anything else is a 422."""
    prefs = await service.update_preferences(
        session,
        cache,
        user.id,
        {"mode": body.mode},
        action="user.mode.update",
        client_address=client_address(request),
    )
    return ok({"mode": prefs["mode"], "updated_at": prefs["updated_at"]})


@router.get("/preferences", response_model=Envelope[PreferencesOut], summary="My preferences")
@prefetch(lambda user_id: [service.prefs_key(user_id)])
async def get_preferences(user: CurrentUser, request: Request, cache: AppCache) -> JSONResponse:
    """Created with defaults on first read."""
    prefs = await service.get_preferences(request.app.state.db.sessionmaker, cache, user.id)
    # The cached dict is already the validated, JSON-ready shape of PreferencesOut; returning
    # a response skips re-validating it on the busiest read of the API.
    return JSONResponse(ok(prefs))


@router.put(
    "/preferences", response_model=Envelope[PreferencesOut], summary="Update my preferences"
)
async def put_preferences(
    body: PreferencesPatch,
    user: AccountUser,
    request: Request,
    session: DbSession,
    cache: AppCache,
) -> dict[str, Any]:
    """Partial update: only the fields sent change."""
    prefs = await service.update_preferences(
        session, cache, user.id, body.changes(), client_address=client_address(request)
    )
    return ok(prefs)


@router.get("/guides", response_model=Envelope[GuidesOut], summary="Quick-start guides")
async def guides(user: CurrentUser, request: Request, cache: AppCache) -> dict[str, Any]:
    """Import data, build a strategy, run a backtest, with my progress."""
    prefs = await service.get_preferences(request.app.state.db.sessionmaker, cache, user.id)
    return ok(service.guides_view(prefs))


@router.post(
    "/guides/{guide_id}/complete",
    response_model=Envelope[GuidesOut],
    summary="Mark a guide as completed",
)
async def complete_guide(
    guide_id: str, user: AccountUser, request: Request, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    """Idempotent; 404 ``GUIDE_NOT_FOUND`` for an unknown guide."""
    prefs = await service.complete_guide(
        session, cache, user.id, guide_id, client_address=client_address(request)
    )
    return ok(service.guides_view(prefs))


@help_router.get("/faq", response_model=Envelope[FaqOut], summary="Frequently asked questions")
async def faq(
    user: CurrentUser, request: Request, cache: AppCache, lang: Language | None = None
) -> dict[str, Any]:
    """In ``lang`` (``zh-CN`` or ``en-US``), by default in my preferred language."""
    if lang is None:
        sm = request.app.state.db.sessionmaker
        lang = (await service.get_preferences(sm, cache, user.id))["language"]
    return ok(service.faq_view(lang))
