"""The visual builder's figures (issue 15), each beside what it is compared with.

1. validate + compile a 200-node graph, in process (no peer has a graph compiler to run
   here: BigQuant's builder is a closed web service). Floor: < 50 ms.
2. node preview of ``Mean($close, 20)`` on 300 symbols × 1 year through the HTTP API
   (POST /api/builder/preview → answer), beside pandas computing the same rolling mean on
   the same panel in process. Floor: < 200 ms.
3. quick test of 1 year × 300 symbols through the HTTP API, POST → job ``completed``
   (polled every 10 ms), beside the same compiled spec sent to POST /api/backtests (the
   engine's own run path, persisted results and all). Floor: p50 < 1 s.

A real ``quantlab serve`` on loopback with a fresh SQLite data dir and the demo dataset
(300 × 756 days). Figures are noisy when other work shares the machine; the load average
is printed with them.

Run: .venv/bin/python benchmarks/builder.py [--n 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.builder import Graph, compile_graph, validate
from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_server import demo_server


def _node(nid: str, type_: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "type": type_, "params": params}


def _edge(src: str, dst: str, port: str) -> dict[str, Any]:
    return {"id": f"{src}-{dst}-{port}", "source": src, "target": dst, "target_port": port}


def wide_graph(n: int) -> dict[str, Any]:
    """About ``n`` blocks: moving averages of the close summed in a balanced tree, top-k."""
    nodes, edges, layer = [_node("c", "field", name="close")], [], []
    for i in range((n - 3) // 2 + 1):
        nodes.append(_node(f"w{i}", "op.Mean", window=2 + i))
        edges.append(_edge("c", f"w{i}", "x"))
        layer.append(f"w{i}")
    k = 0
    while len(layer) > 1:
        nxt = []
        for a, b in zip(layer[::2], layer[1::2], strict=False):
            nodes.append(_node(f"s{k}", "op.Add"))
            edges += [_edge(a, f"s{k}", "x"), _edge(b, f"s{k}", "y")]
            nxt.append(f"s{k}")
            k += 1
        layer = nxt + ([layer[-1]] if len(layer) % 2 else [])
    nodes += [_node("pick", "select.top_k", top_k=30, n_drop=5), _node("out", "strategy")]
    edges += [_edge(layer[0], "pick", "score"), _edge("pick", "out", "select")]
    return {"name": "wide", "nodes": nodes, "edges": edges}


def dual_ma_graph() -> dict[str, Any]:
    """Buy on the 5/20 cross up, sell on the cross down (the preview reads ``slow``)."""
    nodes = [
        _node("close", "field", name="close"),
        _node("fast", "op.Mean", window=5),
        _node("slow", "op.Mean", window=20),
        _node("up", "op.Cross"),
        _node("down", "op.CrossDown"),
        _node("buy", "signal.entry"),
        _node("sell", "signal.exit"),
        _node("size", "sizing.fixed_fraction", fraction=0.02),
        _node("out", "strategy"),
    ]
    edges = [
        _edge("close", "fast", "x"),
        _edge("close", "slow", "x"),
        _edge("fast", "up", "x"),
        _edge("slow", "up", "y"),
        _edge("fast", "down", "x"),
        _edge("slow", "down", "y"),
        _edge("up", "buy", "when"),
        _edge("down", "sell", "when"),
        _edge("buy", "out", "entry"),
        _edge("sell", "out", "exit"),
        _edge("size", "out", "sizing"),
    ]
    return {"name": "bench dual ma", "nodes": nodes, "edges": edges}


def ms(samples: list[float]) -> str:
    a = np.array(samples) * 1000
    return f"p50 {np.percentile(a, 50):7.1f} ms  p90 {np.percentile(a, 90):7.1f} ms"


def bench_compile(n: int) -> float:
    data = wide_graph(200)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        graph = Graph.model_validate(data)
        assert not [i for i in validate(graph) if i.severity == "error"]
        compile_graph(graph)
        samples.append(time.perf_counter() - t0)
    print(f"1. validate+compile {len(data['nodes'])} nodes: {ms(samples)}   (no peer to run)")
    return float(np.percentile(samples, 50))


def _wait_job(client: Any, job_id: str) -> None:
    while True:
        job = client.get(f"/api/tasks/{job_id}").json()["data"]
        if job["status"] in ("completed", "failed", "cancelled"):
            assert job["status"] == "completed", job
            return
        time.sleep(0.01)


def _wait_backtest(client: Any, backtest_id: str) -> None:
    while True:
        data = client.get(f"/api/backtests/{backtest_id}").json()["data"]
        if data["status"] in ("completed", "failed", "cancelled"):
            assert data["status"] == "completed", data
            return
        time.sleep(0.01)


def bench_api(client: Any, dataset_id: str, n: int) -> tuple[float, float]:
    body = {"graph": dual_ma_graph(), "node_id": "slow", "dataset_id": dataset_id}
    client.post("/api/builder/preview", json=body)  # warm-up
    ours = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.post("/api/builder/preview", json=body)
        ours.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.text
    preview_p50 = float(np.percentile(ours, 50))
    data = resp.json()["data"]
    start = np.datetime64(data["dates"][0])
    panel = frame_to_panel(demo_frame())
    peer = []
    for _ in range(n):
        t0 = time.perf_counter()
        frame = pd.DataFrame(panel.fields["close"], index=panel.calendar)
        frame.rolling(20, min_periods=1).mean().loc[start:]
        peer.append(time.perf_counter() - t0)
    print(
        f"2. preview Mean($close, 20), {len(data['dates'])} days × "
        f"{len(panel.instruments)} symbols: ours (HTTP) {ms(ours)}   "
        f"pandas rolling in process {ms(peer)}"
    )

    draft = client.post("/api/builder/drafts", json={"name": "bench", "graph": dual_ma_graph()})
    did = draft.json()["data"]["id"]
    qt = {"dataset_id": dataset_id, "period": "1Y", "initial_capital": 10_000_000}
    started = client.post(f"/api/builder/drafts/{did}/quick-test", json=qt).json()["data"]
    _wait_job(client, started["job_id"])  # warm-up
    spec = started["spec"]
    ours, peer = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.post(f"/api/builder/drafts/{did}/quick-test", json=qt)
        assert resp.status_code == 202, resp.text
        _wait_job(client, resp.json()["data"]["job_id"])
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        resp = client.post("/api/backtests", json=spec)
        assert resp.status_code == 202, resp.text
        _wait_backtest(client, resp.json()["data"]["id"])
        peer.append(time.perf_counter() - t0)
    print(
        f"3. quick test 1 y × 300 symbols, POST → completed: ours {ms(ours)}   "
        f"same spec via POST /api/backtests {ms(peer)}"
    )
    return preview_p50, float(np.percentile(ours, 50))


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    compile_p50 = bench_compile(max(args.n, 50))
    with demo_server() as (client, demo_id):
        preview_p50, quick_p50 = bench_api(client, demo_id, args.n)
    print(
        f"floors: compile < 50 ms {'PASS' if compile_p50 < 0.05 else 'FAIL'}; "
        f"preview < 200 ms {'PASS' if preview_p50 < 0.2 else 'FAIL'}; "
        f"quick test p50 < 1 s {'PASS' if quick_p50 < 1 else 'FAIL'}   "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
