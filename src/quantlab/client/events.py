"""A job's event stream, independent of how it is received (WebSocket or polling).

Messages are those of ``WS /ws/tasks/{id}``: ``connected`` (with a snapshot of the job),
``progress``, ``log``, ``metrics``, ``error`` and ``completion``. Polling produces the same
``connected``/``progress``/``completion`` messages from ``GET /api/tasks/{id}``, so callers
of ``run.events()`` never see which transport was used.
"""

from __future__ import annotations

import sys
from typing import Any

from quantlab.client.models import TERMINAL_STATUSES

RECV_TIMEOUT_S = 75.0  # longer than the server's 30 s ping: silence this long is a dead link
RECONNECT_WINDOW_S = 180.0  # how long the server may stay away before waiting gives up
POLL_INTERVAL_S = 1.0


class EventState:
    """What the stream has said so far: status, progress and stage, and whether it ended."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.progress = 0.0
        self.stage: str | None = None
        self.done = False
        self._polled: tuple[Any, ...] | None = None

    def feed(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Take in one message; returns it when callers should see it (not pings)."""
        kind = message.get("type")
        data: dict[str, Any] = message["data"] if isinstance(message.get("data"), dict) else {}
        if kind in ("ping", "pong") or kind is None:
            return None
        if kind in ("connected", "progress"):
            self.progress = float(data.get("progress", self.progress) or 0.0)
            self.stage = data.get("stage", self.stage)
            if kind == "connected":
                self.status = data.get("status", self.status)
        elif kind == "completion":
            self.status = data.get("status", self.status)
            if self.status in TERMINAL_STATUSES:
                self.done = True
                if self.status == "completed":
                    self.progress = 1.0
        return message

    def from_poll(self, job: dict[str, Any], first: bool) -> list[dict[str, Any]]:
        """The messages a polled job snapshot stands for (nothing when it has not changed)."""
        key = (job.get("status"), job.get("progress"), job.get("stage"))
        if not first and key == self._polled:
            return []
        self._polled = key
        job_id = job.get("id")
        if first:
            out = [{"type": "connected", "job_id": job_id, "data": job}]
        else:
            progress = {k: job.get(k) for k in ("progress", "percentage", "stage", "message")}
            out = [{"type": "progress", "job_id": job_id, "data": progress}]
        if job.get("status") in TERMINAL_STATUSES:
            final = {k: job.get(k) for k in ("status", "result", "error")}
            out.append({"type": "completion", "job_id": job_id, "data": final})
        return [m for m in out if self.feed(m) is not None]


def ws_url(base_url: str, job_id: str, ticket: str) -> str:
    """The WebSocket address of a job's events on the server at ``base_url``."""
    from urllib.parse import quote

    scheme, _, rest = base_url.partition("://")
    ws_scheme = "wss" if scheme == "https" else "ws"
    return f"{ws_scheme}://{rest}/ws/tasks/{quote(job_id, safe='')}?ticket={quote(ticket)}"


class ProgressBar:
    """A tqdm bar in percent: a widget in notebooks, text on terminals, nothing otherwise."""

    def __init__(self, show: bool | None, label: str) -> None:
        interactive = "ipykernel" in sys.modules or sys.stderr.isatty()
        self._bar: Any = None
        if show or (show is None and interactive):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=100.0, desc=label, unit="%", bar_format=_BAR_FORMAT)
        self._label = label
        self._shown: tuple[float, str] | None = None

    def update(self, state: EventState) -> None:
        """Show the state's progress and stage."""
        if self._bar is None:
            return
        n = round(min(max(state.progress, 0.0), 1.0) * 100.0, 1)
        stage = state.status if state.done else state.stage
        desc = f"{self._label} {stage}" if stage else self._label
        if (n, desc) != self._shown:  # log and metrics events change nothing on screen
            self._shown = (n, desc)
            self._bar.n = n
            self._bar.set_description_str(desc, refresh=False)
            self._bar.refresh()

    def close(self) -> None:
        """Leave the bar on screen and stop drawing it."""
        if self._bar is not None:
            self._bar.close()


_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"


def classify(exc: BaseException) -> str:
    """How the event stream treats a failure: ``lost`` (reconnect), ``fallback`` (poll
    instead: the WebSocket handshake is refused, e.g. by a proxy) or ``fatal`` (give up)."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    from quantlab.client.errors import QuantlabAPIError

    if isinstance(exc, QuantlabAPIError):
        return "lost" if exc.code == "UNREACHABLE" or (exc.status or 0) >= 500 else "fatal"
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        return "fatal" if code == CLOSE_UNKNOWN_JOB else "lost"
    if isinstance(exc, InvalidStatus):
        return "lost" if exc.response.status_code >= 500 else "fallback"
    if isinstance(exc, InvalidHandshake | InvalidURI):
        return "fallback"
    if isinstance(exc, OSError | TimeoutError | EOFError):
        return "lost"
    return "fatal"


CLOSE_UNKNOWN_JOB = 4404


def lost_error(job_id: str, exc: BaseException | None) -> Exception:
    """The error raised when the server stays away longer than the reconnect window."""
    from quantlab.client.errors import QuantlabAPIError

    return QuantlabAPIError(
        f"lost the event stream of job {job_id} for over {RECONNECT_WINDOW_S:.0f} s: {exc}",
        code="STREAM_LOST",
    )


def failure(job: Any) -> Exception:
    """The error of a failed job, as the client's one exception type."""
    from quantlab.client.errors import QuantlabAPIError

    error = job.error or {}
    return QuantlabAPIError(
        f"job {job.id} ({job.type}) failed: {error.get('message') or 'no reason given'}",
        code=str(error.get("code") or "JOB_FAILED"),
        details=error.get("details"),
    )
