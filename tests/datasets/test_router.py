"""Dataset CRUD, ownership and visibility through the HTTP API on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers.idor import assert_no_idor


def _name() -> str:
    return f"ds-{uuid.uuid4().hex[:10]}"


async def test_create_list_get_update(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    name = _name()
    resp = await client.post(
        "/api/datasets", headers=alice.headers, json={"name": name, "tags": ["a", "a", "b"]}
    )
    assert resp.status_code == 201, resp.text
    ds = resp.json()["data"]
    assert ds["owner_id"] == alice.id and ds["status"] == "empty" and ds["tags"] == ["a", "b"]
    listed = await client.get("/api/datasets", headers=alice.headers, params={"q": name[3:]})
    assert [d["id"] for d in listed.json()["data"]] == [ds["id"]]
    assert listed.json()["meta"]["total"] == 1
    patched = await client.patch(
        f"/api/datasets/{ds['id']}", headers=alice.headers, json={"description": "daily bars"}
    )
    assert patched.json()["data"]["description"] == "daily bars"
    got = await client.get(f"/api/datasets/{ds['id']}", headers=alice.headers)
    assert got.json()["data"]["description"] == "daily bars"


async def test_names_unique_per_owner(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    name = _name()
    assert (
        await client.post("/api/datasets", headers=alice.headers, json={"name": name})
    ).status_code == 201
    dup = await client.post("/api/datasets", headers=alice.headers, json={"name": name})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "DATASET_NAME_TAKEN"
    # another owner may use the same name
    assert (
        await client.post("/api/datasets", headers=bob.headers, json={"name": name})
    ).status_code == 201


async def test_bad_input(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 121}, {"name": "ok", "extra": 1}):
        resp = await client.post("/api/datasets", headers=alice.headers, json=body)
        assert resp.status_code == 422, (body, resp.text)
    resp = await client.get("/api/datasets", headers=alice.headers, params={"size": 10**9})
    assert resp.status_code == 422


async def test_soft_then_hard_delete(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    name = _name()
    ds = (await client.post("/api/datasets", headers=alice.headers, json={"name": name})).json()[
        "data"
    ]
    assert (
        await client.delete(f"/api/datasets/{ds['id']}", headers=alice.headers)
    ).status_code == 200
    assert (await client.get(f"/api/datasets/{ds['id']}", headers=alice.headers)).status_code == 404
    # the name is free again after a soft delete
    again = await client.post("/api/datasets", headers=alice.headers, json={"name": name})
    assert again.status_code == 201
    hard = await client.delete(
        f"/api/datasets/{ds['id']}", headers=alice.headers, params={"hard": True}
    )
    assert hard.status_code == 200


async def test_owner_scoping_and_public_read_only(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    ds = (await client.post("/api/datasets", headers=alice.headers, json={"name": _name()})).json()[
        "data"
    ]
    await assert_no_idor(
        client,
        alice.headers,
        bob.headers,
        read=f"/api/datasets/{ds['id']}",
        update=("PATCH", f"/api/datasets/{ds['id']}", {"name": "stolen"}),
        delete=f"/api/datasets/{ds['id']}",
        missing=f"/api/datasets/{'0' * 32}",
    )
    assert ds["id"] not in [
        d["id"] for d in (await client.get("/api/datasets", headers=bob.headers)).json()["data"]
    ]
    await client.patch(f"/api/datasets/{ds['id']}", headers=alice.headers, json={"is_public": True})
    seen = await client.get(f"/api/datasets/{ds['id']}", headers=bob.headers)
    assert seen.status_code == 200
    denied = await client.patch(
        f"/api/datasets/{ds['id']}", headers=bob.headers, json={"name": "x"}
    )
    assert denied.status_code == 403


async def test_viewer_cannot_write_and_anonymous_is_401(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    viewer = await make_user("viewer")
    resp = await client.post("/api/datasets", headers=viewer.headers, json={"name": _name()})
    assert resp.status_code == 403
    assert (await client.get("/api/datasets")).status_code == 401


async def test_preview_of_empty_dataset_is_409(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    ds = (await client.post("/api/datasets", headers=alice.headers, json={"name": _name()})).json()[
        "data"
    ]
    resp = await client.get(f"/api/datasets/{ds['id']}/preview", headers=alice.headers)
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "DATASET_NOT_READY"
