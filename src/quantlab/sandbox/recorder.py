"""The execution history is written after the answer, in order, and never lost on a crash.

A run's history row and its audit event are first appended as one JSON line to this
process's journal (``<data_dir>/sandbox/journal-<pid>.jsonl``; one ``write`` on an
``O_APPEND`` file, which a killed process cannot lose: the kernel already holds it), the
client gets its answer, and a background task inserts the rows in journal order, in
batches: it gathers the runs of up to ``GATHER_SECONDS`` into one transaction (one insert
per run cost more CPU than the run itself, and slowed the next request). Reads of the
history wait for what is pending (``flush`` writes it at once), so a client that reads
right after a run sees it. On start-up, journals left by processes that are gone are
replayed (rows already written are skipped by id) and removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from quantlab.platform.audit import AuditEvent
from quantlab.platform.db import Database
from quantlab.platform.logging import get_logger
from quantlab.sandbox.models import SandboxExecution

log = get_logger("quantlab.sandbox")

JOURNAL_DIR = "sandbox"
BATCH = 200
GATHER_SECONDS = 0.25


def _journal_pid(path: Path) -> int | None:
    stem = path.stem.removeprefix("journal-")
    return int(stem) if stem.isdigit() else None


def _decode(entry: dict[str, Any]) -> tuple[SandboxExecution, AuditEvent]:
    row = dict(entry["execution"])
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    event = dict(entry["audit"])
    event["occurred_at"] = datetime.fromisoformat(event["occurred_at"])
    return SandboxExecution(**row), AuditEvent(**event)


class ExecutionRecorder:
    """Ordered, crash-safe writer of sandbox history rows (``app.state.sandbox_recorder``)."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.folder = data_dir / JOURNAL_DIR
        self.path = self.folder / f"journal-{os.getpid()}.jsonl"
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._urgent = asyncio.Event()  # a reader waits: write without gathering

    async def start(self) -> None:
        """Replay journals of processes that are gone, then open ours and start writing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        await self.replay_orphans()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Write what is pending, then close and remove the journal."""
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._queue.empty():
            self.path.unlink(missing_ok=True)

    def record(self, execution: dict[str, Any], audit: dict[str, Any]) -> None:
        """Journal one run (durable once this returns) and queue it for the database."""
        entry = {"execution": execution, "audit": audit}
        line = json.dumps(entry, default=str, separators=(",", ":")).encode() + b"\n"
        if self._fd is None:
            raise RuntimeError("the execution recorder is not started")
        os.write(self._fd, line)
        self._idle.clear()
        self._queue.put_nowait(entry)

    async def flush(self) -> None:
        """Wait until every recorded run is in the database."""
        if self._task is not None and not self._task.done():
            self._urgent.set()
            await self._idle.wait()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), GATHER_SECONDS)
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            while True:
                try:
                    await self._insert(batch)
                    break
                except Exception as exc:  # the database hiccuped: the journal keeps them
                    log.warning("sandbox_history_write_failed", error=str(exc)[:300])
                    await asyncio.sleep(1.0)
            if self._queue.empty():
                # everything journalled is now in the database: start the journal afresh
                if self._fd is not None:
                    os.ftruncate(self._fd, 0)
                self._urgent.clear()
                self._idle.set()

    async def _insert(self, entries: list[dict[str, Any]], skip_existing: bool = False) -> None:
        async with self.db.sessionmaker() as session:
            if skip_existing:
                ids = [e["execution"]["id"] for e in entries]
                present = set(
                    await session.scalars(
                        select(SandboxExecution.id).where(SandboxExecution.id.in_(ids))
                    )
                )
                entries = [e for e in entries if e["execution"]["id"] not in present]
            # one flush: the unit of work inserts each table's rows in the order they were
            # added, so the audit ids follow the journal
            for entry in entries:
                row, event = _decode(entry)
                session.add(row)
                session.add(event)
            await session.commit()

    async def replay_orphans(self) -> int:
        """Insert runs journalled by processes that died before writing them."""
        replayed = 0
        for path in sorted(self.folder.glob("journal-*.jsonl")):
            pid = _journal_pid(path)
            if pid is not None and pid != os.getpid() and psutil.pid_exists(pid):
                continue  # a live process is still writing it
            entries = []
            for line in path.read_bytes().splitlines():
                with contextlib.suppress(ValueError):  # a line cut short by a crash
                    entries.append(json.loads(line))
            for start in range(0, len(entries), BATCH):
                await self._insert(entries[start : start + BATCH], skip_existing=True)
            replayed += len(entries)
            path.unlink(missing_ok=True)
        if replayed:
            log.warning("sandbox_history_replayed", runs=replayed)
        return replayed
