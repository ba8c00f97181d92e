"""OPTIONS is answered on every route, and a 405 lists every method of the path."""

from __future__ import annotations

from typing import Any


async def test_options_lists_every_method_of_a_path_served_by_several_routes(
    client: Any,
) -> None:
    # GET, PATCH and DELETE of one dataset are three routes; all three are allowed.
    resp = await client.options("/api/datasets/0123456789abcdef0123456789abcdef")
    assert resp.status_code == 204 and resp.content == b""
    assert resp.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    resp = await client.options("/api/datasets")
    assert resp.status_code == 204 and resp.headers["allow"] == "GET, OPTIONS, POST"


async def test_an_unsupported_method_is_405_with_the_complete_allow_header(
    client: Any, auth_headers: dict[str, str]
) -> None:
    resp = await client.put("/api/datasets/0123456789abcdef0123456789abcdef", headers=auth_headers)
    assert resp.status_code == 405
    assert resp.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert resp.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    resp = await client.post("/api/health")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, OPTIONS"


async def test_options_of_an_unknown_path_is_404(client: Any) -> None:
    resp = await client.options("/api/no-such-thing")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "NOT_FOUND"
