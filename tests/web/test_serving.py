"""The prebuilt workbench is served at ``/``: hashed assets cached for a year, the shell
revalidated, deep links answered by the SPA fallback, and nothing of the API shadowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quantlab.webui import DIST_DIR
from quantlab.webui.serve import IMMUTABLE, WebUI

INDEX = (DIST_DIR / "index.html").read_text(encoding="utf-8")
ENTRY = re.search(r'src="(/assets/[^"]+\.js)"', INDEX)


def test_the_committed_build_is_complete() -> None:
    assert ENTRY is not None, "index.html names no entry script"
    for ref in re.findall(r'(?:src|href)="(/[^"]+)"', INDEX):
        assert (DIST_DIR / ref.lstrip("/")).is_file(), f"index.html references missing {ref}"
    # hashed names: every asset carries a content hash, so caching it forever is safe
    names = [p.name for p in (DIST_DIR / "assets").iterdir()]
    assert names and all(re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", n) for n in names), names


async def test_root_and_deep_links_get_the_shell_revalidated(client) -> None:
    for path in ("/", "/datasets/abc/chart", "/backtests/new", "/welcome"):
        resp = await client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("text/html")
        assert resp.headers["cache-control"] == "no-cache"
        assert '<div id="root"></div>' in resp.text


async def test_hashed_assets_are_immutable_for_a_year(client) -> None:
    assert ENTRY is not None
    resp = await client.get(ENTRY.group(1))
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "javascript" in resp.headers["content-type"]
    head = await client.head(ENTRY.group(1))
    assert head.status_code == 200 and head.headers["cache-control"] == IMMUTABLE


async def test_unhashed_root_files_are_revalidated(client) -> None:
    resp = await client.get("/favicon.svg")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.text.startswith("<svg")


async def test_a_missing_asset_is_a_404_not_the_shell(client) -> None:
    resp = await client.get("/assets/index-00000000.js")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "path",
    ["/api/no-such-thing", "/api", "/ws/nothing", "/docs/nothing", "/redoc/x", "/openapi.json/x"],
)
async def test_the_fallback_never_shadows_the_api(client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 404
    body = resp.json()
    assert body["status"] == "error" and body["error"]["code"] == "NOT_FOUND"
    assert path in body["error"]["message"]


async def test_api_docs_and_schema_still_answer(client) -> None:
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "quantlab"
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    health = await client.get("/api/health")
    assert health.json()["data"]["status"] == "ok"


async def test_methods_keep_their_meaning(client) -> None:
    # a known API path under another method stays 405, not the SPA
    resp = await client.delete("/api/health")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    # the SPA only answers GET/HEAD
    post = await client.post("/datasets")
    assert post.status_code == 405
    assert post.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_unknown_websocket_paths_are_refused() -> None:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await WebUI(DIST_DIR)({"type": "websocket", "path": "/ws/unknown"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


def test_paths_outside_the_build_are_never_served(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html></html>")
    (tmp_path / "secret.txt").write_text("no")
    ui = WebUI(dist)
    assert ui._file("/../secret.txt") is None
    assert ui._file("/assets/../../secret.txt") is None
    assert ui._file("/index.html") == (dist / "index.html").resolve()


async def test_a_missing_build_says_how_to_make_it(tmp_path: Path) -> None:
    from fastapi import FastAPI
    from httpx import ASGITransport, AsyncClient

    from quantlab.platform.handlers import install_error_handlers
    from quantlab.webui import mount_webui

    app = FastAPI()
    install_error_handlers(app)
    mount_webui(app, tmp_path / "nothing")
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
        resp = await c.get("/")
    assert resp.status_code == 404
    assert "make web" in resp.json()["error"]["message"]
