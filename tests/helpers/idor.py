"""IDOR checks usable by every domain's tests.

``assert_no_idor`` proves, for any owned resource, that a second signed-in user can neither
read, change nor delete the first user's resource: each attempt is a 404 that looks exactly
like the 404 for an id that does not exist, and the owner's resource is unchanged after.

``assert_user_scoped`` does the same for "my own" routes without an id in the path (e.g.
``/api/user/preferences``): another user's writes never reach the owner's data, and a
``user_id`` smuggled in the query or body is ignored.

Example::

    await assert_no_idor(
        client, alice.headers, bob.headers,
        read=f"/api/strategies/{sid}",
        update=("PATCH", f"/api/strategies/{sid}", {"name": "stolen"}),
        delete=f"/api/strategies/{sid}",
        missing=f"/api/strategies/{'0' * 32}",
    )
"""

from __future__ import annotations

from typing import Any

import httpx

Write = tuple[str, str, Any]  # (method, url, json body)


def _strip_volatile(body: Any) -> Any:
    return body.get("data") if isinstance(body, dict) else body


async def _request(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    if body is None:
        return await client.request(method, url, headers=headers)
    return await client.request(method, url, headers=headers, json=body)


def _assert_hidden(resp: httpx.Response, what: str, missing_code: str | None) -> None:
    assert resp.status_code == 404, f"{what}: expected 404, got {resp.status_code} {resp.text}"
    body = resp.json()
    assert body["status"] == "error", body
    if missing_code is not None:
        assert body["error"]["code"] == missing_code, (
            f"{what}: 404 code {body['error']['code']} differs from a missing id's "
            f"{missing_code}, which lets ids be probed"
        )


async def assert_no_idor(
    client: httpx.AsyncClient,
    owner_headers: dict[str, str],
    intruder_headers: dict[str, str],
    *,
    read: str,
    update: Write | None = None,
    delete: str | None = None,
    missing: str | None = None,
) -> None:
    """The intruder gets 404 on read, update and delete; the owner's resource is intact."""
    before = await client.get(read, headers=owner_headers)
    assert before.status_code == 200, f"owner cannot read {read}: {before.text}"
    missing_code = None
    if missing is not None:
        gone = await client.get(missing, headers=owner_headers)
        assert gone.status_code == 404, f"{missing} should not exist: {gone.text}"
        missing_code = gone.json()["error"]["code"]
    _assert_hidden(await client.get(read, headers=intruder_headers), f"GET {read}", missing_code)
    if update is not None:
        method, url, body = update
        resp = await _request(client, method, url, intruder_headers, body)
        _assert_hidden(resp, f"{method} {url}", missing_code)
    if delete is not None:
        resp = await client.delete(delete, headers=intruder_headers)
        _assert_hidden(resp, f"DELETE {delete}", missing_code)
    after = await client.get(read, headers=owner_headers)
    assert after.status_code == 200, f"owner lost {read}: {after.text}"
    assert _strip_volatile(after.json()) == _strip_volatile(before.json()), (
        "the intruder's requests changed the owner's resource"
    )


async def assert_user_scoped(
    client: httpx.AsyncClient,
    owner: Any,
    intruder: Any,
    *,
    read: str,
    writes: list[Write],
) -> None:
    """``owner``/``intruder`` have ``.id`` and ``.headers``. The intruder's writes (also
    with the owner's id smuggled in query and body) never change what the owner reads."""
    before = await client.get(read, headers=owner.headers)
    assert before.status_code == 200, before.text
    for method, url, body in writes:
        sep = "&" if "?" in url else "?"
        smuggled = f"{url}{sep}user_id={owner.id}"
        payload = {**body, "user_id": owner.id} if isinstance(body, dict) else body
        for target, data in ((url, body), (smuggled, body), (smuggled, payload)):
            resp = await _request(client, method, target, intruder.headers, data)
            assert resp.status_code in (200, 201, 204, 404, 422), resp.text
    own = await client.get(read, headers=intruder.headers)
    peek = await client.get(f"{read}?user_id={owner.id}", headers=intruder.headers)
    assert peek.status_code == own.status_code == 200, peek.text
    assert _strip_volatile(peek.json()) == _strip_volatile(own.json()), (
        "reading with ?user_id= returned someone else's data"
    )
    after = await client.get(read, headers=owner.headers)
    assert _strip_volatile(after.json()) == _strip_volatile(before.json()), (
        "another user's requests changed the owner's data"
    )


async def _count(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    resp = await client.get(url, headers=headers)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["meta"]["total"])


async def assert_no_idor_through_jobs(
    client: httpx.AsyncClient,
    owner_headers: dict[str, str],
    intruder_headers: dict[str, str],
    *,
    read: str,
    job_type: str,
    params: dict[str, Any],
    missing_params: dict[str, Any],
) -> None:
    """The generic job routes cannot reach the owner's object either: the intruder's
    ``POST /api/tasks`` and ``POST /api/tasks/schedules`` naming it (``params``) answer the
    404 of an id that does not exist (``missing_params``), store no job or schedule, and
    leave the owner's object as it was."""
    before = await client.get(read, headers=owner_headers)
    assert before.status_code == 200, f"owner cannot read {read}: {before.text}"
    jobs = await _count(client, "/api/tasks", intruder_headers)
    scheds = await _count(client, "/api/tasks/schedules", intruder_headers)
    schedule = {"name": "idor", "job_type": job_type, "cron": "* * * * *"}
    for url, key, body in (
        ("/api/tasks", "params", {"type": job_type}),
        ("/api/tasks/schedules", "params", schedule),
    ):
        gone = await client.post(url, headers=intruder_headers, json={**body, key: missing_params})
        assert gone.status_code == 404, f"{url} with a missing id: {gone.status_code} {gone.text}"
        resp = await client.post(url, headers=intruder_headers, json={**body, key: params})
        _assert_hidden(resp, f"POST {url} ({job_type})", gone.json()["error"]["code"])
    assert await _count(client, "/api/tasks", intruder_headers) == jobs
    assert await _count(client, "/api/tasks/schedules", intruder_headers) == scheds
    after = await client.get(read, headers=owner_headers)
    assert _strip_volatile(after.json()) == _strip_volatile(before.json()), (
        "the intruder's job requests changed the owner's resource"
    )


async def assert_internal_job_type(
    client: httpx.AsyncClient, headers: dict[str, str], job_type: str, params: dict[str, Any]
) -> None:
    """An internal type is refused by the generic job and schedule routes (422
    ``JOB_TYPE_INTERNAL``) and nothing is stored."""
    jobs = await _count(client, "/api/tasks", headers)
    scheds = await _count(client, "/api/tasks/schedules", headers)
    for url, body in (
        ("/api/tasks", {"type": job_type, "params": params}),
        (
            "/api/tasks/schedules",
            {"name": "x", "job_type": job_type, "params": params, "cron": "* * * * *"},
        ),
    ):
        resp = await client.post(url, headers=headers, json=body)
        assert resp.status_code == 422, f"{url} accepted internal {job_type}: {resp.text}"
        assert resp.json()["error"]["code"] == "JOB_TYPE_INTERNAL", resp.text
    assert await _count(client, "/api/tasks", headers) == jobs
    assert await _count(client, "/api/tasks/schedules", headers) == scheds
