"""429 answers are retried after the server's Retry-After, on a server whose default rate
limit is 4 requests a second per user."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from quantlab.client import Client, QuantlabAPIError
from quantlab.client.calls import retry_delay
from tests.client.conftest import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = LiveServer(
        tmp_path_factory.mktemp("client-tight"),
        None,
        QUANTLAB_RATE_LIMITS='{"default": "4/second", "login": "1000/minute"}',
        QUANTLAB_SEED_DEMO="false",
    )
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def test_429_is_retried_after_retry_after(tight: LiveServer, tmp_path: Path) -> None:
    statuses: list[tuple[int, str | None]] = []

    def record(response: httpx.Response) -> None:
        statuses.append((response.status_code, response.headers.get("retry-after")))

    with Client(tight.url, username="admin", password=tight.password) as client:
        client._http.event_hooks["response"].append(record)
        started = time.monotonic()
        for _ in range(12):
            assert client.me()["username"] == "admin"
        elapsed = time.monotonic() - started
    limited = [s for s in statuses if s[0] == 429]
    assert limited, "the limit of 4/second was never reached"
    assert all(after is not None and float(after) >= 0 for _, after in limited)
    assert elapsed >= 1.0  # 12 calls at 4 a second need at least two further windows

    with Client(tight.url, username="admin", password=tight.password, max_retries=0) as client:
        with pytest.raises(QuantlabAPIError) as info:
            for _ in range(12):
                client.me()
    assert info.value.status == 429 and info.value.code


def test_retry_delay_honours_retry_after_and_backs_off() -> None:
    assert retry_delay(429, {"retry-after": "3"}, 0, 60.0) == 3.0
    assert retry_delay(503, {"retry-after": "120"}, 0, 60.0) == 60.0  # capped
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 5))
    assert 3.0 <= retry_delay(503, {"retry-after": http_date}, 0, 60.0) <= 5.0
    assert 0.5 <= retry_delay(503, {}, 0, 60.0) <= 0.625
    assert 4.0 <= retry_delay(503, {}, 3, 60.0) <= 5.0
