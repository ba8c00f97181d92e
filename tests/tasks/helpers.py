"""Helpers of the tasks tests: enqueue through the API and wait for a status."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

FINAL = {"completed", "failed", "cancelled"}


async def enqueue(
    client: httpx.AsyncClient, headers: dict[str, str], job_type: str, **params: Any
) -> dict[str, Any]:
    """POST /api/tasks and return the created job."""
    priority = params.pop("priority", 1)
    resp = await client.post(
        "/api/tasks",
        headers=headers,
        json={"type": job_type, "params": params, "priority": priority},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]  # type: ignore[no-any-return]


async def wait_for(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    job_id: str,
    statuses: set[str] | str,
    timeout: float = 40.0,
    predicate: Any = None,
) -> dict[str, Any]:
    """Poll the job until its status is in ``statuses`` (and ``predicate(job)`` holds)."""
    wanted = {statuses} if isinstance(statuses, str) else statuses
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = await client.get(f"/api/tasks/{job_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        job = resp.json()["data"]
        if job["status"] in wanted and (predicate is None or predicate(job)):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {wanted}: {job}")
