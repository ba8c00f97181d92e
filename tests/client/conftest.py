"""Real ``quantlab serve`` subprocesses for the client tests: one per database backend (SQLite
always, PostgreSQL when it answers), each on a free port with a temporary data directory,
the demo dataset seeded and a 1 MB upload limit (so a 413 is easy to provoke)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_URL, REALDATA, service_missing

QUANTLAB = Path(sys.executable).with_name("quantlab")
MAX_UPLOAD_BYTES = 1_000_000
START_TIMEOUT_S = 300  # start-up took over 120 s on the shared, overloaded test machine
QBOT = REALDATA / "cn" / "qbot_tushare_qfq_2010_2020"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A ``quantlab serve --workers 1`` process that can be stopped and started again."""

    def __init__(self, data_dir: Path, database_url: str | None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "QUANTLAB_DATA_DIR": str(data_dir),
            "QUANTLAB_PORT": str(self.port),
            "QUANTLAB_HOST": "127.0.0.1",
            "QUANTLAB_ENV": "development",
            "QUANTLAB_LOG_LEVEL": "WARNING",
            "QUANTLAB_SEED_DEMO": "true",
            "QUANTLAB_SANDBOX_PREWARM": "false",
            "QUANTLAB_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
            # every test signs in afresh from 127.0.0.1; the default 10/minute would throttle
            "QUANTLAB_RATE_LIMITS": '{"login": "1000/minute"}',
            **env,
        }
        for name in ("QUANTLAB_REDIS_URL", "QUANTLAB_SECRET_KEY", "QUANTLAB_DATABASE_URL"):
            self.env.pop(name, None)
        if database_url:
            self.env["QUANTLAB_DATABASE_URL"] = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.password = ""

    def start(self) -> None:
        log = open(self.data_dir / f"server-{time.monotonic_ns()}.log", "wb")
        self.proc = subprocess.Popen(
            [str(QUANTLAB), "serve", "--workers", "1"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            start_new_session=True,  # its own process group: stop() reaps the job workers too
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {log.name}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            self._kill_group()
            raise AssertionError(f"server did not answer within {START_TIMEOUT_S} s")
        from quantlab.auth.bootstrap import read_bootstrap_password

        self.password = read_bootstrap_password(self.data_dir)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        self._kill_group()

    def _kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def demo_dataset_id(self) -> str:
        """The seeded demo dataset (installed just after start-up)."""
        from quantlab.client import Client

        deadline = time.monotonic() + 60
        with Client(self.url, username="admin", password=self.password) as client:
            while time.monotonic() < deadline:
                found = [d for d in client.list_datasets() if d.source == "demo"]
                if found and found[0].status == "ready":
                    return found[0].id
                time.sleep(0.5)
        raise AssertionError("the demo dataset was not installed")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


_SERVERS: dict[str, LiveServer] = {}


@pytest.fixture(scope="session")
def _server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    made: list[str] = []

    def get(backend: str) -> LiveServer:
        if backend in _SERVERS:
            return _SERVERS[backend]
        database_url = None
        if backend == "postgres":
            name = f"quantlab_client_{uuid.uuid4().hex[:12]}"
            try:
                asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            except Exception as exc:
                service_missing("PostgreSQL", f"{POSTGRES_URL}: {exc}")
            made.append(name)
            database_url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
        server = LiveServer(tmp_path_factory.mktemp(f"client-{backend}"), database_url)
        server.start()
        _SERVERS[backend] = server
        return server

    yield {"get": get}
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()
    for name in made:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live(request: pytest.FixtureRequest, _server_pool: dict[str, Any]) -> LiveServer:
    """A running server of each database backend in turn."""
    server: LiveServer = _server_pool["get"](request.param)
    return server


@pytest.fixture(scope="session")
def sqlite_live(_server_pool: dict[str, Any]) -> LiveServer:
    """The SQLite server (for tests that need one backend only, or restart it)."""
    server: LiveServer = _server_pool["get"]("sqlite")
    return server


@pytest.fixture(scope="session")
def qbot() -> Path:
    """Real A-share daily bars (Tushare layout) from ../shared/realdata."""
    if not (QBOT / "000001.SZ.csv").exists():
        pytest.skip(f"real market data not found at {QBOT}")
    return QBOT


def dual_ma_spec(dataset_id: str, universe: Any, start: str) -> dict[str, Any]:
    """A dual moving-average (5/20) signals request."""
    return {
        "name": "client dual ma",
        "dataset_id": dataset_id,
        "universe": universe,
        "start": start,
        "strategy": {
            "kind": "signals",
            "entry": "Cross(Mean($close, 5), Mean($close, 20))",
            "exit": "CrossDown(Mean($close, 5), Mean($close, 20))",
            "sizing": {"mode": "fixed_fraction", "fraction": 0.2},
            "max_holdings": 4,
        },
    }
