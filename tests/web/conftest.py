"""Fixtures of the browser tests: a real `quantlab serve` per module, Debian's chromium."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from quantlab.auth.bootstrap import read_bootstrap_password
from tests.platform.test_restart import _free_port, _stop
from tests.web.browser import chromium_path, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real server on a free port with its own data dir: (base URL, admin password)."""
    data_dir = tmp_path_factory.mktemp("web-server")
    port = _free_port()
    proc = start_server(data_dir, port)
    try:
        yield f"http://127.0.0.1:{port}", read_bootstrap_password(data_dir)
    finally:
        _stop(proc, signal.SIGTERM)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield b
        b.close()
