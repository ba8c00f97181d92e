"""A real ``quantlab serve`` process under hostile clients and hard stops: a stalled body
gets 408, a 500 keeps the connection usable, a huge inspection does not stall the server,
``kill -9`` lets a checkpointed job resume, pool workers die with their server, and an
import cut off mid-way leaves no ``importing`` dataset and no temporary file behind."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest

from quantlab.auth.bootstrap import read_bootstrap_password
from tests.platform.test_restart import _free_port, _sign_in, _start, _stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _raw_exchange(sock: socket.socket, request: bytes, timeout: float) -> bytes:
    """Send ``request`` and read one whole response (headers + Content-Length body)."""
    sock.settimeout(timeout)
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _get(path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()


def test_stalled_body_error_connection_and_wide_inspection(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port, QUANTLAB_BODY_READ_TIMEOUT_SECONDS="2")
    try:
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        token = headers["Authorization"].split()[1]

        # a body declared as 9 MiB of which 8 bytes arrive: 408 after the timeout
        with socket.create_connection(("127.0.0.1", port)) as sock:
            started = time.monotonic()
            head = (
                "POST /api/charts/configs HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {9 * 1024 * 1024}\r\n\r\n"
            )
            reply = _raw_exchange(sock, head.encode() + b'{"name":', 30)
            assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
            assert b"REQUEST_TIMEOUT" in reply
            assert time.monotonic() - started < 20

        # a 500 (a table gone under the server) keeps the kept-alive connection usable
        with sqlite3.connect(tmp_path / "quantlab.db") as db:
            db.execute("DROP TABLE chart_configs")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            reply = _raw_exchange(sock, _get("/api/charts/configs", token), 30)
            assert reply.startswith(b"HTTP/1.1 500"), reply[:300]
            assert b"INTERNAL_ERROR" in reply and b"chart_configs" not in reply
            assert b"connection: close" not in reply.lower()
            again = _raw_exchange(sock, _get("/api/health"), 30)  # same socket
            assert again.startswith(b"HTTP/1.1 200"), again[:200]

        # 50,000 columns: refused quickly, and the server keeps answering meanwhile
        header = ",".join(f"c{i}" for i in range(50_000))
        row = ",".join("1" for _ in range(50_000))
        wide = f"{header}\n{row}\n{row}\n".encode()
        result: dict[str, Any] = {}

        def inspect() -> None:
            result["resp"] = httpx.post(
                f"{base}/api/imports/inspect",
                files={"file": ("wide.csv", wide, "text/csv")},
                headers=headers,
                timeout=120,
            )

        worker = threading.Thread(target=inspect)
        worker.start()
        slowest = 0.0
        while worker.is_alive():
            t0 = time.monotonic()
            assert httpx.get(f"{base}/api/health", timeout=30).status_code == 200
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.05)
        worker.join()
        resp = result["resp"]
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"]["max_columns"] == 5000
        assert slowest < 5.0, f"/api/health took {slowest:.1f} s during the inspection"
    finally:
        if proc.poll() is None:
            _stop(proc, signal.SIGTERM)


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_job(
    base: str, headers: dict[str, str], job_id: str, ok: Any, timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        resp = httpx.get(f"{base}/api/tasks/{job_id}", headers=headers, timeout=30)
        job = resp.json()["data"]
        if ok(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job never reached the expected state: {job}")


def test_kill_9_resumes_checkpointed_job_and_workers_die(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port, QUANTLAB_JOB_WORKERS="2")
    try:
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        created = httpx.post(
            f"{base}/api/tasks",
            json={"type": "system.sleep", "params": {"steps": 120, "step_seconds": 0.1}},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["data"]["id"]
        _wait_job(base, headers, job_id, lambda j: j["has_checkpoint"] and j["progress"] > 0)
        workers = [p for p in _children(proc.pid) if "python" in p.name().lower()]
        assert workers, "the server has no worker processes"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed = time.monotonic()
        while _alive(workers) and time.monotonic() - killed < 5:
            time.sleep(0.02)
        assert not _alive(workers), f"workers outlived the server: {_alive(workers)}"
        assert time.monotonic() - killed < 1.5

        proc = _start(tmp_path, port, QUANTLAB_JOB_WORKERS="2")
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        done = _wait_job(base, headers, job_id, lambda j: j["status"] in ("completed", "failed"))
        assert done["status"] == "completed", done["error"]
        assert done["result"]["attempt"] == 2 and done["result"]["resumed_from"] > 0
    finally:
        if proc.poll() is None:
            _stop(proc, signal.SIGTERM)


def test_import_cut_off_by_kill_9_leaves_nothing_behind(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port)
    try:
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        dates = pd.bdate_range("2015-01-01", periods=1500).strftime("%Y-%m-%d")
        rng = np.random.default_rng(3)
        frame = pd.DataFrame(
            {
                "date": np.tile(dates, 300),
                "symbol": np.repeat([f"{600000 + i}" for i in range(300)], len(dates)),
                "close": rng.uniform(5, 50, 300 * len(dates)).round(2),
                "volume": rng.integers(1, 10**6, 300 * len(dates)),
            }
        )
        csv = frame.to_csv(index=False).encode()
        resp = httpx.post(
            f"{base}/api/imports",
            files={"files": ("big.csv", csv, "text/csv")},
            headers=headers,
            timeout=120,
        )
        assert resp.status_code == 202, resp.text
        record = resp.json()["data"]
        running = _wait_job(
            base, headers, record["job_id"], lambda j: j["status"] != "pending", timeout=120
        )
        assert running["status"] == "running", running
        time.sleep(0.5)  # well into reading, validating or writing
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

        proc = _start(tmp_path, port)
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        job = _wait_job(base, headers, record["job_id"], lambda j: j["status"] != "running")
        dataset = httpx.get(
            f"{base}/api/datasets/{record['dataset_id']}", headers=headers, timeout=30
        ).json()["data"]
        if job["status"] == "completed":  # it beat the kill: then it must be whole
            assert dataset["status"] == "ready" and dataset["latest_version"] == 1
        else:
            assert job["error"]["code"] == "JOB_INTERRUPTED", job
            assert dataset["status"] == "failed" and dataset["latest_version"] == 0
        assert list(tmp_path.rglob("*.tmp")) == []
        assert not (tmp_path / "uploads" / record["id"]).exists()
        versions = tmp_path / "datasets" / record["dataset_id"]
        folders = [p for p in versions.iterdir()] if versions.exists() else []
        assert len(folders) == dataset["latest_version"], folders
    finally:
        if proc.poll() is None:
            _stop(proc, signal.SIGTERM)
