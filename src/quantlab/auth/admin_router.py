"""HTTP routes of /api/admin: accounts and the audit log (administrators only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from quantlab.auth import audit_query
from quantlab.auth import service as auth_service
from quantlab.auth.dependencies import AdminUser, AdminWriteUser, AppCache
from quantlab.auth.passwords import generate_password
from quantlab.auth.schemas import (
    AuditEventOut,
    PasswordResetOut,
    Role,
    UserCreatedOut,
    UserCreateIn,
    UserOut,
    UserPatchIn,
)
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Envelope,
    IsoDateTime,
    Page,
    Pagination,
    ok,
    page,
)
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=ERROR_RESPONSES)


@router.get("/users", response_model=Page[UserOut], summary="List accounts")
async def list_users(
    _: AdminUser,
    session: DbSession,
    params: Pagination,
    role: Role | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="username/email contains")] = None,
) -> dict[str, Any]:
    """Ordered by username; filter by role, activity or a search string."""
    rows, total = await auth_service.list_users(
        session, offset=params.offset, limit=params.size, role=role, is_active=is_active, q=q
    )
    return page([auth_service.user_public(u) for u in rows], total, params)


@router.post(
    "/users",
    response_model=Envelope[UserCreatedOut],
    status_code=201,
    summary="Create an account (without a password: a one-time password is returned)",
)
async def create_user(
    body: UserCreateIn, admin: AdminWriteUser, request: Request, session: DbSession
) -> dict[str, Any]:
    """The new user must change a generated password at first sign-in."""
    one_time = None if body.password else generate_password()
    user = await auth_service.create_user(
        session,
        request.app.state.settings,
        username=body.username,
        password=body.password or one_time or "",
        email=body.email,
        display_name=body.display_name,
        role=body.role,
        must_change_password=one_time is not None,
        actor_id=admin.id,
        client_address=client_address(request),
    )
    return ok({**auth_service.user_public(user), "one_time_password": one_time})


@router.get("/users/{user_id}", response_model=Envelope[UserOut], summary="One account")
async def get_user(user_id: str, _: AdminUser, session: DbSession) -> dict[str, Any]:
    """404 ``USER_NOT_FOUND`` for an unknown id."""
    return ok(auth_service.user_public(await auth_service.get_user(session, user_id)))


@router.patch(
    "/users/{user_id}",
    response_model=Envelope[UserOut],
    summary="Change role, activate/deactivate, rename",
)
async def update_user(
    user_id: str,
    body: UserPatchIn,
    admin: AdminWriteUser,
    request: Request,
    session: DbSession,
    cache: AppCache,
) -> dict[str, Any]:
    """Deactivation ends every session at once; the last active admin cannot be removed."""
    user = await auth_service.update_user(
        session,
        cache,
        user_id,
        actor_id=admin.id,
        role=body.role,
        is_active=body.is_active,
        display_name=body.display_name,
        client_address=client_address(request),
    )
    return ok(auth_service.user_public(user))


@router.post(
    "/users/{user_id}/reset-password",
    response_model=Envelope[PasswordResetOut],
    summary="Reset a password: returns a one-time password the user must change",
)
async def reset_password(
    user_id: str, admin: AdminWriteUser, request: Request, session: DbSession, cache: AppCache
) -> dict[str, Any]:
    """Ends the user's sessions and personal access tokens."""
    password = await auth_service.reset_password(
        session,
        cache,
        request.app.state.settings,
        user_id,
        actor_id=admin.id,
        client_address=client_address(request),
    )
    return ok({"user_id": user_id, "one_time_password": password})


@router.get("/audit", response_model=Page[AuditEventOut], summary="Read the audit log")
async def audit_log(
    _: AdminUser,
    session: DbSession,
    params: Pagination,
    actor_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=100, description="exact, or prefix*")] = None,
    resource_type: Annotated[str | None, Query(max_length=50)] = None,
    resource_id: Annotated[str | None, Query(max_length=64)] = None,
    correlation_id: Annotated[str | None, Query(max_length=64)] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
) -> dict[str, Any]:
    """Newest first."""
    rows, total = await audit_query.list_events(
        session,
        offset=params.offset,
        limit=params.size,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        correlation_id=correlation_id,
        since=since,
        until=until,
    )
    items = [AuditEventOut.model_validate(r, from_attributes=True).model_dump() for r in rows]
    return page(items, total, params)
