"""Permission dependencies for routers: who is calling and what they may do.

- ``CurrentUser``: any signed-in caller (Bearer access JWT or personal access token);
  401 with ``WWW-Authenticate`` otherwise; 403 ``PASSWORD_CHANGE_REQUIRED`` after a reset.
- ``WriteUser``: may change research data (researcher or admin, not a read-only token).
- ``AdminUser`` / ``AdminWriteUser``: the admin role (the latter not via a read-only token).
- ``AccountUser``: may change their *own* settings (any role, not a read-only token).
- ``SessionUser``: signed in, even with a pending password change (``/me``, password, logout).

Every router mounted with ``quantlab.api.routes.protected`` already requires ``CurrentUser``;
routes add the stricter aliases they need.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.base import SecurityBase

from quantlab.auth.exceptions import InsufficientRole, PasswordChangeRequired
from quantlab.auth.principal import AuthUser, resolve
from quantlab.auth.throttle import LoginThrottle
from quantlab.auth.tokens import TokenCodec
from quantlab.platform.cache import Cache, NullCache, prefetch_keys_of
from quantlab.platform.errors import Unauthorized

TOKEN_URL = "/api/auth/token"  # noqa: S105 - a path

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL, auto_error=False, description="Access JWT or personal access token"
)


def get_cache(request: Request) -> Cache:
    """The app's cache (a no-op cache before start-up wiring)."""
    cache: Cache | None = getattr(request.app.state, "cache", None)
    return cache if cache is not None else NullCache()


def get_codec(request: Request) -> TokenCodec:
    """The app's JWT codec, built once from its settings."""
    codec: TokenCodec | None = getattr(request.app.state, "token_codec", None)
    if codec is None:
        codec = request.app.state.token_codec = TokenCodec(request.app.state.settings)
    return codec


def get_throttle(request: Request) -> LoginThrottle:
    """The sign-in throttle over the rate-limit storage."""
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle(request.app.state.limiter.storage, request.app.state.settings)
        request.app.state.login_throttle = throttle
    return throttle


# FastAPI runs a plain ``def`` dependency in a worker thread: one thread hand-off per
# request for a getattr. These ``async`` twins run on the event loop.


async def app_cache(request: Request) -> Cache:
    """Dependency form of :func:`get_cache`."""
    return get_cache(request)


async def app_codec(request: Request) -> TokenCodec:
    """Dependency form of :func:`get_codec`."""
    return get_codec(request)


async def app_throttle(request: Request) -> LoginThrottle:
    """Dependency form of :func:`get_throttle`."""
    return get_throttle(request)


AppCache = Annotated[Cache, Depends(app_cache)]
Codec = Annotated[TokenCodec, Depends(app_codec)]
Throttle = Annotated[LoginThrottle, Depends(app_throttle)]


_USER_SCOPE_KEY = "quantlab.user"


class BearerUser(SecurityBase):
    """Resolve the bearer token of a request to its user, as one dependency.

    It is the ``OAuth2PasswordBearer`` scheme of the OpenAPI document itself (so Swagger's
    Authorize works and every protected operation lists it), and reads the header itself
    instead of depending on that scheme: each level of dependencies costs FastAPI a solving
    pass on every request, and these are on every request. The user is resolved once per
    request (kept in the ASGI scope) however many of these a route depends on.
    """

    def __init__(self, *, allow_password_change: bool) -> None:
        self.model = oauth2_scheme.model
        self.scheme_name = oauth2_scheme.scheme_name
        self.allow_password_change = allow_password_change

    async def __call__(self, request: Request) -> AuthUser:
        user: AuthUser | None = request.scope.get(_USER_SCOPE_KEY)
        if user is None:
            user = await _resolve_bearer(request)
            request.scope[_USER_SCOPE_KEY] = user
        if user.must_change_password and not self.allow_password_change:
            raise PasswordChangeRequired()
        return user


async def _resolve_bearer(request: Request) -> AuthUser:
    """The caller of ``request``; 401 when the bearer token is absent or invalid."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()  # as OAuth2PasswordBearer reads it
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("not authenticated: send 'Authorization: Bearer <token>'")
    user = await resolve(
        token,
        get_codec(request),
        get_cache(request),
        request.app.state.db.sessionmaker,
        prefetch_keys_of(request.scope),
    )
    request.state.user_id = user.id  # rate limits key on it
    return user


# Signed in, even with a pending password change (/me, password, logout).
authenticate = BearerUser(allow_password_change=True)
SessionUser = Annotated[AuthUser, Depends(authenticate)]

# A signed-in user whose password is not pending a forced change.
current_user = BearerUser(allow_password_change=False)
CurrentUser = Annotated[AuthUser, Depends(current_user)]


async def write_user(user: CurrentUser) -> AuthUser:
    """A user allowed to create, change or delete research resources."""
    if not user.can_write:
        raise InsufficientRole(
            "read-only access: viewers and read-only tokens cannot change anything"
        )
    return user


async def account_user(user: CurrentUser) -> AuthUser:
    """A user changing their own settings: any role, but not with a read-only token."""
    if user.read_only:
        raise InsufficientRole("this personal access token is read-only")
    return user


async def admin_user(user: CurrentUser) -> AuthUser:
    """An administrator."""
    if not user.is_admin:
        raise InsufficientRole("administrators only")
    return user


async def admin_write_user(user: Annotated[AuthUser, Depends(admin_user)]) -> AuthUser:
    """An administrator not using a read-only token."""
    if user.read_only:
        raise InsufficientRole("this personal access token is read-only")
    return user


WriteUser = Annotated[AuthUser, Depends(write_user)]
AccountUser = Annotated[AuthUser, Depends(account_user)]
AdminUser = Annotated[AuthUser, Depends(admin_user)]
AdminWriteUser = Annotated[AuthUser, Depends(admin_write_user)]
