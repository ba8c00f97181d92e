"""The error envelope and bad-input statuses, through the real app and middleware."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from quantlab.api.app import create_app
from quantlab.platform import migrate
from quantlab.platform.envelope import Pagination, ok, page
from quantlab.platform.errors import ERROR_CATALOG, Conflict
from tests.conftest import make_settings


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    qty: int = Field(ge=0)


probe = APIRouter(prefix="/api/probe")


@probe.post("/items")
async def create_item(item: Item) -> dict[str, Any]:
    return ok(item.model_dump())


@probe.get("/items")
async def list_items(params: Pagination) -> dict[str, Any]:
    return page([], 0, params)


@probe.get("/boom")
async def boom() -> dict[str, Any]:
    raise RuntimeError("db password is hunter2")


@probe.get("/conflict")
async def conflict() -> dict[str, Any]:
    raise Conflict("name already used", details={"field": "name"})


@pytest.fixture(scope="module")
async def probe_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("probe")
    url = f"sqlite+aiosqlite:///{data / 'q.db'}"
    await migrate.upgrade_async(url)
    settings = make_settings(data, url, max_json_body_bytes=2048)
    app = create_app(settings)
    app.include_router(probe)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["correlation_id"] == resp.headers["x-correlation-id"]
    return body["error"]


async def test_success_envelope(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.post("/api/probe/items", json={"name": "a", "qty": 1})
    assert resp.json() == {"status": "success", "data": {"name": "a", "qty": 1}}
    listed = await probe_client.get("/api/probe/items", params={"page": 2, "size": 5})
    assert listed.json()["meta"] == {"total": 0, "page": 2, "size": 5}


async def test_unknown_route_and_method(probe_client: httpx.AsyncClient) -> None:
    assert_error(await probe_client.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert_error(await probe_client.delete("/api/probe/items"), 405, "METHOD_NOT_ALLOWED")


async def test_malformed_json_is_400(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.post(
        "/api/probe/items", content=b'{"name": "a",', headers={"content-type": "application/json"}
    )
    err = assert_error(resp, 400, "MALFORMED_JSON")
    assert "JSON" in err["message"]


async def test_validation_error_carries_field_paths(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.post("/api/probe/items", json={"name": "", "qty": -1})
    err = assert_error(resp, 422, "VALIDATION_ERROR")
    fields = {d["field"] for d in err["details"]}
    assert fields == {"name", "qty"}
    assert all(d["location"] == "body" for d in err["details"])


async def test_wrong_content_type_is_415(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.post(
        "/api/probe/items", content=b"name=a", headers={"content-type": "text/plain"}
    )
    assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_oversized_body_is_413_by_header(probe_client: httpx.AsyncClient) -> None:
    body = json.dumps({"name": "a", "qty": 1, "pad": "x" * 5000}).encode()
    resp = await probe_client.post(
        "/api/probe/items", content=body, headers={"content-type": "application/json"}
    )
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")


async def test_oversized_streamed_body_is_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(10):  # no Content-Length: the limit is enforced while streaming
            yield b"x" * 1000

    resp = await probe_client.post(
        "/api/probe/items", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(resp, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "params",
    [{"size": 10**9}, {"page": 0}, {"page": -5}, {"size": 0}, {"page": "x"}],
)
async def test_absurd_query_parameters_are_422(
    probe_client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    err = assert_error(
        await probe_client.get("/api/probe/items", params=params), 422, "VALIDATION_ERROR"
    )
    assert err["details"][0]["location"] == "query"


async def test_500_hides_exception_text_and_logs_correlation_id(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        resp = await probe_client.get("/api/probe/boom", headers={"X-Correlation-ID": "req-42"})
    err = assert_error(resp, 500, "INTERNAL_ERROR")
    assert "hunter2" not in resp.text and "Traceback" not in resp.text
    assert err["correlation_id"] == "req-42"
    logged = [r for r in caplog.records if "unhandled_exception" in str(r.msg)]
    assert logged, "the 500 must be logged"


async def test_domain_error_status_and_details(probe_client: httpx.AsyncClient) -> None:
    err = assert_error(await probe_client.get("/api/probe/conflict"), 409, "CONFLICT")
    assert err["details"] == {"field": "name"}


async def test_correlation_id_accepted_only_when_safe(probe_client: httpx.AsyncClient) -> None:
    good = await probe_client.get("/api/health", headers={"X-Correlation-ID": "abc-123_X.y"})
    assert good.headers["x-correlation-id"] == "abc-123_X.y"
    bad = await probe_client.get("/api/health", headers={"X-Correlation-ID": "a b<script>"})
    assert bad.headers["x-correlation-id"] != "a b<script>"
    assert len(bad.headers["x-correlation-id"]) == 32


async def test_error_code_catalog_is_served(probe_client: httpx.AsyncClient) -> None:
    resp = await probe_client.get("/api/meta/error-codes")
    codes = {e["code"]: e["status"] for e in resp.json()["data"]}
    assert codes["VALIDATION_ERROR"] == 422 and codes["NOT_FOUND"] == 404
    assert set(codes) == set(ERROR_CATALOG)
