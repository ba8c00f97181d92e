"""One warm executor process, driven synchronously from the API side."""

from __future__ import annotations

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
