"""Hostile input on every route, on SQLite and PostgreSQL: JSON nested too deep and NUL
characters anywhere are refused with a clear 4xx before anything is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quantlab.platform.input_guard import JsonTooDeep, check_json


def _nested(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"deep": value}


def test_depth_scan_by_hand() -> None:
    check_json(b'{"a": [[1]], "s": "[[[[[[[[[[[["}', 4)  # brackets inside strings do not count
    check_json(json.dumps(_nested(4)).encode(), 4)
    with pytest.raises(JsonTooDeep):
        check_json(json.dumps(_nested(5)).encode(), 4)
    check_json(b'{"a": "\\\\u0000"}', 4)  # an escaped backslash then "u0000": no NUL
    with pytest.raises(Exception, match="NUL"):
        check_json(b'{"a": "x\\u0000y"}', 4)


@pytest.mark.parametrize("depth", [254, 998])
async def test_deep_json_is_refused_before_it_is_stored(
    client: Any, researcher: Any, depth: int
) -> None:
    h = researcher.headers
    before = await client.get("/api/charts/configs", headers=h)
    assert before.status_code == 200
    deep = "[" * (depth - 1) + "1" + "]" * (depth - 1)  # too deep for json.dumps
    for url, payload in [
        ("/api/charts/configs", '{"name": "deep", "config": {"deep": ' + deep + "}}"),
        ("/api/tasks", '{"type": "system.noop", "params": {"value": ' + deep + "}}"),
        (
            "/api/tasks/schedules",
            '{"name": "d", "job_type": "system.noop", "params": {"value": '
            + deep
            + '}, "cron": "0 1 * * *"}',
        ),
    ]:
        resp = await client.post(
            url, headers={**h, "Content-Type": "application/json"}, content=payload
        )
        assert resp.status_code == 400, (url, resp.text)
        err = resp.json()["error"]
        assert err["code"] == "JSON_TOO_DEEP" and err["details"]["max_depth"] == 64
    after = await client.get("/api/charts/configs", headers=h)
    assert after.status_code == 200
    assert after.json()["meta"]["total"] == before.json()["meta"]["total"]
    fine = await client.post(
        "/api/charts/configs", headers=h, json={"name": "ok", "config": _nested(60)}
    )
    assert fine.status_code == 201, fine.text


async def test_nul_characters_are_refused_everywhere(client: Any, researcher: Any) -> None:
    h = researcher.headers
    cases = [
        ("POST", "/api/auth/token", {"data": {"username": "pg\x00user", "password": "x"}}),
        ("POST", "/api/charts/configs", {"json": {"name": "a\x00b", "config": {}}}),
        ("POST", "/api/charts/configs", {"json": {"name": "ok", "config": {"k\x00": 1}}}),
        ("POST", "/api/tasks", {"json": {"type": "system.noop", "params": {"value": "\x00"}}}),
        ("GET", "/api/tasks?type=a%00b", {}),
        ("GET", "/api/datasets/abc%00def", {}),
        ("GET", "/api/tasks/%00", {}),
        (
            "POST",
            "/api/imports",
            {
                "data": {"dataset_name": "x\x00y"},
                "files": [("files", ("a.csv", b"date,symbol,close\n", "text/csv"))],
            },
        ),
    ]
    for method, url, kwargs in cases:
        resp = await client.request(method, url, headers=h, **kwargs)
        assert resp.status_code == 422, (method, url, resp.status_code, resp.text)
        err = resp.json()["error"]
        assert err["code"] == "VALIDATION_ERROR" and "NUL" in err["message"], err
    # the raw form of the sign-in case, exactly as a client would send it
    raw = await client.post(
        "/api/auth/token",
        content=b"username=pg%00user&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert raw.status_code == 422, raw.text
    imports = await client.get("/api/imports", headers=h)
    assert imports.json()["meta"]["total"] == 0  # the refused upload stored nothing
    # file contents may hold any bytes: only text fields and part headers are checked
    binary = b"date,symbol,close\n2024-01-02,600000,10\n2024-01-03,600000,1\x001\n"
    inspected = await client.post(
        "/api/imports/inspect", headers=h, files={"file": ("nul.csv", binary, "text/csv")}
    )
    assert "NUL characters" not in inspected.text, inspected.text
