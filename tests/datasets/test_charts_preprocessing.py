"""Chart data, chart items and preprocessing through the API, on real stored data."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.datasets.conftest import import_files


def _csv(days: int = 80) -> bytes:
    """Two symbols of deterministic daily bars (one with a missing close)."""
    rng = np.random.default_rng(7)
    dates = pd.bdate_range("2024-01-02", periods=days)
    rows = []
    for sym, base in (("AAA", 10.0), ("BBB", 50.0)):
        close = base * np.exp(np.cumsum(rng.normal(0, 0.02, days)))
        for d, c in zip(dates, close, strict=True):
            rows.append((d.date().isoformat(), sym, c * 0.99, c * 1.02, c * 0.97, c, 1000.0))
    frame = pd.DataFrame(rows, columns=["date", "symbol", "open", "high", "low", "close", "volume"])
    frame.loc[5, "close"] = np.nan
    return frame.to_csv(index=False).encode()


@pytest.fixture
async def stored(client: httpx.AsyncClient, make_user: Any) -> dict[str, Any]:
    user = await make_user()
    done = await import_files(
        client, user.headers, [("bars.csv", _csv())], name=f"c-{uuid.uuid4().hex[:8]}"
    )
    assert done["status"] == "completed", done
    return {"user": user, "ds": done["dataset_id"], "frame": pd.read_csv(io.BytesIO(_csv()))}


async def test_ohlcv_with_ma_and_panes(client: httpx.AsyncClient, stored: dict[str, Any]) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    resp = await client.get(
        "/api/charts/ohlcv",
        headers=h,
        params={"dataset_id": ds, "symbol": "BBB", "ma": "5,20", "indicators": "MACD,RSI"},
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    src = stored["frame"][stored["frame"].symbol == "BBB"].reset_index(drop=True)
    assert data["points"] == len(src) and not data["aggregated"]
    ma5 = src["close"].rolling(5).mean()
    assert data["overlays"]["MA5"][:4] == [None] * 4
    assert data["overlays"]["MA5"][10] == pytest.approx(ma5[10])
    assert set(data["panes"]) == {"MACD", "RSI"}
    assert len(data["panes"]["MACD"]["DIF"]) == len(src)


async def test_ohlcv_downsampling_aggregates_candles(
    client: httpx.AsyncClient, stored: dict[str, Any]
) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    data = (
        await client.get(
            "/api/charts/ohlcv",
            headers=h,
            params={"dataset_id": ds, "symbol": "BBB", "max_points": 10},
        )
    ).json()["data"]
    src = stored["frame"][stored["frame"].symbol == "BBB"].reset_index(drop=True)
    assert data["aggregated"] and data["points"] == 10
    first = data["candles"][0]
    bucket = src.iloc[: len(src) // 10]
    assert first["open"] == pytest.approx(bucket["open"].iloc[0])
    assert first["high"] == pytest.approx(bucket["high"].max())
    assert first["low"] == pytest.approx(bucket["low"].min())
    assert first["volume"] == pytest.approx(bucket["volume"].sum())


async def test_chart_exports_and_png(client: httpx.AsyncClient, stored: dict[str, Any]) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    csv = await client.get(
        "/api/charts/ohlcv", headers=h, params={"dataset_id": ds, "symbol": "AAA", "format": "csv"}
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text))
    assert {"date", "close", "MA5"} <= set(table.columns)
    png = await client.get(
        "/api/charts/ohlcv.png",
        headers=h,
        params={"dataset_id": ds, "symbol": "AAA", "width": 640, "height": 400},
    )
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png.content), format="png")
    assert img.shape[:2] == (400, 640)


async def test_chart_bad_input(client: httpx.AsyncClient, stored: dict[str, Any]) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    base = {"dataset_id": ds, "symbol": "AAA"}
    for extra, status in (
        ({"indicators": "MACD,RSI,KDJ,BOLL"}, 422),
        ({"indicators": "NOPE"}, 422),
        ({"ma": "5,x"}, 422),
        ({"max_points": 1}, 422),
        ({"symbol": "ZZZ"}, 422),
    ):
        resp = await client.get("/api/charts/ohlcv", headers=h, params={**base, **extra})
        assert resp.status_code == status, (extra, resp.text)


async def test_configs_and_annotations_crud_and_scoping(
    client: httpx.AsyncClient, stored: dict[str, Any], make_user: Any
) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    cfg = (
        await client.post(
            "/api/charts/configs", headers=h, json={"name": "main", "config": {"ma": [5]}}
        )
    ).json()["data"]
    ann = await client.post(
        "/api/charts/annotations",
        headers=h,
        json={
            "dataset_id": ds,
            "symbol": "AAA",
            "date": "2024-01-05",
            "price": 10.5,
            "text": "earnings",
        },
    )
    assert ann.status_code == 201
    listed = (
        await client.get("/api/charts/annotations", headers=h, params={"dataset_id": ds})
    ).json()
    assert listed["meta"]["total"] == 1
    other = await make_user()
    assert (
        await client.get(f"/api/charts/configs/{cfg['id']}", headers=other.headers)
    ).status_code == 404
    assert (
        await client.delete(f"/api/charts/configs/{cfg['id']}", headers=other.headers)
    ).status_code == 404
    # annotating a dataset one cannot see is a 404 too
    bad = await client.post(
        "/api/charts/annotations",
        headers=other.headers,
        json={"dataset_id": ds, "symbol": "AAA", "date": "2024-01-05", "text": "x"},
    )
    assert bad.status_code == 404
    assert (await client.delete(f"/api/charts/configs/{cfg['id']}", headers=h)).status_code == 200


async def test_preprocessing_preview_execute_and_templates(
    client: httpx.AsyncClient, stored: dict[str, Any]
) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    pipeline = [
        {"op": "fill_missing", "method": "ffill", "columns": ["close"]},
        {
            "op": "outliers",
            "detect": "std",
            "n_sigma": 3,
            "action": "clip",
            "columns": ["volume"],
            "scope": "whole_sample",
        },
    ]
    prev = await client.post(
        "/api/preprocessing/preview", headers=h, json={"dataset_id": ds, "pipeline": pipeline}
    )
    assert prev.status_code == 200, prev.text
    body = prev.json()["data"]
    assert body["steps"][0]["cells_changed"] == 1  # the one missing close
    assert body["uses_future_information"] is True  # whole-sample outlier bounds
    bad = await client.post(
        "/api/preprocessing/preview",
        headers=h,
        json={
            "dataset_id": ds,
            "pipeline": [
                {
                    "op": "outliers",
                    "detect": "std",
                    "n_sigma": 9,
                    "action": "clip",
                    "scope": "whole_sample",
                }
            ],
        },
    )
    assert bad.status_code == 422 and "n_sigma" in bad.json()["error"]["message"]
    run = await client.post(
        "/api/preprocessing/execute", headers=h, json={"dataset_id": ds, "pipeline": pipeline[:1]}
    )
    assert run.status_code == 202, run.text
    job_id = run.json()["data"]["job_id"]
    for _ in range(600):
        job = (await client.get(f"/api/tasks/{job_id}", headers=h)).json()["data"]
        if job["status"] in ("completed", "failed"):
            break
        import asyncio

        await asyncio.sleep(0.2)
    assert job["status"] == "completed", job
    versions = (await client.get(f"/api/datasets/{ds}/versions", headers=h)).json()["data"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["parent_version"] == 1 and versions[1]["pipeline"][0]["op"] == "fill_missing"
    assert versions[1]["missing"]["close"] == 0
    # templates: at most 20
    for i in range(20):
        r = await client.post(
            "/api/preprocessing/templates", headers=h, json={"name": f"t{i}", "pipeline": pipeline}
        )
        assert r.status_code == 201, r.text
    over = await client.post(
        "/api/preprocessing/templates", headers=h, json={"name": "t20", "pipeline": pipeline}
    )
    assert over.status_code == 409 and over.json()["error"]["code"] == "TEMPLATE_LIMIT_REACHED"


async def test_repair_creates_a_new_version(
    client: httpx.AsyncClient, stored: dict[str, Any]
) -> None:
    h, ds = stored["user"].headers, stored["ds"]
    resp = await client.post(
        f"/api/datasets/{ds}/repair", headers=h, json={"actions": ["drop_invalid_rows"]}
    )
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["data"]["job_id"]
    import asyncio

    for _ in range(600):
        job = (await client.get(f"/api/tasks/{job_id}", headers=h)).json()["data"]
        if job["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.2)
    assert job["status"] == "completed", job
    got = (await client.get(f"/api/datasets/{ds}", headers=h)).json()["data"]
    assert got["latest_version"] == 2
