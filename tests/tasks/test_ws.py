"""WS /ws/tasks/{id}: tickets, subprotocol tokens, ordered progress, reconnects, close codes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tasks.helpers import enqueue, wait_for
from tests.tasks.wsclient import AsgiWebSocket, WsClosed

pytestmark = pytest.mark.timeout(120)


async def _ticket(client: Any, headers: dict[str, str], job_id: str) -> str:
    resp = await client.post(f"/api/tasks/{job_id}/ws-ticket", headers=headers)
    assert resp.status_code == 201, resp.text
    body = resp.json()["data"]
    assert body["url"] == f"/ws/tasks/{job_id}?ticket={body['ticket']}"
    return str(body["ticket"])


async def test_ticket_stream_is_ordered_and_ends_with_completion(
    app: Any, client: Any, researcher: Any
) -> None:
    h = researcher.headers
    job = await enqueue(client, h, "system.sleep", steps=8, step_seconds=0.15, log_every=4)
    ticket = await _ticket(client, h, job["id"])
    async with AsgiWebSocket(app, f"/ws/tasks/{job['id']}", f"ticket={ticket}") as ws:
        connected = await ws.receive_json()
        assert connected["type"] == "connected" and connected["data"]["id"] == job["id"]
        messages = await ws.drain()
        assert ws.close_code == 1000
    kinds = [m["type"] for m in messages]
    assert kinds[-1] == "completion" and kinds.count("completion") == 1
    assert messages[-1]["data"]["status"] == "completed"
    assert messages[-1]["data"]["result"]["steps"] == 8
    progress = [m for m in messages if m["type"] == "progress"]
    assert len(progress) >= 2
    seqs = [m["seq"] for m in messages if "seq" in m]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    percentages = [m["data"]["percentage"] for m in progress]
    assert percentages == sorted(percentages) and percentages[-1] == 100.0
    assert {"stage", "current", "eta_seconds", "message"} <= set(progress[0]["data"])
    logs = [m["data"]["message"] for m in messages if m["type"] == "log"]
    assert logs == ["step 4 of 8", "step 8 of 8"]

    # a ticket is single use
    with pytest.raises(WsClosed) as closed:
        async with AsgiWebSocket(app, f"/ws/tasks/{job['id']}", f"ticket={ticket}") as ws:
            await ws.receive_json()
    assert closed.value.code == 4401


async def test_reconnect_mid_job_loses_nothing(app: Any, client: Any, researcher: Any) -> None:
    h = researcher.headers
    job = await enqueue(client, h, "system.sleep", steps=20, step_seconds=0.1)
    await wait_for(client, h, job["id"], "running", predicate=lambda j: j["progress"] > 0)
    ticket = await _ticket(client, h, job["id"])
    async with AsgiWebSocket(app, f"/ws/tasks/{job['id']}", f"ticket={ticket}") as ws:
        first = await ws.receive_json()
        assert first["type"] == "connected" and first["data"]["status"] == "running"
        seen = await ws.receive_json()
        assert seen["type"] == "progress"
    # the client dropped; it reconnects with a fresh ticket and still gets the final result
    ticket = await _ticket(client, h, job["id"])
    async with AsgiWebSocket(app, f"/ws/tasks/{job['id']}", f"ticket={ticket}") as ws:
        snapshot = await ws.receive_json()
        assert snapshot["type"] == "connected"
        assert snapshot["data"]["progress"] >= seen["data"]["progress"] - 0.2
        rest = await ws.drain()
    assert rest[-1]["type"] == "completion" and rest[-1]["data"]["result"]["steps"] == 20

    # after the end, a new connection gets the snapshot and the completion at once
    ticket = await _ticket(client, h, job["id"])
    async with AsgiWebSocket(app, f"/ws/tasks/{job['id']}", f"ticket={ticket}") as ws:
        late = [await ws.receive_json(), *(await ws.drain())]
    assert [m["type"] for m in late] == ["connected", "completion"]
    assert late[1]["data"]["result"]["steps"] == 20


async def test_token_subprotocol_ping_and_rejections(app: Any, client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    job = await enqueue(client, alice.headers, "system.busy", seconds=20)
    path = f"/ws/tasks/{job['id']}"
    async with AsgiWebSocket(
        app, path, subprotocols=("quantlab", f"bearer.{alice.access_token}")
    ) as ws:
        assert ws.subprotocol == "quantlab"
        assert (await ws.receive_json())["type"] == "connected"
        await ws.send_json({"type": "ping"})
        reply = await ws.receive_json()
        while reply["type"] != "pong":
            reply = await ws.receive_json()
    await client.post(f"/api/tasks/{job['id']}/cancel", headers=alice.headers)
    await wait_for(client, alice.headers, job["id"], "cancelled")

    cases: list[tuple[dict[str, Any], str, int]] = [
        (dict(subprotocols=("quantlab", f"bearer.{bob.access_token}")), path, 4404),
        (dict(subprotocols=("quantlab", "bearer.not-a-token")), path, 4401),
        ({}, path, 4401),
        (dict(query="ticket=forged"), path, 4401),
        (
            dict(subprotocols=("quantlab", f"bearer.{alice.access_token}")),
            f"/ws/tasks/{'0' * 32}",
            4404,
        ),
    ]
    for kwargs, target, code in cases:
        with pytest.raises(WsClosed) as closed:
            async with AsgiWebSocket(app, target, **kwargs) as ws:
                await ws.receive_json()
        assert closed.value.code == code, (kwargs, closed.value.reason)
        assert closed.value.reason
    # another user's job cannot get a ticket either
    resp = await client.post(f"/api/tasks/{job['id']}/ws-ticket", headers=bob.headers)
    assert resp.status_code == 404


async def test_old_tickets_are_purged(app: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from quantlab.platform.db import utcnow
    from quantlab.tasks import tickets
    from quantlab.tasks.models import WsTicket

    async with app.state.db.sessionmaker() as session:
        fresh, _ = await tickets.issue(session, "f" * 32, "someone", 60)
        session.add(
            WsTicket(token_hash="old" + "0" * 61, job_id="f" * 32, user_id="someone",
                     expires_at=utcnow() - timedelta(hours=2))
        )  # fmt: skip
        await session.commit()
    assert await tickets.purge_expired(app.state.db) >= 1
    async with app.state.db.sessionmaker() as session:
        left = set(await session.scalars(select(WsTicket.token_hash)))
    assert "old" + "0" * 61 not in left
    assert await tickets.redeem(app.state.db, fresh, "f" * 32) == "someone"
