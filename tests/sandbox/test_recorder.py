"""The execution history is written after the answer, in order, and survives a crash:
runs journalled by a process that died before writing them are replayed on start-up."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from quantlab.auth.bootstrap import read_bootstrap_password
from quantlab.platform.audit import AuditEvent
from quantlab.platform.db import new_id, utcnow
from quantlab.sandbox.models import SandboxExecution
from quantlab.sandbox.recorder import ExecutionRecorder


def _entry(owner_id: str, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    now = utcnow().isoformat()
    execution_id = new_id()
    execution = {
        "id": execution_id,
        "owner_id": owner_id,
        "code_sha256": "0" * 64,
        "code_size": len(code),
        "code": code,
        "timeout_seconds": 5.0,
        "max_memory_mb": 256,
        "outcome": "success",
        "error_type": None,
        "duration_seconds": 0.001,
        "memory_used_mb": 1.0,
        "correlation_id": "c" * 32,
        "created_at": now,
    }
    audit = {
        "occurred_at": now,
        "actor_id": owner_id,
        "action": "sandbox.execute",
        "resource_type": "sandbox_execution",
        "resource_id": execution_id,
        "details": {"outcome": "success"},
        "correlation_id": "c" * 32,
        "client_address": None,
    }
    return execution, audit


async def _rows(app: Any, ids: list[str]) -> list[str]:
    async with app.state.db.sessionmaker() as session:
        found = await session.scalars(
            select(SandboxExecution.id).where(SandboxExecution.id.in_(ids))
        )
        return list(found)


async def test_runs_are_written_in_order_and_journals_of_dead_processes_replayed(
    app: Any, researcher: Any, tmp_path: Path
) -> None:
    live = ExecutionRecorder(app.state.db, tmp_path)
    await live.start()
    entries = [_entry(researcher.id, f"print({i})") for i in range(5)]
    for execution, audit in entries:
        live.record(execution, audit)
    await live.flush()
    ids = [e[0]["id"] for e in entries]
    assert sorted(await _rows(app, ids)) == sorted(ids)
    async with app.state.db.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(AuditEvent.resource_id)
                .where(AuditEvent.resource_id.in_(ids))
                .order_by(AuditEvent.id)
            )
        )
    assert events == ids  # audit events in the order the runs were answered
    assert live.path.stat().st_size == 0  # all written: the journal starts afresh
    await live.stop()
    assert not live.path.exists()

    # a process that answered two runs and died before writing them (kill -9)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    journal = tmp_path / "sandbox" / f"journal-{dead.stdout.strip()}.jsonl"
    lost = [_entry(researcher.id, "print('lost')") for _ in range(2)]
    import json

    lines = [json.dumps({"execution": e, "audit": a}) for e, a in lost]
    # one of them was already written before the crash; the last line was cut short
    journal.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[1][:40])
    async with app.state.db.sessionmaker() as session:
        from quantlab.sandbox.recorder import _decode

        row, event = _decode({"execution": lost[0][0], "audit": lost[0][1]})
        session.add_all([row, event])
        await session.commit()
    restarted = ExecutionRecorder(app.state.db, tmp_path)
    await restarted.start()
    try:
        lost_ids = [e[0]["id"] for e in lost]
        assert sorted(await _rows(app, lost_ids)) == sorted(lost_ids)
        assert not journal.exists()
    finally:
        await restarted.stop()


@pytest.mark.slow
def test_a_run_answered_right_before_the_server_is_killed_stays_in_the_history(
    tmp_path: Path,
) -> None:
    """A real ``quantlab serve``: the answer goes out while the history write is still
    being gathered; SIGKILL then; the restarted server has the run and its audit event."""
    from tests.platform.test_restart import _free_port, _sign_in, _start, _stop

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port, QUANTLAB_SANDBOX_PREWARM="true")
    try:
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        run = httpx.post(
            f"{base}/api/security/execute", json={"code": "print(6 * 7)"}, headers=headers,
            timeout=120,
        )  # fmt: skip
        assert run.status_code == 200, run.text
        execution_id = run.headers["x-execution-id"]
        journal = tmp_path / "sandbox" / f"journal-{proc.pid}.jsonl"
        assert execution_id.encode() in journal.read_bytes()  # journalled before the answer
        _stop(proc, signal.SIGKILL)  # normally within the 0.25 s the write is gathered

        proc = _start(tmp_path, port)
        headers = _sign_in(base, read_bootstrap_password(tmp_path))
        row = httpx.get(f"{base}/api/security/executions/{execution_id}", headers=headers)
        assert row.status_code == 200, row.text
        assert row.json()["data"]["outcome"] == "success"
        assert row.json()["data"]["code"] == "print(6 * 7)"
        audit = httpx.get(
            f"{base}/api/admin/audit", params={"resource_id": execution_id}, headers=headers
        )
        assert audit.status_code == 200, audit.text
        assert [e["action"] for e in audit.json()["data"]] == ["sandbox.execute"]
        assert not journal.exists()  # replayed and removed
    finally:
        if proc.poll() is None:
            _stop(proc, signal.SIGTERM)
