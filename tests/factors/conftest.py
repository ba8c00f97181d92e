"""Helpers for factor tests: a small synthetic market stored as a real dataset version,
and polling an evaluation until its job ends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.helpers.datasets import store_dataset

DAYS = 60
SYMBOLS = [f"S{i}" for i in range(8)]
LATE_START = 10  # S7 is listed on this day


def market_frame(seed: int = 7) -> pd.DataFrame:
    """8 symbols x 60 business days. S0 closes at 10, 11, 12, ... (hand-checkable); S3 is
    suspended (NaN bar) on day 20; S7 is listed on day 10."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-02", periods=DAYS)
    rows = []
    for j, symbol in enumerate(SYMBOLS):
        if symbol == "S0":
            close = 10.0 + np.arange(DAYS, dtype=float)
        else:
            close = 20.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, DAYS))) + j
        open_ = close * (1 + rng.normal(0.0, 0.005, DAYS))
        high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.01, DAYS)))
        low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.01, DAYS)))
        volume = rng.integers(1_000, 100_000, DAYS).astype(float)
        frame = pd.DataFrame(
            {
                "date": dates,
                "symbol": symbol,
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": volume,
            }
        )
        if symbol == "S3":
            frame.loc[20, ["open", "high", "low", "close", "volume"]] = np.nan
        if symbol == "S7":
            frame = frame.iloc[LATE_START:]
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


async def make_dataset(app: Any, owner_id: str, frame: pd.DataFrame | None = None) -> str:
    """Store ``frame`` as version 1 of a new dataset of ``owner_id``; returns its id."""
    return await store_dataset(app, owner_id, market_frame() if frame is None else frame, "mkt")


@pytest.fixture
def dataset_factory(app: Any) -> Any:
    """``await dataset_factory(user)`` -> id of a fresh synthetic dataset owned by ``user``."""

    async def _make(user: Any, frame: pd.DataFrame | None = None) -> str:
        return await make_dataset(app, user.id, frame)

    return _make


async def wait_evaluation(
    client: httpx.AsyncClient, headers: dict[str, str], evaluation_id: str, timeout: float = 90.0
) -> dict[str, Any]:
    """Poll an evaluation until it completed, failed or was cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        resp = await client.get(f"/api/factors/evaluations/{evaluation_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return body
        if loop.time() > deadline:
            raise AssertionError(f"evaluation {evaluation_id} still {body['status']}: {body}")
        await asyncio.sleep(0.1)
