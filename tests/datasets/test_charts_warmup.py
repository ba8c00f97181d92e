"""Chart series load the warm-up history (no empty first moving-average rows) and PNG
candle colours follow the market by default and the user's preference."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from quantlab.datasets.charts import candle_colors, is_cn_symbol
from quantlab.engine.data.readers import read_file
from tests.helpers.datasets import store_dataset


def test_candle_colours_follow_the_market() -> None:
    assert is_cn_symbol("SH600519") and is_cn_symbol("600519.SH") and is_cn_symbol("000001")
    assert not is_cn_symbol("AAPL") and not is_cn_symbol("SPY_D")
    red, green = "#d62728", "#2ca02c"
    assert candle_colors("auto", "600519.SH") == (red, green)
    assert candle_colors("auto", "AAPL") == (green, red)
    assert candle_colors("green_up", "600519.SH") == (green, red)
    assert candle_colors("red_up", "AAPL") == (red, green)


async def test_moving_average_rows_have_values_from_the_first_day_hand_computed(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    days = pd.bdate_range("2024-01-01", periods=30)
    close = np.arange(1.0, 31.0)
    frame = pd.DataFrame(
        {
            "date": days,
            "symbol": "AAA",
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
        }
    )
    ds = await store_dataset(app, alice.id, frame, "chart")
    params = {"dataset_id": ds, "symbol": "AAA", "start": str(days[9].date()), "ma": "5"}
    data = (await client.get("/api/charts/ohlcv", params=params, headers=alice.headers)).json()
    body = data["data"]
    assert body["bars"] == 21 and body["candles"][0]["date"] == str(days[9].date())
    # day 10's MA5 = mean(6, 7, 8, 9, 10) = 8, from warm-up bars before start
    assert body["overlays"]["MA5"][0] == pytest.approx(8.0)
    resp = await client.get(
        "/api/charts/ohlcv", params={**params, "format": "csv"}, headers=alice.headers
    )
    table = pd.read_csv(io.StringIO(resp.text))
    assert table["MA5"].iloc[0] == pytest.approx(8.0) and table["MA5"].notna().all()


@pytest.mark.realdata
async def test_real_chart_warm_up_and_red_up_candles(
    app: Any, client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    path = realdata / "cn/qbot_tushare_qfq_2010_2020/600519.SH.csv"
    frame = read_file(path).frame[["date", "symbol", "open", "high", "low", "close", "volume"]]
    ds = await store_dataset(app, alice.id, frame, "chart")
    params = {"dataset_id": ds, "symbol": "600519.SH", "start": "2019-01-02", "end": "2019-06-28"}
    url = "/api/charts/ohlcv"
    body = (
        await client.get(url, params={**params, "ma": "20,60", "indicators": "MACD"},
                         headers=alice.headers)
    ).json()["data"]  # fmt: skip
    # independent: pandas over the whole file, read at the first shown date
    src = pd.read_csv(path).sort_values("trade_date").reset_index(drop=True)
    first = int(np.flatnonzero(src["trade_date"] >= 20190102)[0])
    ma60 = src["close"].rolling(60).mean().iloc[first]
    assert body["overlays"]["MA60"][0] == pytest.approx(ma60)
    assert all(v is not None for v in body["overlays"]["MA20"])
    assert body["panes"]["MACD"] and all(v[0] is not None for v in body["panes"]["MACD"].values())
    from PIL import Image

    def colour_share(png: bytes) -> tuple[float, float]:
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        red = ((r > 180) & (g < 90) & (b < 90)).mean()
        green = ((g > 130) & (r < 90) & (b < 90)).mean()
        return float(red), float(green)

    png_url = "/api/charts/ohlcv.png"
    auto = (await client.get(png_url, params=params, headers=alice.headers)).content
    resp = await client.put(
        "/api/user/preferences", json={"candle_colors": "green_up"}, headers=alice.headers
    )
    assert resp.status_code == 200 and resp.json()["data"]["candle_colors"] == "green_up"
    western = (await client.get(png_url, params=params, headers=alice.headers)).content
    up = (src["close"] > src["open"]).iloc[first : first + 120].mean()
    down = (src["close"] < src["open"]).iloc[first : first + 120].mean()
    red_auto, green_auto = colour_share(auto)
    red_w, green_w = colour_share(western)
    assert red_auto > 0 and green_auto > 0
    # the same candles, colours swapped: red marks the up days by default on an A-share
    assert (red_auto > green_auto) == (up > down)
    assert (red_w > green_w) == (down > up)
