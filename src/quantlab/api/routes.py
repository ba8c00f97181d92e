"""Router composition. Auth is on by default: only the public list below is open.

Domains mount their routers with :func:`protected` (every route then requires a signed-in
user and counts against the ``default`` rate-limit group); :func:`public` is reserved for
health, metadata, sign-in and registration.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, FastAPI, params
from fastapi.routing import APIRoute, APIWebSocketRoute

from quantlab.auth import admin_router as auth_admin
from quantlab.auth import router as auth_router
from quantlab.auth.dependencies import authenticate, current_user
from quantlab.backtests import router as backtests_router
from quantlab.builder import router as builder_router
from quantlab.datasets import charts_router, preprocessing_router, universes_router
from quantlab.datasets import router as datasets_router
from quantlab.factors import router as factors_router
from quantlab.ml import router as ml_router
from quantlab.onboarding import router as onboarding_router
from quantlab.platform import health, meta
from quantlab.platform.ratelimit import RateLimit
from quantlab.sandbox import router as sandbox_router
from quantlab.strategies import router as strategies_router
from quantlab.studies import router as studies_router
from quantlab.tasks import router as tasks_router
from quantlab.tasks import ws as tasks_ws


def _mount(app: FastAPI, router: APIRouter, dependencies: Sequence[params.Depends] = ()) -> None:
    """Add each route of ``router`` to the app's own route list, ``dependencies`` first.

    ``app.include_router`` keeps the router as one nested entry that every request walks
    into twice (to match, then to handle) and whose dependencies are solved as another
    level; a flat list matches each route once, as the OpenAPI document describes it.
    """
    for route in router.routes:
        if isinstance(route, APIRoute):
            app.router.add_api_route(
                route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=route.tags,
                dependencies=[*dependencies, *route.dependencies],
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=route.responses,
                deprecated=route.deprecated,
                methods=route.methods,
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                name=route.name,
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
                strict_content_type=route.strict_content_type,
                max_body_size=route.max_body_size,
                form_limits=route.form_limits,
            )
        elif isinstance(route, APIWebSocketRoute):
            app.router.add_api_websocket_route(
                route.path,
                route.endpoint,
                name=route.name,
                dependencies=[*dependencies, *route.dependencies],
            )
        else:
            raise TypeError(f"cannot mount {route!r}: only HTTP and WebSocket API routes")


def public(app: FastAPI, router: APIRouter) -> None:
    """Mount ``router`` without authentication (keep this list short)."""
    _mount(app, router)


def protected(app: FastAPI, router: APIRouter, *, allow_password_change: bool = False) -> None:
    """Mount ``router`` behind authentication and the default rate limit.

    ``allow_password_change`` admits users whose password was reset and must still be
    changed (only for /api/auth/me, password and logout).
    """
    who = authenticate if allow_password_change else current_user
    _mount(app, router, [Depends(who), Depends(RateLimit("default"))])


def include_routers(app: FastAPI) -> None:
    """Mount every domain router on ``app``."""
    # Public: health, error catalog, sign-in/registration (docs are served by FastAPI).
    public(app, health.router)
    public(app, meta.router)
    public(app, auth_router.public_router)
    # Everything else requires a signed-in user. Routes are matched in this order, so the
    # hottest reads (every page load asks for the user's preferences) come first.
    protected(app, onboarding_router.router)
    protected(app, onboarding_router.help_router)
    protected(app, auth_router.session_router, allow_password_change=True)
    protected(app, auth_router.tokens_router)
    protected(app, auth_admin.router)
    public(app, tasks_ws.router)  # authenticates with a ticket or subprotocol token
    protected(app, tasks_router.router)
    protected(app, datasets_router.router)
    protected(app, datasets_router.imports_router)
    protected(app, charts_router.router)
    protected(app, preprocessing_router.router)
    protected(app, universes_router.router)
    protected(app, factors_router.indicators_router)
    protected(app, factors_router.router)
    public(app, sandbox_router.public_router)  # /api/security/health
    protected(app, sandbox_router.router)
    public(app, backtests_router.ws_router)  # authenticates like /ws/tasks
    protected(app, backtests_router.router)
    protected(app, ml_router.router)
    protected(app, strategies_router.templates_router)
    protected(app, strategies_router.router)
    protected(app, builder_router.router)
    protected(app, studies_router.router)
