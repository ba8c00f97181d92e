"""A job's event stream survives the server restarting mid-job: the client reconnects with a
new ticket, gets a fresh snapshot and follows the job to its completion."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from quantlab.client import Client
from tests.client.conftest import LiveServer, dual_ma_spec

pytestmark = pytest.mark.slow


def test_progress_stream_reconnects_after_a_server_restart(sqlite_live: LiveServer) -> None:
    live = sqlite_live
    dataset_id = live.demo_dataset_id()
    with Client(live.url, username="admin", password=live.password) as client:
        run = client.run_backtest(dual_ma_spec(dataset_id, "all", "2020-03-02"))
        for event in run.events():  # let it start simulating, then hold it
            if event["type"] == "progress" and event["data"].get("stage") == "simulating":
                break
        run.pause()
        deadline = time.monotonic() + 300
        while run.status().status != "paused":
            assert time.monotonic() < deadline, "the run never paused"
            time.sleep(0.5)

    seen: list[dict[str, Any]] = []
    failure: list[BaseException] = []

    def follow() -> None:
        try:
            with Client(live.url, username="admin", password=live.password) as watcher:
                for event in watcher.run(run.job_id).events():
                    seen.append(event)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not seen:
        assert time.monotonic() < deadline and not failure, failure
        time.sleep(0.2)
    assert seen[0]["type"] == "connected" and seen[0]["data"]["status"] == "paused"

    live.stop(signal.SIGTERM)
    time.sleep(2)  # the follower is now retrying against a closed port
    live.start()
    with Client(live.url, username="admin", password=live.password) as client:
        assert client.get_task(run.job_id).status == "paused"  # nothing lost in the restart
        client.resume_task(run.job_id)
    thread.join(timeout=600)
    assert not thread.is_alive() and not failure, failure
    kinds = [e["type"] for e in seen]
    assert kinds.count("connected") >= 2, kinds  # a second snapshot after reconnecting
    assert kinds[-1] == "completion" and seen[-1]["data"]["status"] == "completed", seen[-1]
