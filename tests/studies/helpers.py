"""A small market for study tests, and waiting for a study through the API."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd

DAYS, N = 260, 6
SYMBOLS = [f"60{i:04d}" for i in range(N)]


def market_frame(seed: int = 11) -> pd.DataFrame:
    """Random-walk stocks with enough swings for moving-average crossings."""
    rng = np.random.default_rng(seed)
    ret = 0.02 * rng.normal(size=(DAYS, N)) + 0.004 * np.sin(np.arange(DAYS) / 9.0)[:, None]
    close = np.round(10 * np.cumprod(1 + ret, axis=0), 4)
    dates = pd.bdate_range("2021-01-04", periods=DAYS)
    frames = [
        pd.DataFrame({"date": dates, "symbol": s, "open": close[:, j], "high": close[:, j] * 1.01,
                      "low": close[:, j] * 0.99, "close": close[:, j], "volume": 1e6})
        for j, s in enumerate(SYMBOLS)
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def panel_of(frame: pd.DataFrame) -> Any:
    """The frame as an engine panel, built by hand (not through the datasets service)."""
    from quantlab.engine.data import Panel

    wide = frame.pivot(index="date", columns="symbol")
    cal = wide.index.to_numpy().astype("datetime64[D]")
    fields = {f: wide[f][SYMBOLS].to_numpy(dtype=np.float64)
              for f in ("open", "high", "low", "close", "volume")}  # fmt: skip
    return Panel.from_arrays(cal, SYMBOLS, fields)


def dual_ma(dataset_id: str, **overrides: Any) -> dict[str, Any]:
    """A 3 × 3 grid study of the dual moving-average template."""
    body: dict[str, Any] = {
        "name": "dual MA grid",
        "template": "dual_moving_average",
        "dataset_id": dataset_id,
        "parameters": {"fast": {"min": 5, "max": 15, "step": 5},
                       "slow": {"min": 20, "max": 40, "step": 10}},
        "objectives": ["sharpe", "max_drawdown"],
        "method": "grid",
        "chunk_size": 4,
        "preset": "rules_off",
    }  # fmt: skip
    body.update(overrides)
    return body


async def _wait_final(client: Any, headers: dict[str, str], url: str,
                      timeout: float) -> dict[str, Any]:  # fmt: skip
    """Poll ``url`` until the job behind it is final; returns its data."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        resp = await client.get(url, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()["data"]
        if body["status"] in ("completed", "failed", "cancelled"):
            return dict(body)
        assert loop.time() < deadline, body
        await asyncio.sleep(0.1)


async def wait_study(client: Any, headers: dict[str, str], study_id: str,
                     timeout: float = 240) -> dict[str, Any]:  # fmt: skip
    """Poll until the study's job is final; returns the study."""
    return await _wait_final(client, headers, f"/api/studies/{study_id}", timeout)


async def all_trials(client: Any, headers: dict[str, str], study_id: str) -> list[dict[str, Any]]:
    """Every trial, by number."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        resp = await client.get(f"/api/studies/{study_id}/trials?size=100&page={page}",
                                headers=headers)  # fmt: skip
        assert resp.status_code == 200, resp.text
        items = resp.json()["data"]
        out.extend(items)
        if len(items) < 100:
            return out
        page += 1


async def wait_backtest(client: Any, headers: dict[str, str], backtest_id: str,
                        timeout: float = 240) -> dict[str, Any]:  # fmt: skip
    """Poll until a backtest's job is final; returns the backtest."""
    return await _wait_final(client, headers, f"/api/backtests/{backtest_id}", timeout)
