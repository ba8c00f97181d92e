"""Optimiser benchmark: the engine's search driver against vectorbt's chunked sweep, same
process, same data; and Optuna TPE throughput with Optuna's own share of the time.

    .venv/bin/python benchmarks/optimise.py            # full size
    .venv/bin/python benchmarks/optimise.py --quick    # 100 symbols, 60 TPE trials

W2  the 90-pair dual-MA grid (fast 5..50 step 5 × slow 20..200 step 20, fast < slow) on
    500 seeded synthetic symbols × 2,520 days as one grid study through
    ``quantlab.engine.optimise.grid_search`` (chunks through ``engine.run_batch``, metrics
    per trial, trials streamed to a callback), memory measured; vectorbt's chunked sweep of
    the same grid on a subset of symbols, extrapolated linearly (as benchmarks/backtest.py).
    W2 API: the same grid as one study through the HTTP API of a real ``quantlab serve``
    (embedded default: SQLite, the local job pool), POST /api/studies to ``completed``
    (floor 3 s), every trial stored with its metrics and daily returns, the summary and the
    PBO / DSR report computed; the engine's share (the job's logged timings) and the time
    above it are printed; the server's process-tree RSS growth is sampled for the
    whole grid and for half of it (memory flat in the number of pairs).
TPE 500 trials of the low-volatility top-k template (window, top_k, n_drop) on 300 × 1,500,
    seeded, asked 32 at a time (a study's default); trials per second (floor 40/s) and
    Optuna's own time per trial; then the same with early stopping (pruned on a prefix).

Timings are single runs after a warm-up (Numba compilation excluded); on a shared 2-core
machine they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from backtest import FAST, SLOW, PeakRSS, expr_spec, line, synthetic, vbt_dual_ma
from live_server import free_port

from quantlab.api.composition import MODEL_MODULES
from quantlab.engine.backtest.crossover import window_pairs
from quantlab.engine.library import TEMPLATES, Constraint
from quantlab.engine.library.examples import template_spec
from quantlab.engine.optimise import Dimension, Goal, Space, grid_search, tpe_search
from quantlab.engine.optimise.space import space_from_params


def w2(
    n: int, vbt_symbols: int, vbt_chunk: int, with_vbt: bool, api_seconds: float | None = None
) -> None:
    panel = synthetic(n, 2520)
    entry = "Cross(Mean($close,{fast}), Mean($close,{slow}))"
    exit_ = "CrossDown(Mean($close,{fast}), Mean($close,{slow}))"
    spec = expr_spec(entry, exit_, fast=10, slow=30)
    space = Space((Dimension("fast", low=5, high=50, step=5),
                   Dimension("slow", low=20, high=200, step=20)),
                  (Constraint(left="fast", op="<", right="slow"),))  # fmt: skip
    fasts, slows = window_pairs(FAST, SLOW)
    goal = Goal.parse(["sharpe"])
    print(f"W2  grid study of {len(fasts)} pairs on {n} symbols × 2520 days")
    small = panel.select(instruments=list(panel.instruments[:3]))
    grid_search(spec, Space((Dimension("fast", choices=(5,)), Dimension("slow", choices=(20,)))),
                small, goal)  # fmt: skip  # compile
    finals: list[float] = []
    pairs: list[tuple[int, int]] = []

    def keep(trial: object) -> None:
        pairs.append((trial.params["fast"], trial.params["slow"]))  # type: ignore[attr-defined]
        finals.append(trial.metrics["total_return"])  # type: ignore[attr-defined]

    t0 = time.perf_counter()
    with PeakRSS() as mem:
        out = grid_search(spec, space, panel, goal, on_trial=keep)
    t = time.perf_counter() - t0
    assert out.n_trials == len(fasts) and sorted(pairs) == sorted(zip(fasts, slows, strict=True))
    line(f"quantlab grid_search, {out.n_trials} trials (metrics each)", t,
         f"peak +{mem.mib:.0f} MiB")  # fmt: skip
    print(f"  {out.n_trials / t:.1f} trials/s; best {out.best.params if out.best else None}")
    if not with_vbt:
        return
    import vectorbt as vbt

    close = panel["close"]
    df = pd.DataFrame(close[:, :vbt_symbols])
    vbt_dual_ma(vbt, df.iloc[:300, :2], [5, 10], [20, 20])  # compile
    t0 = time.perf_counter()
    with PeakRSS() as vmem:
        for k in range(0, len(fasts), vbt_chunk):
            vbt_dual_ma(vbt, df, list(fasts[k : k + vbt_chunk]), list(slows[k : k + vbt_chunk]))
    vbt_t = time.perf_counter() - t0
    est = vbt_t * n / vbt_symbols
    line(f"vectorbt, {vbt_symbols} symbols, chunks of {vbt_chunk} pairs (final values only)",
         vbt_t, f"peak +{vmem.mib:.0f} MiB")  # fmt: skip
    line(f"vectorbt for {n} symbols (linear extrapolation)", est)
    print(f"  ratio vectorbt / quantlab search driver: {est / t:.1f}x")
    if api_seconds is not None:
        print(f"  ratio vectorbt / quantlab study via the API: {est / api_seconds:.1f}x")


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], Any]:
    import httpx

    port = free_port()
    env = {**os.environ, "QUANTLAB_DATA_DIR": str(data_dir), "QUANTLAB_PORT": str(port),
           "QUANTLAB_LOG_LEVEL": "WARNING", "QUANTLAB_SEED_DEMO": "false",
           "QUANTLAB_RATE_LIMIT_ENABLED": "false"}  # fmt: skip
    quantlab = str(Path(sys.executable).with_name("quantlab"))
    server = subprocess.Popen(
        [quantlab, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    while True:
        try:
            if client.get("/api/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit("quantlab serve exited during start-up")
        time.sleep(0.05)
    text = (data_dir / "bootstrap-admin.txt").read_text()
    creds = dict(row.split(": ", 1) for row in text.splitlines())
    tokens = client.post("/api/auth/token", data=creds).json()
    client.headers["Authorization"] = f"Bearer {tokens.get('data', tokens)['access_token']}"
    return server, client


async def _store_dataset(data_dir: Path, owner_id: str, panel: Any) -> str:
    """The panel as version 1 of a dataset of ``owner_id``, through the datasets service."""
    from quantlab.datasets import service as dataset_service
    from quantlab.datasets.schemas import DatasetCreate
    from quantlab.engine.data.storage import write_version
    from quantlab.platform.db import Database
    from quantlab.platform.settings import Settings

    for module in MODEL_MODULES:  # every table the datasets' foreign keys name
        importlib.import_module(module)
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    t_len, n = panel["close"].shape
    frame = pd.DataFrame({"date": np.repeat(panel.calendar, n),
                          "symbol": np.tile(panel.instruments, t_len)})  # fmt: skip
    for f in ("open", "high", "low", "close", "volume"):
        frame[f] = panel[f].reshape(-1)
    db = Database(settings.db_url)
    owner = type("Owner", (), {"id": owner_id, "is_admin": True})()
    async with db.sessionmaker() as session:
        create = DatasetCreate(name="w2 synthetic")
        dataset = await dataset_service.create_dataset(session, owner, create)
        path = dataset_service.new_version_dir(data_dir, dataset.id)
        meta = write_version(frame, path)
        await dataset_service.add_version(session, dataset, meta, path, data_dir)
        await session.commit()
        dataset_id = str(dataset.id)
    await db.dispose()
    return dataset_id


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _engine_seconds(client: Any, job_id: str) -> float | None:
    """The engine's share of a study job, from the ``timings`` line the job logs."""
    logs = client.get(f"/api/tasks/{job_id}/logs").json().get("data", [])
    for entry in logs:
        text = entry.get("message", "")
        if text.startswith("timings: "):
            parts = dict(p.split(" ", 1) for p in text[len("timings: ") :].split(", "))
            return float(parts["engine"].split()[0])
    return None


def _study(client: Any, server: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any], int]:
    proc = psutil.Process(server.pid)
    base = peak = _tree_rss(proc)
    t0 = time.perf_counter()
    resp = client.post("/api/studies", json=body)
    assert resp.status_code == 202, resp.text
    sid = resp.json()["data"]["id"]
    while True:
        data = client.get(f"/api/studies/{sid}").json()["data"]
        peak = max(peak, _tree_rss(proc))
        if data["status"] in ("completed", "failed", "cancelled"):
            elapsed = time.perf_counter() - t0
            job = client.get(f"/api/tasks/{data['job_id']}").json()["data"]
            assert data["status"] == "completed", job
            return elapsed, data, peak - base
        time.sleep(0.01)


def w2_api(n: int, t_len: int = 2520) -> float:
    panel = synthetic(n, t_len)
    data_dir = Path(tempfile.mkdtemp(prefix="quantlab-bench-studies-"))
    server, client = _serve(data_dir)
    try:
        me = client.get("/api/auth/me").json()["data"]
        dataset_id = asyncio.run(_store_dataset(data_dir, me["id"], panel))
        entry = "Cross(Mean($close,{fast}), Mean($close,{slow}))"
        exit_ = "CrossDown(Mean($close,{fast}), Mean($close,{slow}))"
        spec = expr_spec(entry, exit_, fast=10, slow=30).model_dump(mode="json")
        spec["dataset_id"] = dataset_id

        def body(slow_max: int) -> dict[str, Any]:  # the default engine batch (chunk_size)
            return {"spec": spec, "method": "grid", "objectives": ["sharpe"],
                    "linked": [{"left": "fast", "op": "<", "right": "slow"}],
                    "parameters": {"fast": {"min": 5, "max": 50, "step": 5},
                                   "slow": {"min": 20, "max": slow_max, "step": 20}}}  # fmt: skip

        warm, _, _ = _study(client, server, {**body(40), "parameters": {
            "fast": {"choices": [5.0]}, "slow": {"choices": [20.0]}}})  # fmt: skip
        print(f"W2 API: one study through POST /api/studies on {n} symbols × {t_len} days "
              f"(first study {warm:.2f} s: worker warm-up)")  # fmt: skip
        for label, slow_max in (("half grid", 100), ("full grid", 200)):
            t, data, mem = _study(client, server, body(slow_max))
            s = data["summary"]
            line(f"quantlab study via API, {label}: {s['n_trials']} trials, POST → completed",
                 t, f"server tree peak +{mem / 2**20:.0f} MiB")  # fmt: skip
            engine = _engine_seconds(client, data["job_id"])
            if engine is not None:
                load = np.round(psutil.getloadavg(), 2)
                print(f"  of which the engine (run_batch in the job) {engine:.2f} s; above the "
                      f"engine {t - engine:.2f} s; load {load}")  # fmt: skip
            if slow_max == 200:
                assert s["n_trials"] == 90, s
                pbo = (s.get("overfitting") or {}).get("pbo")
                print(f"  {s['n_trials'] / t:.1f} trials/s; best {s['best']['params']}; PBO {pbo}; "
                      f"floor 3 s: {'PASS' if t <= 3.0 else 'FAIL'}")  # fmt: skip
        return t
    finally:
        client.close()
        server.terminate()
        server.wait(30)


def tpe(n: int, t_len: int, trials: int, batch: int, early: bool) -> None:
    from quantlab.engine.optimise import EarlyStopping

    panel = synthetic(n, t_len, seed=7)
    template = TEMPLATES["low_volatility"]
    spec = template_spec(template, "synthetic", preset="rules_off")
    space = space_from_params(template.parameters, template.constraints, {
        "window": {"min": 10, "max": 120}, "top_k": {"min": 5, "max": 50},
        "n_drop": {"min": 1, "max": 10}})  # fmt: skip
    goal = Goal.parse(["sharpe"])
    load = np.round(psutil.getloadavg(), 2)
    print(f"TPE {trials} trials, low-volatility top-k on {n} symbols × {t_len} days, "
          f"asked {batch} at a time (a study's default), load {load}")  # fmt: skip
    tpe_search(spec, space, panel.select(instruments=list(panel.instruments[:20])), goal,
               n_trials=2, seed=0, params=template.parameters)  # fmt: skip  # compile
    rules = [("", None)] + ([(" with early stopping", EarlyStopping())] if early else [])
    for label, rule in rules:
        t0 = time.perf_counter()
        with PeakRSS() as mem:
            out = tpe_search(spec, space, panel, goal, n_trials=trials, seed=0, batch=batch,
                             params=template.parameters, early_stopping=rule)  # fmt: skip
        t = time.perf_counter() - t0
        line(
            f"quantlab tpe_search{label}, {out.n_trials} run or pruned "
            f"({out.n_pruned} pruned early)",
            t,
            f"peak +{mem.mib:.0f} MiB",
        )
        rate = trials / t
        print(f"  {rate:.1f} trials/s (floor 40/s: {'PASS' if rate >= 40 else 'FAIL'}); "
              f"Optuna's own time {out.optuna_seconds:.2f} s = "
              f"{1000 * out.optuna_seconds / trials:.2f} ms/trial "
              f"({100 * out.optuna_seconds / t:.0f} % of the study); "
              f"best {out.best.params if out.best else None} "
              f"{out.best.values[0] if out.best else float('nan'):.3f}; "
              f"load {np.round(psutil.getloadavg(), 2)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 symbols, 60 TPE trials")
    parser.add_argument("--no-peers", action="store_true", help="skip vectorbt")
    parser.add_argument("--batch", type=int, default=32,
                        help="TPE trials asked at a time (a study's default: 32)")  # fmt: skip
    parser.add_argument("--no-early-stopping", action="store_true",
                        help="skip the TPE run with early stopping")  # fmt: skip
    parser.add_argument("--no-api", action="store_true", help="skip the W2 study via the API")
    args = parser.parse_args()
    print(f"cpu count {psutil.cpu_count()}, load average {np.round(psutil.getloadavg(), 2)}")
    n = 100 if args.quick else 500
    api = None if args.no_api else w2_api(n)
    w2(n, vbt_symbols=10 if args.quick else 50, vbt_chunk=15, with_vbt=not args.no_peers,
       api_seconds=api)  # fmt: skip
    tpe(100 if args.quick else 300, 1500, 60 if args.quick else 500, args.batch,
        not args.no_early_stopping)  # fmt: skip


if __name__ == "__main__":
    main()
