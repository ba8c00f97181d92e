"""Preferences survive real server restarts: ``quantlab serve`` as a subprocess on a SQLite
file, stopped with SIGTERM once and killed with SIGKILL once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantlab.auth.bootstrap import read_bootstrap_password

pytestmark = pytest.mark.slow

QUANTLAB = Path(sys.executable).with_name("quantlab")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_PORT": str(port),
        "QUANTLAB_HOST": "127.0.0.1",
        "QUANTLAB_ENV": "development",
        "QUANTLAB_LOG_LEVEL": "WARNING",
        "QUANTLAB_SEED_DEMO": "false",
        "QUANTLAB_SANDBOX_PREWARM": "false",
        **extra,
    }
    for name in ("QUANTLAB_DATABASE_URL", "QUANTLAB_REDIS_URL", "QUANTLAB_SECRET_KEY"):
        env.pop(name, None)
    log = open(data_dir / f"server-{port}-{time.monotonic_ns()}.log", "wb")
    proc = subprocess.Popen(
        [str(QUANTLAB), "serve", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("server did not answer within 90 s")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("server ignored the signal") from None


def _sign_in(base: str, password: str) -> dict[str, str]:
    resp = httpx.post(
        f"{base}/api/auth/token", data={"username": "admin", "password": password}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": "Bearer " + resp.json()["access_token"]}


def _prefs(base: str, headers: dict[str, str]) -> dict[str, Any]:
    resp = httpx.get(f"{base}/api/user/preferences", headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def test_preferences_survive_sigterm_and_sigkill(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port)
    try:
        password_file = tmp_path / "bootstrap-admin.txt"
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = read_bootstrap_password(tmp_path)
        h = _sign_in(base, password)
        put = httpx.put(
            f"{base}/api/user/preferences",
            json={"theme": "dark", "language": "en-US", "show_tooltips": False},
            headers=h,
            timeout=30,
        )
        assert put.status_code == 200, put.text
        assert (
            httpx.post(
                f"{base}/api/user/mode", json={"mode": "Expert"}, headers=h, timeout=30
            ).status_code
            == 200
        )
        httpx.post(f"{base}/api/user/guides/import_data/complete", headers=h, timeout=30)
        before = _prefs(base, h)
        _stop(proc, signal.SIGTERM)
        # uvicorn finishes its shutdown, then re-raises the signal it received
        assert proc.returncode in (0, -signal.SIGTERM), proc.returncode

        proc = _start(tmp_path, port)
        assert read_bootstrap_password(tmp_path) == password  # no second bootstrap
        h = _sign_in(base, password)
        after_term = _prefs(base, h)
        assert after_term == before
        assert after_term["mode"] == "expert" and after_term["completed_guides"] == ["import_data"]
        put = httpx.put(
            f"{base}/api/user/preferences", json={"theme": "light"}, headers=h, timeout=30
        )
        assert put.status_code == 200
        expected = put.json()["data"]
        _stop(proc, signal.SIGKILL)

        proc = _start(tmp_path, port)
        h = _sign_in(base, password)
        assert _prefs(base, h) == expected
    finally:
        if proc.poll() is None:
            _stop(proc, signal.SIGTERM)
