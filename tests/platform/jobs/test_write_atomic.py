"""Result files written by several worker processes at once stay whole."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from quantlab.platform.jobs.context import write_atomic


def _hammer(path: str, writer: int, rounds: int) -> None:
    for i in range(rounds):
        write_atomic(
            Path(path), json.dumps({"writer": writer, "round": i, "pad": "x" * 50_000}).encode()
        )


def test_processes_writing_one_path_at_once_never_fail_or_tear_it(tmp_path: Path) -> None:
    # robustness children that end together both write the parent's diagnostics.json
    target = tmp_path / "diagnostics.json"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(target), w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    last = json.loads(target.read_bytes())
    assert last["round"] == 199 and len(last["pad"]) == 50_000
    assert [p.name for p in tmp_path.iterdir()] == ["diagnostics.json"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, ["not", "bytes"])  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
