"""The local runner: a pool of worker processes owned by the server.

Processes are started with ``spawn`` (never ``fork``: the API process has threads and an
event loop). Each worker runs one job at a time and sends its events back over its pipe;
the server publishes them on the event bus. A worker that dies mid-job (segfault,
``os._exit``, OOM kill) is noticed through its process sentinel: the job is reported as
crashed and the process replaced.

Workers run at a lower CPU priority than the server (``WORKER_NICENESS``): a worker's
start-up alone (numba, scipy, pandas) is seconds of CPU, and jobs are batch work, so on a
small machine they yield the cores to requests and sandbox runs instead of adding tens of
milliseconds to them; with the cores otherwise idle they run at full speed."""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from quantlab.platform.logging import get_logger
from quantlab.platform.settings import Settings

log = get_logger("quantlab.jobs.local")

MessageHandler = Callable[[tuple[Any, ...]], Awaitable[None]]


PR_SET_PDEATHSIG = 1
PARENT_WATCH_S = 0.5
WORKER_NICENESS = 10  # added to the server's: a worker weighs ~1/9 of a request's process


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (the server) is gone, however it ended.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); a thread
    watching the parent id covers other systems. A worker that outlived its server would
    keep running a job whose events nobody reads, then fail it on the broken pipe instead
    of letting the next server resume it from its checkpoint."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before the line above took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_WATCH_S)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="quantlab-parent-watch").start()


def _send_or_exit(conn: Connection, message: tuple[Any, ...]) -> None:
    """Send to the server; if it is gone, stop here and leave the job ``running`` for the
    next server's recovery (resumed from its checkpoint, or failed as interrupted)."""
    try:
        conn.send(message)
    except OSError:  # BrokenPipeError, ConnectionResetError: the server died
        os._exit(0)


def _worker_main(conn: Connection, settings: Settings, parent_pid: int | None = None) -> None:
    """Entry point of a pool process: run job ids received on ``conn`` until told to stop."""
    os.nice(WORKER_NICENESS)  # before the imports below, the bulk of a worker's start-up
    if parent_pid is not None:
        die_with_parent(parent_pid)
    from quantlab.platform.jobs.execute import execute_job
    from quantlab.platform.jobs.registry import load_job_types
    from quantlab.platform.jobs.store import get_store
    from quantlab.platform.logging import configure_logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    configure_logging(settings.log_level, settings.log_json)
    load_job_types()
    store = get_store(settings)
    store.call(store.warm())
    _send_or_exit(conn, ("ready", os.getpid()))

    def sink(message: dict[str, Any]) -> None:
        _send_or_exit(conn, ("event", message))

    while True:
        try:
            job_id = conn.recv()
        except (EOFError, OSError):
            return
        if job_id is None:
            return
        try:
            status = execute_job(job_id, settings, sink)
        except Exception as exc:  # the database went away under the job
            _send_or_exit(conn, ("error", job_id, f"{type(exc).__name__}: {exc}"[:500]))
        else:
            _send_or_exit(conn, ("done", job_id, status))


@dataclass
class _Slot:
    process: Any
    conn: Connection
    job_id: str | None = None
    pid: int | None = None
    ready: bool = False  # imports done and database connection open


def exit_reason(exitcode: int | None) -> str:
    """Human words for a worker's exit code."""
    if exitcode is None:
        return "worker process vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"worker process was killed by signal {name}"
    return f"worker process exited with code {exitcode}"


class LocalRunner:
    """A fixed-size pool of spawned worker processes."""

    name = "local"

    def __init__(self, settings: Settings, size: int, on_message: MessageHandler) -> None:
        self.settings = settings
        self.size = size
        self._on_message = on_message
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        self._queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._stopping = False
        self._boot_failures = 0
        self.replaced = 0

    async def start(self) -> None:
        """Spawn the pool (returns at once; processes boot in the background)."""
        self._pump = asyncio.create_task(self._pump_messages())
        for _ in range(self.size):
            self._slots.append(self._spawn())

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self.settings, os.getpid()),
            daemon=True,
            name="quantlab-job",
        )
        process.start()
        child.close()
        slot = _Slot(process=process, conn=parent, pid=process.pid)
        loop = asyncio.get_running_loop()
        loop.add_reader(parent.fileno(), self._readable, slot)
        loop.add_reader(process.sentinel, self._exited, slot)
        return slot

    def capacity(self) -> int:
        """Idle worker processes."""
        return sum(1 for s in self._slots if s.job_id is None and s.process.is_alive())

    async def submit(self, job_id: str) -> bool:
        """Hand ``job_id`` to an idle worker; False when none is idle."""
        for slot in self._slots:
            if slot.job_id is None and slot.process.is_alive():
                try:
                    slot.conn.send(job_id)
                except OSError:  # died just now; its sentinel will replace it
                    continue
                slot.job_id = job_id
                return True
        return False

    def _readable(self, slot: _Slot) -> None:
        try:
            while slot.conn.poll():
                self._handle(slot, slot.conn.recv())
        except (EOFError, OSError):
            self._forget_reader(slot.conn.fileno())

    def _handle(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            slot.ready = True
            self._boot_failures = 0
            return
        if kind in ("done", "error"):
            slot.job_id = None
        self._queue.put_nowait(message)

    def _forget_reader(self, fd: int) -> None:
        if fd >= 0:
            asyncio.get_running_loop().remove_reader(fd)

    def _exited(self, slot: _Slot) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(slot.process.sentinel)
        self._readable(slot)  # drain what the process sent before it died
        self._forget_reader(slot.conn.fileno())
        slot.process.join(1.0)  # the sentinel fires on exit; reaping may lag a moment
        if self._stopping or slot not in self._slots:
            return
        job_id, reason = slot.job_id, exit_reason(slot.process.exitcode)
        log.warning("worker_died", pid=slot.pid, job_id=job_id, reason=reason)
        slot.conn.close()
        self.replaced += 1
        if job_id is not None:
            self._queue.put_nowait(("crash", job_id, reason))
        if slot.ready:
            self._slots[self._slots.index(slot)] = self._spawn()
            return
        # it died while booting (bad environment?): back off instead of a tight respawn loop
        self._boot_failures += 1
        delay = min(2.0**self._boot_failures, 60.0)
        log.error("worker_boot_failed", reason=reason, retry_in_s=delay)
        loop.call_later(delay, self._respawn, slot)

    def _respawn(self, slot: _Slot) -> None:
        if not self._stopping and slot in self._slots:
            self._slots[self._slots.index(slot)] = self._spawn()

    async def _pump_messages(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self._on_message(message)
            except Exception as exc:
                log.error("job_message_failed", kind=message[0], error=str(exc), exc_info=exc)

    async def _drained(self) -> None:
        for _ in range(500):  # at most ~5 s
            if self._queue.empty():
                return
            await asyncio.sleep(0.01)

    def _join_all(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for slot in self._slots:
            slot.process.join(max(deadline - time.monotonic(), 0.0))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(1)
            slot.conn.close()

    def workers(self) -> list[dict[str, Any]]:
        """Each process: pid, alive, current job."""
        return [
            {"pid": s.pid, "alive": s.process.is_alive(), "ready": s.ready, "job_id": s.job_id}
            for s in self._slots
        ]

    async def stop(self) -> None:
        """Stop every process (running jobs stay ``running`` and are recovered on restart)."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        for slot in self._slots:
            loop.remove_reader(slot.process.sentinel)
            if not slot.conn.closed:
                loop.remove_reader(slot.conn.fileno())
                try:
                    if slot.job_id is None:
                        slot.conn.send(None)
                except OSError:
                    pass
        for slot in self._slots:
            if slot.job_id is not None:
                slot.process.terminate()
        await asyncio.to_thread(self._join_all, 5.0)
        if self._pump is not None:
            # let queued events (e.g. a last completion) reach the bus before stopping
            await self._drained()
            self._pump.cancel()
