"""One warm executor process, driven from the API side (synchronously, or awaited on the
event loop for a request)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from quantlab.sandbox.executor.config import SAFE_ENV, SandboxConfig
from quantlab.sandbox.executor.inside import framing
from quantlab.sandbox.executor.isolation import build_command, bwrap_works

# A request frame at most this long is written straight from the event loop: the pipe
# is empty between requests and holds 64 KiB, so the write cannot block.
INLINE_WRITE_BYTES = 60 * 1024


async def _read_frame(fd: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One reply frame from ``fd``, read as it becomes readable on the running loop.

    The descriptor stays blocking (the synchronous calls share it): a read after the
    loop reports it readable returns what is there without waiting.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[dict[str, Any], dict[str, bytes]]] = loop.create_future()
    received = bytearray()

    def readable() -> None:
        if done.done():
            return
        try:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise framing.ProtocolError("channel closed before a whole reply")
            received.extend(chunk)
            frame = framing.parse_frame(received)
        except (OSError, framing.ProtocolError) as exc:
            done.set_exception(exc)
            return
        if frame is not None:
            done.set_result(frame)

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


class ExecutorError(Exception):
    """The executor process failed (not the user's code): it is replaced."""


@dataclass(frozen=True)
class RawReply:
    """What the zygote reported about one child, plus the bytes it sent back."""

    header: dict[str, Any]
    blobs: dict[str, bytes]
    baseline_rss_kb: int


class Executor:
    """A zygote started as a fresh interpreter (inside bubblewrap when available).

    Not thread-safe: one request at a time. The supervision here is the backstop: if a
    request overruns its timeout plus ``grace_seconds``, the whole process group is killed.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.sandboxed = config.use_bwrap and bwrap_works(config.bwrap_path)
        self.hello: dict[str, Any] = {}
        self.requests_served = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._scratch: str | None = None

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Host pid of the process group leader (bwrap or the interpreter)."""
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Spawn the process (fork+exec of a fresh interpreter) and wait for its hello."""
        argv, self._scratch = build_command(self.config, self.sandboxed)
        started = time.monotonic()
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(SAFE_ENV),
            cwd=self._scratch or "/",
            start_new_session=True,
            close_fds=True,
        )
        hello = self._call(None, self.config.start_timeout)
        if hello.header.get("op") != "hello":
            self.close()
            raise ExecutorError(f"unexpected first message {hello.header.get('op')!r}")
        self.hello = hello.header
        self.hello["start_seconds"] = time.monotonic() - started

    def ping(self, timeout: float = 5.0) -> bool:
        """Round-trip a ping; False (and the process killed) if it does not answer."""
        try:
            return self._call(({"op": "ping"}, {}), timeout).header.get("op") == "pong"
        except ExecutorError:
            return False

    def run(
        self, request: dict[str, Any], limits: dict[str, Any], inputs: dict[str, bytes]
    ) -> RawReply:
        """Send one request (``request.json`` plus ``.npy`` inputs) and wait for the reply."""
        blobs = {"request.json": json.dumps(request, allow_nan=False).encode(), **inputs}
        deadline = float(limits["timeout"]) + self.config.grace_seconds
        reply = self._call(({"op": "run", "limits": limits}, blobs), deadline)
        self.requests_served += 1
        return reply

    async def run_async(
        self, request: dict[str, Any], limits: dict[str, Any], inputs: dict[str, bytes]
    ) -> RawReply:
        """``run`` awaited on the event loop: no thread hand-off and no watchdog thread
        per request (each cost a thread wake-up on the request's path)."""
        blobs = {"request.json": json.dumps(request, allow_nan=False).encode(), **inputs}
        deadline = float(limits["timeout"]) + self.config.grace_seconds
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise ExecutorError("executor is not running")
        data = framing.encode_message({"op": "run", "limits": limits}, blobs)
        try:
            if len(data) <= INLINE_WRITE_BYTES:  # fits the empty pipe: never blocks
                framing.write_all(proc.stdin.fileno(), data)
            else:
                await asyncio.to_thread(framing.write_all, proc.stdin.fileno(), data)
            header, replies = await asyncio.wait_for(_read_frame(proc.stdout.fileno()), deadline)
        except TimeoutError:
            self.kill()
            raise ExecutorError(f"executor did not answer within {deadline:g} s") from None
        except (OSError, framing.ProtocolError) as exc:
            self.kill()
            raise ExecutorError(f"executor channel failed: {exc}") from None
        except BaseException:  # cancelled mid-run: its reply would answer the next request
            self.kill()
            raise
        self.requests_served += 1
        return RawReply(header, replies, int(self.hello.get("baseline_rss_kb", 0)))

    def _call(
        self, message: tuple[dict[str, Any], dict[str, bytes]] | None, timeout: float
    ) -> RawReply:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None or proc.poll() is not None:
            raise ExecutorError("executor is not running")
        watchdog = threading.Timer(timeout, self.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            if message is not None:
                framing.write_message(proc.stdin.fileno(), message[0], message[1])
            header = framing.read_header(proc.stdout.fileno())
            blobs = framing.read_blobs(proc.stdout.fileno(), header)
        except (OSError, framing.ProtocolError) as exc:
            self.kill()
            raise ExecutorError(f"executor channel failed: {exc}") from None
        finally:
            watchdog.cancel()
        return RawReply(header, blobs, int(self.hello.get("baseline_rss_kb", 0)))

    def kill(self) -> None:
        """SIGKILL the whole process group (bwrap, the zygote and any child)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """Stop the process and remove its host scratch dir (degraded mode only)."""
        proc = self._proc
        if proc is not None:
            self.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
