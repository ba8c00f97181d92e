"""``/ws/tasks/{job_id}``: a job's live events.

Authenticate with ``?ticket=`` (from ``POST /api/tasks/{id}/ws-ticket``) or by offering the
subprotocols ``["quantlab", "bearer.<access token>"]``. The first message is ``connected``
with a snapshot of the job, so a reconnecting client loses nothing; then ``progress``,
``log``, ``metrics``, ``error`` and a final ``completion``, after which the server closes
with 1000. ``ping``/``pong`` both ways every ``QUANTLAB_WS_PING_SECONDS``.

Close codes: 4401 not authenticated, 4404 unknown job (or not yours), 1011 server error.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.encoders import jsonable_encoder

from quantlab.platform.db import Database
from quantlab.platform.events import EventBus, job_channel
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.status import TERMINAL, JobStatus
from quantlab.platform.logging import get_logger
from quantlab.platform.ownership import can_read
from quantlab.tasks import tickets

log = get_logger("quantlab.tasks.ws")

router = APIRouter(tags=["tasks"])

SUBPROTOCOL = "quantlab"
BEARER_PREFIX = "bearer."
CLOSE_UNAUTHENTICATED = 4401
CLOSE_UNKNOWN_JOB = 4404
DB_CHECK_S = 2.0  # a missed completion event is caught from the database this often


async def _authenticate(ws: WebSocket, job_id: str) -> tuple[str | None, str]:
    """The user id allowed to watch ``job_id`` and why not, when not."""
    db: Database = ws.app.state.db
    ticket = ws.query_params.get("ticket")
    if ticket:
        user_id = await tickets.redeem(db, ticket, job_id)
        return user_id, "ticket is invalid, used, expired or for another job"
    token = next(
        (
            p[len(BEARER_PREFIX) :]
            for p in ws.scope.get("subprotocols", [])
            if p.startswith(BEARER_PREFIX)
        ),
        None,
    )
    if not token:
        return None, "send ?ticket= or the subprotocol 'bearer.<access token>'"
    from quantlab.auth.dependencies import get_cache, get_codec
    from quantlab.auth.principal import resolve

    request = cast(Request, ws)
    try:
        user = await resolve(token, get_codec(request), get_cache(request), db.sessionmaker)
    except Exception:
        return None, "access token is invalid or expired"
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
    if job is not None and not can_read(job, user):
        return "", ""
    return user.id, ""


async def _snapshot(db: Database, job_id: str) -> dict[str, Any] | None:
    async with db.sessionmaker() as session:
        job = await session.get(Job, job_id)
        return jsonable_encoder(job_service.job_view(job)) if job is not None else None


def _completion(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "completion",
        "job_id": snapshot["id"],
        "data": {
            "status": snapshot["status"],
            "result": snapshot["result"],
            "error": snapshot["error"],
        },
    }


def _outgoing(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Bus events as the client sees them."""
    kind = event.get("type")
    if kind == "completion":
        status = event["data"].get("status")
        if status == JobStatus.PAUSED:
            return [{**event, "type": "progress", "data": {"stage": "paused", "message": "paused"}}]
        if status == JobStatus.FAILED and event["data"].get("error"):
            return [{**event, "type": "error", "data": event["data"]["error"]}, event]
        return [event]
    if kind in ("progress", "log", "metrics"):
        return [event]
    return []  # internal events (e.g. started)


@router.websocket("/ws/tasks/{job_id}")
async def job_events(ws: WebSocket, job_id: str) -> None:
    """Stream one job's events (see the module docstring for the protocol)."""
    offered = ws.scope.get("subprotocols", [])
    await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    user_id, reason = await _authenticate(ws, job_id)
    if not user_id:
        if user_id is None:
            await ws.close(CLOSE_UNAUTHENTICATED, reason)
        else:
            await ws.close(CLOSE_UNKNOWN_JOB, f"job {job_id} not found")
        return
    db: Database = ws.app.state.db
    bus: EventBus = ws.app.state.events
    async with bus.subscribe(job_channel(job_id)) as sub:
        snapshot = await _snapshot(db, job_id)
        if snapshot is None:
            await ws.close(CLOSE_UNKNOWN_JOB, f"job {job_id} not found")
            return
        await ws.send_json({"type": "connected", "job_id": job_id, "data": snapshot})
        if snapshot["status"] in TERMINAL:
            await ws.send_json(_completion(snapshot))
            await ws.close(1000, "job finished")
            return
        reader = asyncio.create_task(_read_client(ws))
        try:
            await _forward(ws, db, sub, job_id, reader)
        except WebSocketDisconnect:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _read_client(ws: WebSocket) -> None:
    """Answer pings; ignore anything else the client sends."""
    while True:
        message = await ws.receive_json()
        if isinstance(message, dict) and message.get("type") == "ping":
            await ws.send_json({"type": "pong"})


async def _forward(
    ws: WebSocket, db: Database, sub: Any, job_id: str, reader: asyncio.Task[None]
) -> None:
    loop = asyncio.get_running_loop()
    ping_every = ws.app.state.settings.ws_ping_seconds
    last_ping = last_check = loop.time()
    while not reader.done():
        event = await sub.get(wait_s=min(DB_CHECK_S, ping_every))
        if event is not None:
            for message in _outgoing(event):
                await ws.send_json(message)
                if message["type"] == "completion" and message["data"].get("status") in TERMINAL:
                    await ws.close(1000, "job finished")
                    return
        now = loop.time()
        if now - last_ping >= ping_every:
            last_ping = now
            await ws.send_json({"type": "ping"})
        if now - last_check >= DB_CHECK_S:
            last_check = now
            snapshot = await _snapshot(db, job_id)
            if snapshot is None or snapshot["status"] in TERMINAL:
                if snapshot is not None:
                    await ws.send_json(_completion(snapshot))
                await ws.close(1000, "job finished")
                return
