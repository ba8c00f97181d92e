"""``quantlab user create`` as a real command on a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUANTLAB = Path(sys.executable).with_name("quantlab")

pytestmark = pytest.mark.slow


def _run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUANTLAB_DATA_DIR": str(data_dir)}
    env.pop("QUANTLAB_DATABASE_URL", None)
    return subprocess.run(
        [str(QUANTLAB), "user", "create", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_create(tmp_path: Path) -> None:
    made = _run(
        tmp_path, "alice", "--role", "viewer", "--password-stdin", stdin="a fine passphrase\n"
    )
    assert made.returncode == 0, made.stderr
    assert "created viewer alice" in made.stdout and "a fine passphrase" not in made.stdout
    generated = _run(tmp_path, "bob")
    assert generated.returncode == 0 and "one-time password" in generated.stdout
    again = _run(tmp_path, "bob")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = _run(tmp_path, "carol", "--role", "god")
    assert bad.returncode == 1 and "role must be one of" in bad.stderr
    weak = _run(tmp_path, "dave", "--password-stdin", stdin="password123\n")
    assert weak.returncode == 1 and "too common" in weak.stderr
