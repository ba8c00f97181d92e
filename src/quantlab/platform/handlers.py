"""The one place that turns exceptions into the error envelope."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from quantlab.platform.errors import (
    ERROR_CATALOG,
    BadRequest,
    MalformedJSON,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    QuantlabError,
    UnsupportedMediaType,
    ValidationFailed,
)
from quantlab.platform.logging import correlation_id_var, get_logger

log = get_logger("quantlab.errors")

_STATUS_ERRORS: dict[int, type[QuantlabError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def _correlation_id(request: Request) -> str | None:
    return getattr(request.state, "correlation_id", None) or correlation_id_var.get()


def error_json(exc: QuantlabError, request: Request) -> JSONResponse:
    """Render ``exc`` in the error envelope with its status and headers."""
    body = {
        "status": "error",
        "error": {
            "code": exc.code,
            "message": exc.message,
            "details": exc.details,
            "correlation_id": _correlation_id(request),
        },
    }
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def _quantlab_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuantlabError)
    if exc.status >= 500 and exc.server_fault:
        log.error("server_error", code=exc.code, path=request.url.path, exc_info=exc)
    return error_json(exc, request)


def _field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                "location": loc[0] if loc else None,
                "path": loc,
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return out


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        ctx = first.get("ctx") or {}
        return error_json(
            MalformedJSON(
                f"request body is not valid JSON: {ctx.get('error', 'parse error')}",
                details={"position": first.get("loc", [None, None])[-1]},
            ),
            request,
        )
    fields = _field_errors(errors)
    summary = "; ".join(f"{f['field'] or f['location']}: {f['message']}" for f in fields[:5])
    return error_json(ValidationFailed(f"invalid input: {summary}", details=fields), request)


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _method_table(app: Any) -> list[tuple[re.Pattern[str], int, set[str]]]:
    """(path regex, literal segments, methods) of every documented path, built once per app."""
    table: list[tuple[re.Pattern[str], int, set[str]]] | None = getattr(
        app.state, "allow_table", None
    )
    if table is None:
        table = []
        for path, item in app.openapi()["paths"].items():
            literal = sum(1 for part in path.split("/") if part and "{" not in part)
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
            methods = {m.upper() for m in item if m in _HTTP_METHODS}
            table.append((re.compile(f"^{pattern}$"), literal, methods))
        app.state.allow_table = table
    return table


def allowed_methods(request: Request) -> str:
    """The ``Allow`` value for the request's path, as the OpenAPI document describes it.

    Starlette reports only the first matching route's methods, but one path is often served
    by several routes (``GET``, ``PATCH`` and ``DELETE`` of ``/api/datasets/{id}``). A named
    path (``/api/tasks/stats``) is its own resource, not an id of ``/api/tasks/{job_id}``.
    """
    path = request.scope.get("path", request.url.path)
    matches = [(lit, m) for regex, lit, m in _method_table(request.app) if regex.match(path)]
    best = max((lit for lit, _ in matches), default=0)
    methods = {"OPTIONS"}.union(*(m for lit, m in matches if lit == best))
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allow = allowed_methods(request)
        if request.method == "OPTIONS":  # answered for every route, without a body
            return Response(status_code=204, headers={"Allow": allow})
        err405 = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        err405.headers = {"Allow": allow}
        return error_json(err405, request)
    cls = _STATUS_ERRORS.get(exc.status_code)
    if exc.status_code == 404 and exc.detail == "Not Found":
        err: QuantlabError = NotFound(f"no route for {request.method} {request.url.path}")
    elif cls is not None:
        err = cls(str(exc.detail))
    else:
        code = next((c.code for c in ERROR_CATALOG.values() if c.status == exc.status_code), None)
        err = QuantlabError(str(exc.detail), code=code or "INTERNAL_ERROR", status=exc.status_code)
    if exc.headers:
        err.headers = {**(err.headers or {}), **exc.headers}
    return error_json(err, request)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Never echo the exception to the client; the log has it with the correlation id.
    log.error("unhandled_exception", path=request.url.path, method=request.method, exc_info=exc)
    response = error_json(QuantlabError(), request)
    cid = _correlation_id(request)
    if cid:  # this handler runs outside the correlation middleware, so echo it here
        response.headers["X-Correlation-ID"] = cid
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register the envelope-producing handlers on ``app``."""
    app.add_exception_handler(QuantlabError, _quantlab_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
