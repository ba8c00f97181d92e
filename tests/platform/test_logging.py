"""Secrets never reach the logs; every request leaves one access line."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from quantlab.platform.logging import (
    ACCESS_LOGGER,
    MASK,
    configure_logging,
    correlation_id_var,
    get_logger,
    log_access,
    mask_sensitive,
)


def test_mask_sensitive_nested() -> None:
    event = {
        "user": "ann",
        "password": "p",
        "headers": {"Authorization": "Bearer x", "accept": "json"},
        "items": [{"refresh_token": "r"}, {"api_key": "k"}],
    }
    masked = mask_sensitive(event)
    assert masked["user"] == "ann"
    assert masked["password"] == MASK
    assert masked["headers"] == {"Authorization": MASK, "accept": "json"}
    assert masked["items"] == [{"refresh_token": MASK}, {"api_key": MASK}]


class _Lines(logging.Handler):
    """Keeps the formatted lines a logger writes."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_access_line_has_the_fields_of_a_structlog_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    saved = root.handlers[:], access.handlers[:]
    configure_logging("INFO", json=True)  # its handlers write to the captured stderr
    token = correlation_id_var.set("cid-123")
    try:
        get_logger("quantlab.other").info("request", method="GET")
        log_access("GET", "/api/user/preferences", 200, 1.25, "127.0.0.1")
    finally:
        correlation_id_var.reset(token)
        root.handlers[:], access.handlers[:] = saved
    reference, line = (json.loads(s) for s in capsys.readouterr().err.splitlines()[-2:])
    assert line == {
        "method": "GET",
        "path": "/api/user/preferences",
        "status": 200,
        "latency_ms": 1.25,
        "client": "127.0.0.1",
        "event": "request",
        "level": "info",
        "logger": ACCESS_LOGGER,
        "timestamp": line["timestamp"],
        "correlation_id": "cid-123",
    }
    assert set(reference) - {"method"} <= set(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["timestamp"])
    assert len(line["timestamp"]) == len(reference["timestamp"])


async def test_every_response_is_access_logged_with_its_correlation_id(
    client: httpx.AsyncClient, auth_headers: dict[str, str]
) -> None:
    lines = _Lines()
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(lines)
    access.setLevel(logging.INFO)  # the test settings log warnings only
    try:
        ok = await client.get("/api/user/preferences", headers=auth_headers)
        denied = await client.get("/api/user/preferences", headers={"x-correlation-id": "mine-1"})
    finally:
        access.removeHandler(lines)
        access.setLevel(logging.NOTSET)
    assert ok.status_code == 200 and denied.status_code == 401
    first, second = (json.loads(s) for s in lines.lines)
    assert (first["method"], first["path"], first["status"]) == (
        "GET",
        "/api/user/preferences",
        200,
    )
    assert first["correlation_id"] == ok.headers["x-correlation-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first["correlation_id"])
    assert first["latency_ms"] >= 0
    assert (second["status"], second["correlation_id"]) == (401, "mine-1")
    assert denied.headers["x-correlation-id"] == "mine-1"
