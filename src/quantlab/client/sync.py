"""The synchronous client: ``Client`` and the ``Run`` handle of a job it started."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from quantlab import __version__
from quantlab.client import events as ev
from quantlab.client import ops
from quantlab.client.auth import BearerAuth
from quantlab.client.calls import (
    RETRY_STATUSES,
    Answer,
    Call,
    Flow,
    answer,
    close_files,
    open_files,
    partial_path,
    retry_delay,
    unreachable,
)
from quantlab.client.config import load_profile
from quantlab.client.errors import QuantlabAPIError
from quantlab.client.models import Job, Submitted

P = ParamSpec("P")
T = TypeVar("T")


def _op(flow: Callable[P, Flow[T]]) -> Callable[Concatenate[Client, P], T]:
    @functools.wraps(flow)
    def method(self: Client, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run_flow(flow(*args, **kwargs))

    return method


def _job(flow: Callable[P, Flow[Submitted]]) -> Callable[Concatenate[Client, P], Run]:
    @functools.wraps(flow)
    def method(self: Client, *args: P.args, **kwargs: P.kwargs) -> Run:
        return Run(self, self.run_flow(flow(*args, **kwargs)))

    return method


class Client:
    """A synchronous quantlab client over the public HTTP API.

    ``Client(url, token=...)`` with a personal access token, or ``Client(url,
    username=..., password=...)`` (signs in, refreshes). Without arguments the URL and token
    come from ``QUANTLAB_SERVER_URL``/``QUANTLAB_TOKEN`` or the file ``quantlab login``
    writes. Failed requests raise :class:`~quantlab.client.QuantlabAPIError`; 429 and 503
    are retried up to ``max_retries`` times, waiting as ``Retry-After`` says.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        max_backoff: float = 60.0,
        connect_retries: int = 2,
    ) -> None:
        profile = load_profile(url, token)
        self.url = profile.url
        self.max_retries = max_retries
        self.max_backoff = max_backoff
        self.connect_retries = connect_retries
        auth = BearerAuth(
            self.url,
            token=None if username else profile.token,
            username=username,
            password=password,
        )
        self._http = httpx.Client(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            headers={"User-Agent": f"quantlab-client/{__version__}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -------------------------------------------------------------------------

    def run_flow(self, flow: Flow[T]) -> T:
        """Drive one operation: send each call it yields and hand back the answers."""
        try:
            call = next(flow)
            while True:
                call = flow.send(self._send(call))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _send(self, call: Call) -> Answer:
        attempt = 0
        while True:
            files = open_files(call)
            try:
                request = self._http.build_request(
                    call.endpoint.method,
                    call.path,
                    params=call.query(),
                    json=call.json,
                    data=call.data,
                    files=files,
                )
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                close_files(files)
                if isinstance(exc, httpx.ConnectError) and attempt < self.connect_retries:
                    time.sleep(retry_delay(0, None, attempt, self.max_backoff))
                    attempt += 1
                    continue
                raise unreachable(self.url, exc) from exc
            try:
                if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                    response.read()
                    time.sleep(
                        retry_delay(
                            response.status_code, response.headers, attempt, self.max_backoff
                        )
                    )
                    attempt += 1
                    continue
                if call.save_to is not None and response.status_code < 400:
                    return Answer(self._save(response, call.save_to))
                response.read()
                return answer(response.status_code, response.content, response.headers)
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            finally:
                response.close()
                close_files(files)

    @staticmethod
    def _save(response: httpx.Response, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = partial_path(target)
        with part.open("wb") as fh:
            for chunk in response.iter_bytes():
                fh.write(chunk)
        part.replace(target)
        return target

    # --- operations (see quantlab.client.ops) --------------------------------------------

    me = _op(ops.me)
    create_token = _op(ops.create_token)
    list_datasets = _op(ops.list_datasets)
    get_dataset = _op(ops.get_dataset)
    preview = _op(ops.preview)
    ohlcv = _op(ops.ohlcv)
    export_dataset = _op(ops.export_dataset)
    import_files = _job(ops.import_files)
    import_frame = _job(ops.import_frame)
    get_import = _op(ops.get_import)
    factor_values = _op(ops.factor_values)
    evaluate_factor = _job(ops.evaluate_factor)
    get_evaluation = _op(ops.get_evaluation)
    run_backtest = _job(ops.run_backtest)
    list_backtests = _op(ops.list_backtests)
    get_backtest = _op(ops.get_backtest)
    metrics = _op(ops.metrics)
    equity = _op(ops.equity)
    drawdown = _op(ops.drawdown)
    trades = _op(ops.trades)
    positions = _op(ops.positions)
    export_backtest = _op(ops.export_backtest)
    list_tasks = _op(ops.list_tasks)
    get_task = _op(ops.get_task)
    task_logs = _op(ops.task_logs)
    cancel_task = _op(ops.cancel_task)
    pause_task = _op(ops.pause_task)
    resume_task = _op(ops.resume_task)

    def run(self, job_id: str) -> Run:
        """A handle on an existing job (to wait for it, follow its events, control it)."""
        return Run(self, Submitted(kind="job", id=job_id, job_id=job_id))


class Run:
    """A started job: ``wait()``, ``events()``, ``pause()``, ``resume()``, ``cancel()``,
    ``result()`` (the backtest, evaluation or import it produced)."""

    def __init__(self, client: Client, submitted: Submitted) -> None:
        self.client = client
        self.kind = submitted.kind
        self.id = submitted.id
        self.job_id = submitted.job_id

    def __repr__(self) -> str:
        return f"Run(kind={self.kind!r}, id={self.id!r}, job_id={self.job_id!r})"

    def status(self) -> Job:
        """The job now."""
        return self.client.get_task(self.job_id)

    def pause(self) -> Job:
        """Pause the job."""
        return self.client.pause_task(self.job_id)

    def resume(self) -> Job:
        """Resume the paused job."""
        return self.client.resume_task(self.job_id)

    def cancel(self) -> Job:
        """Cancel the job."""
        return self.client.cancel_task(self.job_id)

    def result(self) -> Any:
        """What the job produced (a Backtest, a FactorEvaluation, the import, or the Job)."""
        return self.client.run_flow(ops.resource(self.kind, self.id))

    def wait(
        self,
        progress: bool | None = None,
        timeout: float | None = None,
        transport: str = "auto",
        raise_on_failure: bool = True,
    ) -> Job:
        """Block until the job finishes; returns it (a failed job raises by default).

        ``progress``: show a bar (default: in notebooks and terminals only). ``transport``:
        ``auto`` (WebSocket, polling when the handshake is refused), ``ws`` or ``poll``.
        The stream reconnects when the server restarts mid-job.
        """
        bar = ev.ProgressBar(progress, f"{self.kind} {self.id[:8]}")
        state = ev.EventState()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for _ in self._stream(state, transport, deadline):
                bar.update(state)
        finally:
            bar.close()
        job = self.status()
        if raise_on_failure and job.status == "failed":
            raise ev.failure(job)
        return job

    def events(self, transport: str = "auto") -> Iterator[dict[str, Any]]:
        """The job's events until its completion (see :mod:`quantlab.client.events`)."""
        return self._stream(ev.EventState(), transport, None)

    def _stream(
        self, state: ev.EventState, transport: str, deadline: float | None
    ) -> Iterator[dict[str, Any]]:
        from websockets.sync.client import connect

        mode = transport
        lost_since: float | None = None
        while not state.done:
            if mode == "poll":
                yield from self._poll(state, deadline)
                return
            try:
                ticket = self.client.run_flow(ops.ws_ticket(self.job_id))
                url = ev.ws_url(self.client.url, self.job_id, ticket)
                with connect(url, open_timeout=10, close_timeout=2) as ws:
                    lost_since = None
                    while True:
                        wait = _remaining(deadline, self.job_id, ev.RECV_TIMEOUT_S)
                        message = state.feed(json.loads(ws.recv(timeout=wait)))
                        if message is not None:
                            yield message
                        if state.done:
                            return
            except QuantlabAPIError as exc:
                if exc.code == "TIMEOUT":
                    raise
                failure: BaseException = exc
            except Exception as exc:
                failure = exc
            kind = ev.classify(failure)
            if kind == "fatal":
                raise failure
            if kind == "fallback" and mode == "auto":
                mode = "poll"
                continue
            now = time.monotonic()
            lost_since = lost_since or now
            if now - lost_since > ev.RECONNECT_WINDOW_S:
                raise ev.lost_error(self.job_id, failure) from failure
            time.sleep(1.0)

    def _poll(self, state: ev.EventState, deadline: float | None) -> Iterator[dict[str, Any]]:
        first = True
        lost_since: float | None = None
        while True:
            _remaining(deadline, self.job_id, 0)
            try:
                job = self.client.get_task(self.job_id)
            except QuantlabAPIError as exc:
                if ev.classify(exc) != "lost":
                    raise
                now = time.monotonic()
                lost_since = lost_since or now
                if now - lost_since > ev.RECONNECT_WINDOW_S:
                    raise ev.lost_error(self.job_id, exc) from exc
                time.sleep(ev.POLL_INTERVAL_S)
                continue
            lost_since = None
            yield from state.from_poll(job.raw, first)
            first = False
            if state.done:
                return
            time.sleep(ev.POLL_INTERVAL_S)


def _remaining(deadline: float | None, job_id: str, cap: float) -> float:
    """Seconds left before ``deadline`` (at most ``cap``); a passed deadline raises."""
    if deadline is None:
        return cap
    left = deadline - time.monotonic()
    if left <= 0:
        raise QuantlabAPIError(f"job {job_id} did not finish in time", code="TIMEOUT")
    return min(cap, left) if cap else left
