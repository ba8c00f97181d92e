"""Helpers for dataset tests: upload files and wait for import jobs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"completed", "failed", "cancelled"}


async def wait_import(
    client: httpx.AsyncClient, headers: dict[str, str], import_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    """Poll an import until it completed, failed or was cancelled."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()["data"]
        if body["status"] in TERMINAL:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"import {import_id} still {body['status']} after {timeout}s")
        await asyncio.sleep(0.1)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    files: list[Path] | list[tuple[str, bytes]],
    *,
    name: str | None = None,
    dataset_id: str | None = None,
    options: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST /api/imports with real files (paths, or (name, bytes) pairs)."""
    parts = []
    for f in files:
        if isinstance(f, Path):
            parts.append(("files", (f.name, f.read_bytes(), "application/octet-stream")))
        else:
            parts.append(("files", (f[0], f[1], "application/octet-stream")))
    data: dict[str, str] = {}
    if name:
        data["dataset_name"] = name
    if dataset_id:
        data["dataset_id"] = dataset_id
    if options is not None:
        data["options"] = json.dumps(options)
    return await client.post("/api/imports", headers=headers, files=parts, data=data)


async def import_files(
    client: httpx.AsyncClient, headers: dict[str, str], files: Any, **kw: Any
) -> dict[str, Any]:
    """Upload and wait; returns the finished import."""
    resp = await upload(client, headers, files, **kw)
    assert resp.status_code == 202, resp.text
    return await wait_import(client, headers, resp.json()["data"]["id"])
