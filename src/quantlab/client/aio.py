"""The asynchronous client: ``AsyncClient`` and the ``AsyncRun`` handle of a job it started.

The same operations as :class:`~quantlab.client.Client` (from :mod:`quantlab.client.ops`),
awaited: ``await client.list_datasets()``, ``async for event in run.events()``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
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
from quantlab.client.sync import _remaining

P = ParamSpec("P")
T = TypeVar("T")


def _op(
    flow: Callable[P, Flow[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    @functools.wraps(flow)
    async def method(self: AsyncClient, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.run_flow(flow(*args, **kwargs))

    return method


def _job(
    flow: Callable[P, Flow[Submitted]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, AsyncRun]]:
    @functools.wraps(flow)
    async def method(self: AsyncClient, *args: P.args, **kwargs: P.kwargs) -> AsyncRun:
        return AsyncRun(self, await self.run_flow(flow(*args, **kwargs)))

    return method


class AsyncClient:
    """An asyncio quantlab client; same arguments and operations as the sync ``Client``."""

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
        self._http = httpx.AsyncClient(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            headers={"User-Agent": f"quantlab-client/{__version__}"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def run_flow(self, flow: Flow[T]) -> T:
        """Drive one operation: send each call it yields and hand back the answers."""
        try:
            call = next(flow)
            while True:
                call = flow.send(await self._send(call))
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _send(self, call: Call) -> Answer:
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
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                close_files(files)
                if isinstance(exc, httpx.ConnectError) and attempt < self.connect_retries:
                    await asyncio.sleep(retry_delay(0, None, attempt, self.max_backoff))
                    attempt += 1
                    continue
                raise unreachable(self.url, exc) from exc
            try:
                if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                    await response.aread()
                    await asyncio.sleep(
                        retry_delay(
                            response.status_code, response.headers, attempt, self.max_backoff
                        )
                    )
                    attempt += 1
                    continue
                if call.save_to is not None and response.status_code < 400:
                    return Answer(await self._save(response, call.save_to))
                await response.aread()
                return answer(response.status_code, response.content, response.headers)
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from exc
            finally:
                await response.aclose()
                close_files(files)

    @staticmethod
    async def _save(response: httpx.Response, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        part = partial_path(target)
        with part.open("wb") as fh:
            async for chunk in response.aiter_bytes():
                fh.write(chunk)
        part.replace(target)
        return target

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

    def run(self, job_id: str) -> AsyncRun:
        """A handle on an existing job."""
        return AsyncRun(self, Submitted(kind="job", id=job_id, job_id=job_id))


class AsyncRun:
    """A started job, awaited: ``await run.wait()``, ``async for event in run.events()``."""

    def __init__(self, client: AsyncClient, submitted: Submitted) -> None:
        self.client = client
        self.kind = submitted.kind
        self.id = submitted.id
        self.job_id = submitted.job_id

    def __repr__(self) -> str:
        return f"AsyncRun(kind={self.kind!r}, id={self.id!r}, job_id={self.job_id!r})"

    async def status(self) -> Job:
        """The job now."""
        return await self.client.get_task(self.job_id)

    async def pause(self) -> Job:
        """Pause the job."""
        return await self.client.pause_task(self.job_id)

    async def resume(self) -> Job:
        """Resume the paused job."""
        return await self.client.resume_task(self.job_id)

    async def cancel(self) -> Job:
        """Cancel the job."""
        return await self.client.cancel_task(self.job_id)

    async def result(self) -> Any:
        """What the job produced (a Backtest, a FactorEvaluation, the import, or the Job)."""
        return await self.client.run_flow(ops.resource(self.kind, self.id))

    async def wait(
        self,
        progress: bool | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the same signature as Run.wait
        transport: str = "auto",
        raise_on_failure: bool = True,
    ) -> Job:
        """Wait until the job finishes (see :meth:`quantlab.client.Run.wait`)."""
        bar = ev.ProgressBar(progress, f"{self.kind} {self.id[:8]}")
        state = ev.EventState()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async for _ in self._stream(state, transport, deadline):
                bar.update(state)
        finally:
            bar.close()
        job = await self.status()
        if raise_on_failure and job.status == "failed":
            raise ev.failure(job)
        return job

    def events(self, transport: str = "auto") -> AsyncIterator[dict[str, Any]]:
        """The job's events until its completion, reconnecting across server restarts."""
        return self._stream(ev.EventState(), transport, None)

    async def _stream(
        self, state: ev.EventState, transport: str, deadline: float | None
    ) -> AsyncIterator[dict[str, Any]]:
        from websockets.asyncio.client import connect

        mode = transport
        lost_since: float | None = None
        while not state.done:
            if mode == "poll":
                async for polled in self._poll(state, deadline):
                    yield polled
                return
            try:
                ticket = await self.client.run_flow(ops.ws_ticket(self.job_id))
                url = ev.ws_url(self.client.url, self.job_id, ticket)
                async with connect(url, open_timeout=10, close_timeout=2) as ws:
                    lost_since = None
                    while True:
                        wait = _remaining(deadline, self.job_id, ev.RECV_TIMEOUT_S)
                        raw = await asyncio.wait_for(ws.recv(), wait)
                        message = state.feed(json.loads(raw))
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
            await asyncio.sleep(1.0)

    async def _poll(
        self, state: ev.EventState, deadline: float | None
    ) -> AsyncIterator[dict[str, Any]]:
        first = True
        lost_since: float | None = None
        while True:
            _remaining(deadline, self.job_id, 0)
            try:
                job = await self.client.get_task(self.job_id)
            except QuantlabAPIError as exc:
                if ev.classify(exc) != "lost":
                    raise
                now = time.monotonic()
                lost_since = lost_since or now
                if now - lost_since > ev.RECONNECT_WINDOW_S:
                    raise ev.lost_error(self.job_id, exc) from exc
                await asyncio.sleep(ev.POLL_INTERVAL_S)
                continue
            lost_since = None
            for message in state.from_poll(job.raw, first):
                yield message
            first = False
            if state.done:
                return
            await asyncio.sleep(ev.POLL_INTERVAL_S)
