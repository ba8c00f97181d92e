"""The async client on each backend: ``async for event in run.events()`` over the WebSocket
and over polling, and pause, resume and cancel of a running backtest."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from quantlab.client import AsyncClient, QuantlabAPIError
from tests.client.conftest import LiveServer, dual_ma_spec

pytestmark = pytest.mark.slow


async def _events(run: Any, transport: str) -> list[dict[str, Any]]:
    return [event async for event in run.events(transport=transport)]


@pytest.mark.parametrize("transport", ["ws", "poll"])
async def test_events_stream_from_connected_to_completion(live: LiveServer, transport: str) -> None:
    dataset_id = live.demo_dataset_id()
    async with AsyncClient(live.url, username="admin", password=live.password) as client:
        run = await client.run_backtest(dual_ma_spec(dataset_id, ["000000.SZ"], "2021-06-01"))
        events = await asyncio.wait_for(_events(run, transport), 600)
        backtest = await run.result()
        # a finished job still answers: the snapshot, then its completion
        again = await asyncio.wait_for(_events(run, transport), 120)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "connected" and kinds[-1] == "completion", kinds
    assert events[-1]["data"]["status"] == "completed"
    assert all(e["job_id"] == run.job_id for e in events)
    assert backtest.status == "completed" and backtest.metrics
    assert [e["type"] for e in again] == ["connected", "completion"]
    if transport == "ws":  # the live stream carries the run's trade log lines
        assert "log" in kinds or "progress" in kinds


async def _cancel(run: Any) -> Any:
    """Cancel; the server answers 409 "...; retry" while a resumed job is being picked up."""
    for _ in range(60):
        try:
            return await run.cancel()
        except QuantlabAPIError as exc:
            if exc.status != 409 or "retry" not in exc.message:
                raise
        await asyncio.sleep(0.5)
    raise AssertionError("the job never settled enough to be cancelled")


async def test_pause_resume_and_cancel(live: LiveServer) -> None:
    dataset_id = live.demo_dataset_id()
    spec = dual_ma_spec(dataset_id, "all", "2020-03-02")
    async with AsyncClient(live.url, username="admin", password=live.password) as client:
        for _ in range(3):  # a busy machine may deliver the event after the last chunk
            run = await client.run_backtest(spec)
            async for event in run.events():
                if event["type"] == "progress" and event["data"].get("stage") == "simulating":
                    break
            try:
                paused = await run.pause()
                break
            except QuantlabAPIError as exc:  # it finished between the event and the request
                assert exc.code == "JOB_ILLEGAL_TRANSITION", exc
                assert (await run.status()).status == "completed"
        else:
            pytest.fail("three runs ended before they could be paused")
        assert paused.status in ("running", "paused")  # paused at the next chunk boundary
        for _ in range(600):
            if (await run.status()).status == "paused":
                break
            await asyncio.sleep(0.5)
        assert (await run.status()).status == "paused"
        resumed = await run.resume()
        assert resumed.status in ("pending", "running")
        try:
            cancelled = await _cancel(run)
        except QuantlabAPIError as exc:
            # the resumed run can finish before the cancel arrives (it is ~1 s of work)
            assert exc.code == "JOB_ILLEGAL_TRANSITION", exc
            assert (await run.status()).status == "completed"
            return
        assert cancelled.status in ("cancelled", "running", "pending")
        final = await run.wait(progress=False, timeout=600)
        assert final.status == "cancelled"
        with pytest.raises(QuantlabAPIError) as info:
            await run.pause()
        assert info.value.status == 409
