"""Helpers for backtest tests: a small synthetic market stored as a real dataset version,
a direct engine run of a request (the independent side of the end-to-end checks), and
polling a run until it ends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pandas as pd

from tests.helpers.datasets import store_dataset

DAYS = 300
SYMBOLS = [f"60{i:04d}" for i in range(8)] + ["IDX"]
START = "2023-01-02"


def market_frame(seed: int = 11) -> pd.DataFrame:
    """8 stocks and an index over 300 business days: seeded random walks with slow cycles
    (so moving averages cross), OHLC around the close, volume in shares, and an
    ``industry`` code (1 or 2) per stock."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(START, periods=DAYS)
    frames = []
    for j, symbol in enumerate(SYMBOLS):
        t = np.arange(DAYS)
        drift = 0.08 * np.sin(2 * np.pi * t / (40 + 7 * j) + j)
        close = (10.0 + 3 * j) * np.exp(np.cumsum(rng.normal(0.0, 0.012, DAYS)) + drift)
        close = np.round(close, 2)
        open_ = np.round(close * (1 + rng.normal(0.0, 0.004, DAYS)), 2)
        high = np.maximum(open_, close) * 1.01
        low = np.minimum(open_, close) * 0.99
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "symbol": symbol,
                    "open": open_,
                    "high": np.round(high, 2),
                    "low": np.round(low, 2),
                    "close": close,
                    "volume": rng.integers(2_000_000, 5_000_000, DAYS).astype(float),
                    "industry": float(1 + j % 2),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


async def make_dataset(app: Any, owner_id: str, frame: pd.DataFrame | None = None) -> str:
    """Store ``frame`` as version 1 of a new dataset of ``owner_id``; returns its id."""
    return await store_dataset(app, owner_id, market_frame() if frame is None else frame, "bt")


def dual_ma(dataset_id: str, **overrides: Any) -> dict[str, Any]:
    """A dual moving-average (5/20) signals request on the synthetic market."""
    body: dict[str, Any] = {
        "name": "dual ma",
        "dataset_id": dataset_id,
        "universe": SYMBOLS[:6],
        "start": "2023-03-01",
        "initial_capital": 1_000_000,
        "preset": "us_equity",
        "benchmark": "IDX",
        "strategy": {
            "kind": "signals",
            "entry": "Cross(Mean($close, 5), Mean($close, 20))",
            "exit": "CrossDown(Mean($close, 5), Mean($close, 20))",
            "sizing": {"mode": "fixed_fraction", "fraction": 0.15},
            "max_holdings": 5,
        },
    }
    body.update(overrides)
    return body


def direct_run(frame: pd.DataFrame, body: dict[str, Any]) -> Any:
    """Run ``body`` straight through ``quantlab.engine.run`` on the long frame pivoted to a
    panel (no storage, no job); returns the simulation."""
    from quantlab import engine
    from quantlab.engine.data import Panel

    spec = engine.RunSpec.model_validate(body)
    wide = frame.pivot(index="date", columns="symbol")
    cal = wide.index.to_numpy().astype("datetime64[D]")
    names = list(wide["close"].columns)
    fields = {f: wide[f].to_numpy(dtype=np.float64) for f in frame.columns[2:]}
    panel = Panel.from_arrays(cal, names, fields)
    return engine.run(spec, panel, start=spec.start, end=spec.end).simulation


async def wait_done(
    client: httpx.AsyncClient, headers: dict[str, str], backtest_id: str, timeout: float = 300.0
) -> dict[str, Any]:
    """Poll a backtest until it completed, failed or was cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        resp = await client.get(f"/api/backtests/{backtest_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return body
        if loop.time() > deadline:
            raise AssertionError(f"backtest {backtest_id} still {body['status']}: {body}")
        await asyncio.sleep(0.1)


async def start(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    """POST a request (202) and return the backtest id."""
    resp = await client.post("/api/backtests", json=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["data"]["id"])
