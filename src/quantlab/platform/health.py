"""Liveness and readiness: ``/api/health`` answers while the process lives, ``/api/ready``
checks every configured backend and answers 503 with per-check details when one fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from quantlab import __version__
from quantlab.platform.envelope import Envelope, ErrorEnvelope, ok

ReadinessCheck = Callable[[Request], Awaitable[dict[str, Any]]]

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """The process is up."""

    status: Literal["ok"]
    version: str


class CheckOut(BaseModel):
    """One backend's readiness (checks may add facts, e.g. the database ``backend``)."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    latency_ms: float
    error: str | None = None


class ReadyOut(BaseModel):
    """Every configured backend answered."""

    status: Literal["ready"]
    checks: dict[str, CheckOut]


CHECK_TIMEOUT_S = 3.0


async def check_database(request: Request) -> dict[str, Any]:
    """Run ``SELECT 1`` on the configured database."""
    async with request.app.state.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"backend": request.app.state.db.engine.dialect.name}


async def check_redis(request: Request) -> dict[str, Any]:
    """PING the configured Redis."""
    client = request.app.state.redis
    await client.ping()
    return {}


def readiness_checks(request: Request) -> dict[str, ReadinessCheck]:
    """The checks that apply to this app's configuration."""
    checks: dict[str, ReadinessCheck] = {"database": check_database}
    if getattr(request.app.state, "redis", None) is not None:
        checks["redis"] = check_redis
    checks.update(getattr(request.app.state, "extra_readiness_checks", {}))
    return checks


@router.get(
    "/api/health", summary="Liveness: the process is up", response_model=Envelope[HealthOut]
)
async def health() -> Any:
    """Always 200 while the process serves requests."""
    return ok({"status": "ok", "version": __version__})


async def _run(name: str, check: ReadinessCheck, request: Request) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        extra = await asyncio.wait_for(check(request), CHECK_TIMEOUT_S)
        result = {"name": name, "ok": True, **extra}
    except Exception as exc:  # a failing backend is data here, not an error
        result = {"name": name, "ok": False, "error": type(exc).__name__ + ": " + str(exc)[:200]}
    result["latency_ms"] = round((time.perf_counter() - start) * 1000, 2)
    return result


@router.get(
    "/api/ready",
    summary="Readiness: database, Redis and job runner answer",
    response_model=Envelope[ReadyOut],
    responses={
        503: {"model": ErrorEnvelope, "description": "A backend failed; details list each check"}
    },
)
async def ready(request: Request) -> JSONResponse:
    """200 when every configured backend answers, else 503 with each check's result."""
    results = await asyncio.gather(
        *(_run(name, check, request) for name, check in readiness_checks(request).items())
    )
    checks = {r.pop("name"): r for r in results}
    if all(c["ok"] for c in checks.values()):
        return JSONResponse(ok({"status": "ready", "checks": checks}))
    failed = [n for n, c in checks.items() if not c["ok"]]
    body = {
        "status": "error",
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "not ready: " + ", ".join(failed) + " failed",
            "details": {"checks": checks},
            "correlation_id": getattr(request.state, "correlation_id", None),
        },
    }
    return JSONResponse(body, status_code=503)
