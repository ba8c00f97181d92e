"""What a job function sees: progress reporting, logs, metrics, checkpoints and the
pause/cancel check between chunks of work."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.db import utcnow
from quantlab.platform.jobs.store import WorkerStore
from quantlab.platform.settings import Settings

EventSink = Callable[[dict[str, Any]], None]
T = TypeVar("T")

EVENT_INTERVAL_S = 0.1  # at most 10 progress events a second
DB_INTERVAL_S = 0.5  # progress rows are written at most twice a second
CONTROL_INTERVAL_S = 0.2  # how often check() asks the database for pause/cancel
CHECKPOINT_INTERVAL_S = 5.0  # checkpoint() persists at least this often for crash recovery
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class JobInterrupted(Exception):
    """Raised by :meth:`JobContext.check` to unwind a job that must stop."""


class JobPaused(JobInterrupted):
    """The job was asked to pause; its checkpoint is saved."""


class JobCancelled(JobInterrupted):
    """The job was asked to cancel."""


def job_dir(data_dir: Path, job_id: str) -> Path:
    """The directory of one job's artefacts (checkpoint, large result)."""
    return data_dir / "jobs" / job_id


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers never see a partial file.

    Each call writes its own temporary file: two processes writing the same path at once
    (robustness children that end together) each replace it whole, the last one winning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class JobContext:
    """Handed to a job function; every method is safe to call often."""

    def __init__(
        self,
        *,
        job: dict[str, Any],
        settings: Settings,
        store: WorkerStore,
        sink: EventSink,
        checkpointable: bool,
    ) -> None:
        self.job_id: str = job["id"]
        self.job_type: str = job["type"]
        self.owner_id: str = job["owner_id"]
        self.attempt: int = job["attempts"]
        self.settings = settings
        self.data_dir = settings.data_dir
        self.checkpointable = checkpointable
        self._checkpoint_ref: str | None = job.get("checkpoint_ref")
        self._store = store
        self._sink = sink
        self._seq = 0
        self._started = time.monotonic()
        self._start_progress = float(job.get("progress") or 0.0)
        self._last_event = 0.0
        self._last_db = 0.0
        self._last_control = 0.0
        self._last_checkpoint = time.monotonic()
        self._stage: str | None = None

    @property
    def resumed(self) -> bool:
        """True when a checkpoint from an earlier attempt exists."""
        return self._checkpoint_ref is not None

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Send one event to live clients (numbered, in order)."""
        self._seq += 1
        self._sink(
            {
                "type": kind,
                "job_id": self.job_id,
                "seq": self._seq,
                "ts": utcnow().isoformat(),
                "data": data,
            }
        )

    def report(
        self,
        progress: float,
        stage: str | None = None,
        message: str | None = None,
        current: str | None = None,
    ) -> None:
        """Report progress in [0, 1]; throttled to 10 events/s (a stage change always goes)."""
        progress = min(max(float(progress), 0.0), 1.0)
        now = time.monotonic()
        stage_changed = stage is not None and stage != self._stage
        if stage is not None:
            self._stage = stage
        if not stage_changed and progress < 1.0 and now - self._last_event < EVENT_INTERVAL_S:
            return
        self._last_event = now
        eta = self._eta(progress, now)
        self.emit(
            "progress",
            {
                "percentage": round(progress * 100.0, 3),
                "progress": progress,
                "stage": self._stage,
                "current": current,
                "eta_seconds": eta,
                "message": message,
            },
        )
        if stage_changed or progress >= 1.0 or now - self._last_db >= DB_INTERVAL_S:
            self._last_db = now
            self._store.update_running(
                self.job_id,
                progress=progress,
                stage=self._stage,
                message=(message or "")[:500] or None,
                current=(current or "")[:100] or None,
                eta_seconds=eta,
            )

    def _eta(self, progress: float, now: float) -> float | None:
        done = progress - self._start_progress
        if done <= 0:
            return None
        return round((now - self._started) * (1.0 - progress) / done, 3)

    def log(self, level: str, message: str) -> None:
        """Keep a log line (bounded per job) and send it to live clients."""
        level = level.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {LOG_LEVELS}")
        if self._store.log(self.job_id, level, message):
            self.emit(
                "log", {"level": level, "message": message[:4000], "ts": utcnow().isoformat()}
            )

    def log_many(self, level: str, messages: list[str]) -> int:
        """Keep several log lines at once (one database round trip) and send each to live
        clients in order; returns how many were kept (the per-job bound applies)."""
        level = level.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {LOG_LEVELS}")
        kept = self._store.log_many(self.job_id, level, messages)
        ts = utcnow().isoformat()
        for message in messages[:kept]:
            self.emit("log", {"level": level, "message": message[:4000], "ts": ts})
        return kept

    def metrics(self, values: dict[str, Any]) -> None:
        """Publish interim metrics (JSON values) and keep the latest on the job row."""
        self._store.update_running(self.job_id, metrics=values)
        self.emit("metrics", values)

    def check(self, force: bool = False) -> None:
        """Raise :class:`JobCancelled` or :class:`JobPaused` when asked to stop (between
        chunks); asks the database at most every 0.2 s unless ``force``."""
        now = time.monotonic()
        if not force and now - self._last_control < CONTROL_INTERVAL_S:
            return
        self._last_control = now
        control = self._store.control(self.job_id, beat=True)
        if control == "cancel":
            raise JobCancelled
        if control == "pause" and self.checkpointable:
            raise JobPaused

    def checkpoint(self, state: bytes | dict[str, Any]) -> None:
        """Between chunks: persist ``state`` when pausing (and every few seconds), then check."""
        try:
            self.check()
        except JobPaused:
            self.save_checkpoint(state)
            raise
        if time.monotonic() - self._last_checkpoint >= CHECKPOINT_INTERVAL_S:
            self.save_checkpoint(state)

    def save_checkpoint(self, state: bytes | dict[str, Any]) -> None:
        """Persist ``state`` (bytes, or a JSON dict) as this job's checkpoint."""
        if isinstance(state, bytes | bytearray):
            name, data = "checkpoint.bin", bytes(state)
        else:
            name, data = "checkpoint.json", json.dumps(state).encode()
        path = job_dir(self.data_dir, self.job_id) / name
        write_atomic(path, data)
        self._checkpoint_ref = str(path.relative_to(self.data_dir))
        self._last_checkpoint = time.monotonic()
        self._store.update_running(self.job_id, checkpoint_ref=self._checkpoint_ref)

    def load_checkpoint(self) -> bytes | dict[str, Any] | None:
        """The last saved checkpoint, or None on a first run."""
        if self._checkpoint_ref is None:
            return None
        path = self.data_dir / self._checkpoint_ref
        if not path.exists():
            return None
        data = path.read_bytes()
        if path.suffix == ".json":
            loaded: dict[str, Any] = json.loads(data)
            return loaded
        return data

    def workdir(self) -> Path:
        """A directory for this job's own files (created on demand)."""
        path = job_dir(self.data_dir, self.job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def run_db(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``fn(session)`` with a fresh session on the worker's database loop.

        Domain jobs use it to read their inputs and record their outputs; ``fn`` commits
        what it writes.
        """

        async def _go() -> T:
            async with self._store.db.sessionmaker() as session:
                return await fn(session)

        return self._store.call(_go())
