"""HTTP routes of /api/auth: sign-in, refresh, registration (public); me, password,
logout (signed in); personal access tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from quantlab.auth import pats
from quantlab.auth import service as auth_service
from quantlab.auth import sessions as auth_sessions
from quantlab.auth.dependencies import (
    AccountUser,
    AppCache,
    Codec,
    CurrentUser,
    SessionUser,
    Throttle,
)
from quantlab.auth.exceptions import InsufficientRole, RegistrationClosed
from quantlab.auth.schemas import (
    LogoutIn,
    LogoutOut,
    MeOut,
    PasswordChangeIn,
    PatCreatedOut,
    PatCreateIn,
    PatOut,
    RefreshIn,
    RegisterIn,
    TokenOut,
    UserOut,
)
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import ERROR_RESPONSES, Envelope, Page, Pagination, ok, page
from quantlab.platform.ratelimit import RateLimit, client_address

public_router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)
session_router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)
tokens_router = APIRouter(prefix="/api/auth/tokens", tags=["auth"], responses=ERROR_RESPONSES)

_login_limit = [Depends(RateLimit("login", per="address"))]


def _token_response(response: Response, pair: auth_sessions.TokenPair) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    body = pair.as_response()
    return {"status": "success", **body, "data": body}


@public_router.post(
    "/token",
    response_model=TokenOut,
    summary="Sign in (OAuth2 password flow): access and refresh tokens",
    dependencies=_login_limit,
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: DbSession,
    codec: Codec,
    throttle: Throttle,
) -> dict[str, Any]:
    """Form fields ``username`` (or email) and ``password``."""
    pair = await auth_sessions.login(
        session,
        codec,
        throttle,
        username=form.username,
        password=form.password,
        client_address=client_address(request),
    )
    return _token_response(response, pair)


@public_router.post(
    "/refresh",
    response_model=TokenOut,
    summary="Rotate a refresh token for a new token pair",
    dependencies=_login_limit,
)
async def refresh(
    body: RefreshIn,
    request: Request,
    response: Response,
    session: DbSession,
    codec: Codec,
    cache: AppCache,
) -> dict[str, Any]:
    """Each refresh token works once; presenting a used one ends its whole session."""
    pair = await auth_sessions.refresh(
        session, codec, cache, token=body.refresh_token, client_address=client_address(request)
    )
    return _token_response(response, pair)


@public_router.post(
    "/register",
    response_model=Envelope[UserOut],
    status_code=201,
    summary="Create an account (only when registration is open)",
    dependencies=_login_limit,
)
async def register(body: RegisterIn, request: Request, session: DbSession) -> dict[str, Any]:
    """Open registration creates a researcher; otherwise 403 ``REGISTRATION_CLOSED``."""
    settings = request.app.state.settings
    if settings.registration_mode != "open":
        raise RegistrationClosed()
    user = await auth_service.create_user(
        session,
        settings,
        username=body.username,
        password=body.password,
        email=body.email,
        display_name=body.display_name,
        action="user.register",
        client_address=client_address(request),
    )
    return ok(auth_service.user_public(user))


@session_router.get("/me", response_model=Envelope[MeOut], summary="The signed-in account")
async def me(user: SessionUser) -> dict[str, Any]:
    """Who the token belongs to, the role and what the token may do."""
    return ok(
        {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "must_change_password": user.must_change_password,
            "token_kind": user.token_kind,
            "read_only": user.read_only,
            "can_write": user.can_write,
        }
    )


@session_router.post(
    "/password",
    response_model=TokenOut,
    summary="Change the password; every session ends and a new pair is returned",
)
async def change_password(
    body: PasswordChangeIn,
    user: SessionUser,
    request: Request,
    response: Response,
    session: DbSession,
    codec: Codec,
    cache: AppCache,
) -> dict[str, Any]:
    """Requires the current password."""
    if user.read_only:
        raise InsufficientRole("this personal access token is read-only")
    pair = await auth_sessions.change_password(
        session,
        codec,
        cache,
        user_id=user.id,
        current_password=body.current_password,
        new_password=body.new_password,
        client_address=client_address(request),
    )
    return _token_response(response, pair)


@session_router.post(
    "/logout", summary="End this session (or every session)", response_model=Envelope[LogoutOut]
)
async def logout(
    body: LogoutIn, user: SessionUser, request: Request, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    """Revokes the session of the access token (and of ``refresh_token`` if given).
    A read-only personal access token may not end sessions (403)."""
    if user.read_only:
        raise InsufficientRole("this personal access token is read-only: it cannot end sessions")
    ended = await auth_sessions.logout(
        session,
        cache,
        user_id=user.id,
        session_id=user.session_id,
        refresh_token=body.refresh_token,
        everywhere=body.everywhere,
        client_address=client_address(request),
    )
    return ok({"sessions_ended": ended, "everywhere": body.everywhere})


@tokens_router.get("", response_model=Page[PatOut], summary="My personal access tokens")
async def list_tokens(user: CurrentUser, session: DbSession, params: Pagination) -> dict[str, Any]:
    """Newest first; secrets are never shown again."""
    rows, total = await pats.list_for(session, user.id, params.offset, params.size)
    return page([pats.pat_public(r) for r in rows], total, params)


@tokens_router.post(
    "",
    response_model=Envelope[PatCreatedOut],
    status_code=201,
    summary="Create a personal access token (the secret is shown once)",
)
async def create_token(
    body: PatCreateIn, user: AccountUser, request: Request, session: DbSession
) -> dict[str, Any]:
    """Only a password sign-in may mint tokens, so a leaked token cannot breed more."""
    if user.token_kind != "access":  # noqa: S105
        raise InsufficientRole("personal access tokens cannot create other tokens")
    pat, secret = await pats.create(
        session,
        user_id=user.id,
        name=body.name,
        read_only=body.read_only,
        expires_at=body.expires_at,
        client_address=client_address(request),
    )
    return ok({**pats.pat_public(pat), "token": secret})


@tokens_router.delete(
    "/{token_id}", response_model=Envelope[PatOut], summary="Revoke a personal access token"
)
async def revoke_token(
    token_id: str, user: AccountUser, request: Request, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    """Immediate: the next request with it gets 401."""
    pat = await pats.revoke(
        session, cache, user_id=user.id, token_id=token_id, client_address=client_address(request)
    )
    return ok(pats.pat_public(pat))
