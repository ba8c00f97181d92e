"""The client verbs of ``quantlab`` end to end, each in a subprocess against a real server:
login writes a 0600 config, then import real CSVs, list, export, evaluate a factor, run and
export a backtest, list jobs, read logs; bad input gives one error line and exit status 1."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from quantlab.client import Client
from tests.client.conftest import MAX_UPLOAD_BYTES, LiveServer, dual_ma_spec

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

QUANTLAB = Path(sys.executable).with_name("quantlab")


def _cli(
    *args: str, env: dict[str, str], stdin: str | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [str(QUANTLAB), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if ok:
        assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out


def _one_error_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


@pytest.fixture()
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUANTLAB_")}
    env["QUANTLAB_CLIENT_CONFIG"] = str(tmp_path / "config" / "client.json")
    return env


def test_cli_end_to_end(
    sqlite_live: LiveServer, qbot: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    live = sqlite_live
    out = _cli(
        "login", "--url", live.url, "-u", "admin", "--password-stdin",
        env=cli_env, stdin=live.password + "\n",
    )  # fmt: skip
    assert "signed in" in out.stdout
    config = Path(cli_env["QUANTLAB_CLIENT_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    stored = json.loads(config.read_text())
    assert stored["url"] == live.url and stored["token"] and live.password not in config.read_text()

    files = [str(qbot / f"{s}.csv") for s in ("000001.SZ", "000002.SZ", "000063.SZ")]
    out = _cli("datasets", "import", *files, "--name", "cli three", "--json", env=cli_env)
    record = json.loads(out.stdout)
    assert record["status"] == "completed" and record["dataset_id"]
    dataset_id = record["dataset_id"]

    listed = json.loads(_cli("datasets", "list", "--json", env=cli_env).stdout)
    assert dataset_id in [d["id"] for d in listed]
    assert "cli three" in _cli("datasets", "list", env=cli_env).stdout

    target = tmp_path / "three.parquet"
    _cli("datasets", "export", dataset_id, "--format", "parquet", "-o", str(target), env=cli_env)
    frame = pd.read_parquet(target)
    source = pd.read_csv(files[0])
    assert (frame["symbol"] == "000001.SZ").sum() == len(source)

    out = _cli(
        "factors", "eval", dataset_id, "Mean($close, 5) / $close", "--horizons", "1,5",
        "--json", env=cli_env,
    )  # fmt: skip
    evaluation = json.loads(out.stdout)
    assert [r["horizon"] for r in evaluation["ic_summary"]] == [1, 5]

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(dual_ma_spec(dataset_id, ["000001.SZ", "000002.SZ"], "2019-01-02")))
    out = _cli("backtest", "run", str(spec), "--wait", "--json", env=cli_env)
    result = json.loads(out.stdout)
    assert result["status"] == "completed" and "sharpe_ratio" in result["metrics"]
    text = _cli("backtest", "run", str(spec), env=cli_env).stdout
    assert text.startswith("backtest ") and "started" in text

    pdf = tmp_path / "report.pdf"
    _cli("backtest", "export", result["id"], "--format", "pdf", "-o", str(pdf), env=cli_env)
    assert pdf.read_bytes().startswith(b"%PDF")

    jobs = json.loads(_cli("tasks", "list", "--json", env=cli_env).stdout)
    assert result["job_id"] in [j["id"] for j in jobs]
    logs = json.loads(_cli("tasks", "logs", result["job_id"], "--json", env=cli_env).stdout)
    assert any(" BUY " in line["message"] for line in logs)
    line = _one_error_line(_cli("tasks", "cancel", result["job_id"], env=cli_env, ok=False))
    assert "409" in line  # a finished job cannot be cancelled

    # the environment overrides the stored server
    env = {**cli_env, "QUANTLAB_SERVER_URL": "http://127.0.0.1:9"}
    line = _one_error_line(_cli("tasks", "list", env=env, ok=False))
    assert "cannot reach http://127.0.0.1:9" in line


def test_cli_errors_are_one_line(
    sqlite_live: LiveServer, qbot: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    live = sqlite_live
    with Client(live.url, username="admin", password=live.password) as client:
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        secret = client.create_token("cli short", expires_at=soon)["token"]
    time.sleep(3)
    expired = _cli("datasets", "list", "--url", live.url, "--token", secret, env=cli_env, ok=False)
    line = _one_error_line(expired)
    assert "401" in line and "quantlab login" in line

    line = _one_error_line(
        _cli("datasets", "list", "--url", "http://127.0.0.1:9", env=cli_env, ok=False)
    )
    assert "cannot reach" in line

    big = tmp_path / "big.csv"
    parts: list[Any] = []
    for path in sorted(qbot.glob("*.csv"))[:5]:
        parts.append(path.read_text())
    big.write_text("".join(parts))
    assert big.stat().st_size > MAX_UPLOAD_BYTES
    with Client(live.url, username="admin", password=live.password) as client:
        token = client.create_token("cli upload")["token"]
    out = _cli(
        "datasets", "import", str(big), "--url", live.url, "--token", token, env=cli_env, ok=False
    )
    line = _one_error_line(out)
    assert "413" in line

    line = _one_error_line(
        _cli(
            "backtest",
            "run",
            str(tmp_path / "missing.json"),
            "--url",
            live.url,
            "--token",
            token,
            env=cli_env,
            ok=False,
        )
    )
    assert "missing.json" in line
