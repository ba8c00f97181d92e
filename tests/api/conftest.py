"""A real quantlab server (``quantlab serve`` in a subprocess) for whole-API tests.

The server runs on SQLite in a temporary data directory with the synthetic demo dataset.
Two researchers sign in: ``owner`` owns a dataset, a factor, a chart configuration, an
annotation and a preprocessing template; ``other`` owns nothing. Each is used through a
personal access token, so a fuzzed ``POST /api/auth/logout {"everywhere": true}`` cannot
sign the fuzzer out half-way.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_PASSWORD

QUANTLAB = Path(sys.executable).with_name("quantlab")


@dataclass
class Account:
    """A signed-in researcher and the objects they own (by path parameter name)."""

    username: str
    headers: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveServer:
    base_url: str
    owner: Account
    other: Account


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTLAB_")}
    env.update(
        QUANTLAB_ENV="test",
        QUANTLAB_DATA_DIR=str(data_dir),
        QUANTLAB_DATABASE_URL=f"sqlite:///{data_dir / 'quantlab.db'}",
        QUANTLAB_PORT=str(port),
        QUANTLAB_LOG_LEVEL="ERROR",
        QUANTLAB_SEED_DEMO="true",
        # The fuzzer sends thousands of requests and hundreds of failed sign-ins from one
        # address; limits and sign-in delays would turn the run into a test of them.
        QUANTLAB_RATE_LIMIT_ENABLED="false",
        QUANTLAB_LOGIN_FREE_ATTEMPTS_ADDRESS="10000",
        QUANTLAB_LOGIN_FREE_ATTEMPTS_ACCOUNT="100",
        QUANTLAB_SANDBOX_PREWARM="false",
        QUANTLAB_SANDBOX_POOL_SIZE="1",
        QUANTLAB_JOB_MAX_RUNNING="1",
        QUANTLAB_JOB_MAX_RUNNING_PER_USER="1",
    )
    return env


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    subprocess.run(
        [str(QUANTLAB), *args],
        env=env,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _account(client: httpx.Client, env: dict[str, str], username: str) -> Account:
    _run(
        ["user", "create", username, "--role", "researcher", "--password-stdin"],
        env,
        stdin=TEST_PASSWORD + "\n",
    )
    token = client.post("/api/auth/token", data={"username": username, "password": TEST_PASSWORD})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    pat = client.post("/api/auth/tokens", json={"name": "fuzz"}, headers=bearer)
    assert pat.status_code == 201, pat.text
    return Account(username, {"Authorization": f"Bearer {pat.json()['data']['token']}"})


def _created(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code in (200, 201, 202), resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def _wait_job(client: httpx.Client, headers: dict[str, str], job_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/tasks/{job_id}", headers=headers).json()["data"]["status"]
        if status in ("completed", "failed", "cancelled"):
            assert status == "completed", f"job {job_id} {status}"
            return
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def _seed_owner(client: httpx.Client, owner: Account) -> None:
    """A small dataset (3 symbols × 30 days), a factor, chart items, a template."""
    h = owner.headers
    lines = ["date,symbol,open,high,low,close,volume"]
    for s, symbol in enumerate(("600000", "600001", "600002")):
        for d in range(30):
            price = 10 + s + d * 0.1
            day = f"2024-01-{d + 1:02d}" if d < 31 else ""
            lines.append(f"{day},{symbol},{price},{price + 0.2},{price - 0.2},{price + 0.1},1000")
    files = {"files": ("prices.csv", io.BytesIO("\n".join(lines).encode()), "text/csv")}
    imp = _created(
        client.post("/api/imports", files=files, data={"dataset_name": "fuzz"}, headers=h)
    )
    _wait_job(client, h, imp["job_id"])
    dataset_id = client.get(f"/api/imports/{imp['id']}", headers=h).json()["data"]["dataset_id"]
    factor = _created(
        client.post(
            "/api/factors",
            json={"name": "fuzz_mom", "expression": "$close/Ref($close,5)-1"},
            headers=h,
        )
    )
    config = _created(
        client.post("/api/charts/configs", json={"name": "c", "config": {}}, headers=h)
    )
    note = _created(
        client.post(
            "/api/charts/annotations",
            json={"dataset_id": dataset_id, "symbol": "600000", "date": "2024-01-05", "text": "x"},
            headers=h,
        )
    )
    template = _created(
        client.post(
            "/api/preprocessing/templates",
            json={
                "name": "t",
                "pipeline": [{"op": "fill_missing", "method": "ffill", "columns": ["close"]}],
            },
            headers=h,
        )
    )
    evaluation = _created(
        client.post(
            "/api/factors/evaluate",
            json={"dataset_id": dataset_id, "factor_id": factor["id"], "horizons": [1]},
            headers=h,
        )
    )
    _wait_job(client, h, evaluation["job_id"])
    owner.objects.update(
        dataset_id=dataset_id,
        import_id=imp["id"],
        factor_id=factor["id"],
        evaluation_id=evaluation["id"],
        job_id=evaluation["job_id"],
        template_id=template["id"],
        config_id=config["id"],
        annotation_id=note["id"],
        name="MACD",
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``quantlab serve`` on a free port with two signed-in researchers."""
    data_dir = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = _server_env(data_dir, port)
    _run(["db", "upgrade"], env)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(QUANTLAB), "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            deadline = time.monotonic() + 300  # a busy 2-core machine starts slowly
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((data_dir / "server.log").read_text()[-3000:])
                time.sleep(0.2)
            owner = _account(client, env, "fuzz-owner")
            other = _account(client, env, "fuzz-other")
            _seed_owner(client, owner)
        yield LiveServer(base_url, owner, other)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
