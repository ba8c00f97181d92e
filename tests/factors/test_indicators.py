"""/api/indicators: the seeded catalog, availability and compute, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quantlab.engine import expr
from quantlab.engine import indicators as ind
from quantlab.engine.data.storage import load_panel

pytestmark = pytest.mark.timeout(120)


async def test_catalog_lists_searches_and_filters(client: Any, researcher: Any) -> None:
    h = researcher.headers
    everything = (await client.get("/api/indicators?size=200", headers=h)).json()
    assert everything["meta"]["total"] == len(ind.list_indicators()) >= 60
    names = [e["name"] for e in everything["data"]]
    assert {"MA", "MACD", "RSI", "KDJ", "PE", "ROE"} <= set(names)

    fin = (await client.get("/api/indicators?category=financial&size=50", headers=h)).json()
    assert fin["meta"]["total"] >= 10
    assert {e["category"] for e in fin["data"]} == {"financial"}

    found = (await client.get("/api/indicators?search=macd", headers=h)).json()["data"]
    assert "MACD" in [e["name"] for e in found]
    zh = (await client.get("/api/indicators?search=市盈率", headers=h)).json()["data"]
    assert [e["name"] for e in zh] == ["PE"]

    paged = (await client.get("/api/indicators?size=5&page=2", headers=h)).json()
    assert [e["name"] for e in paged["data"]] == names[5:10]

    bad = await client.get("/api/indicators?category=astrology", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/api/indicators")).status_code == 401


async def test_spec_and_availability_on_a_dataset(
    client: Any, researcher: Any, make_user: Any, dataset_factory: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    spec = (await client.get("/api/indicators/ma", headers=h)).json()["data"]
    assert spec["name"] == "MA" and spec["zh_name"] == "移动平均线"
    assert spec["params"] == [
        {"name": "n", "default": 5, "min": 1, "max": 5000, "type": "int", "description": "bars"}
    ]
    assert spec["formula"] and "availability" not in spec

    pe = (await client.get(f"/api/indicators/PE?dataset_id={ds}", headers=h)).json()["data"]
    assert pe["availability"]["available"] is False
    assert pe["availability"]["missing"] == ["eps"] and "eps" in pe["availability"]["reason"]
    ma = (await client.get(f"/api/indicators/MA?dataset_id={ds}", headers=h)).json()["data"]
    assert ma["availability"] == {
        "dataset_id": ds,
        "available": True,
        "reason": None,
        "missing": [],
    }

    unknown = await client.get("/api/indicators/NOPE", headers=h)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "INDICATOR_NOT_FOUND"
    stranger = await make_user()
    hidden = await client.get(f"/api/indicators/MA?dataset_id={ds}", headers=stranger.headers)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "DATASET_NOT_FOUND"


def _column(rows: list[dict[str, Any]], symbol: str, key: str) -> dict[str, Any]:
    return {r["date"]: r[key] for r in rows if r["symbol"] == symbol}


async def test_compute_ma_by_hand_and_macd_against_the_engine(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    body = {"dataset_id": ds, "indicator": "MA", "params": {"n": 5}, "symbols": ["S0"]}
    resp = await client.post("/api/indicators/compute", headers=h, json=body)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["columns"] == ["date", "symbol", "MA"] and data["params"] == {"n": 5}
    assert data["version"] == 1 and data["total_rows"] == 60
    assert len(data["rows"]) == 20 and data["truncated"] is True  # preview by default
    values = [r["MA"] for r in data["rows"]]
    # S0 closes 10, 11, 12, ...: MA5 is NaN (null) for 4 bars, then (10+...+14)/5 = 12
    assert values[:4] == [None] * 4
    assert values[4] == pytest.approx(12.0) and values[5] == pytest.approx(13.0)
    assert data["rows"][0] == {"date": "2024-01-02", "symbol": "S0", "MA": None}

    # MACD on every symbol, against a direct engine call on the stored version
    full = {"dataset_id": ds, "indicator": "MACD", "limit": 10000}
    rows = (await client.post("/api/indicators/compute", headers=h, json=full)).json()["data"]
    assert rows["columns"] == ["date", "symbol", "DIF", "DEA", "MACD"]
    # S7 exists from day 10 only; S3's suspension day is a row with null values
    assert rows["total_rows"] == 8 * 60 - 10 and len(rows["rows"]) == rows["total_rows"]
    async with app.state.db.sessionmaker() as session:
        from quantlab.datasets import service as dataset_service
        from tests.helpers.datasets import Owner

        panel, _ = await dataset_service.load_dataset_panel(
            session, Owner(researcher.id), ds, app.state.settings.data_dir
        )
    expected = ind.compute("MACD", panel)
    got = _column(rows["rows"], "S5", "MACD")
    j = list(panel.instruments).index("S5")
    for t, day in enumerate(panel.calendar):
        want = expected["MACD"][t, j]
        assert got[str(day)] == pytest.approx(want, rel=1e-12)
    s3 = _column(rows["rows"], "S3", "DIF")
    assert s3[str(panel.calendar[20])] is None

    # the result does not depend on the query start: EMAs run over all history first
    later = {**full, "start": str(panel.calendar[30])}
    part = (await client.post("/api/indicators/compute", headers=h, json=later)).json()["data"]
    assert part["total_rows"] == 8 * 30
    assert _column(part["rows"], "S5", "MACD") == {
        d: v for d, v in got.items() if d >= str(panel.calendar[30])
    }


async def test_compute_expression_and_every_error(
    client: Any, researcher: Any, make_user: Any, dataset_factory: Any, app: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    url = "/api/indicators/compute"
    text = "Mean($close, 5) / $close"
    body = {"dataset_id": ds, "expression": text, "limit": 10000}
    data = (await client.post(url, headers=h, json=body)).json()["data"]
    assert data["columns"] == ["date", "symbol", "value"] and data["expression"] == text
    s0 = _column(data["rows"], "S0", "value")
    # day 4: closes 10..14, mean 12, over 14 (float32 like Qlib)
    assert s0["2024-01-08"] == pytest.approx(12.0 / 14.0, rel=1e-6)
    assert s0["2024-01-02"] == pytest.approx(1.0)  # min_periods 1 as in Qlib

    panel = load_panel(_version_path(app, ds), cache=None)
    want = expr.evaluate(text, panel, cache=None)[text]
    j = list(panel.instruments).index("S6")
    got = _column(data["rows"], "S6", "value")
    assert [got[str(d)] for d in panel.calendar] == pytest.approx(want[:, j].tolist(), rel=1e-6)

    # start independence: a window's look-back is loaded before the start
    start = str(panel.calendar[25])
    later = (await client.post(url, headers=h, json={**body, "start": start})).json()["data"]
    assert _column(later["rows"], "S6", "value") == {d: v for d, v in got.items() if d >= start}

    async def error(payload: dict[str, Any], status: int, code: str) -> dict[str, Any]:
        resp = await client.post(url, headers=h, json={"dataset_id": ds, **payload})
        assert resp.status_code == status, resp.text
        err = resp.json()["error"]
        assert err["code"] == code, err
        return dict(err)

    syntax = await error({"expression": "Mean($close, 5"}, 422, "INVALID_EXPRESSION")
    assert syntax["details"]["kind"] == "syntax" and syntax["details"]["position"] == 14
    field = await error({"expression": "$close / $nope"}, 422, "INVALID_EXPRESSION")
    assert field["details"]["kind"] == "unknown_field" and field["details"]["position"] == 9
    ahead = await error({"expression": "Ref($close, -1)"}, 422, "INVALID_EXPRESSION")
    assert ahead["details"]["kind"] == "lookahead"
    param = await error({"indicator": "MA", "params": {"n": 0}}, 422, "INDICATOR_PARAM_INVALID")
    assert param["details"]["param"] == "n"
    assert (param["details"]["min"], param["details"]["max"]) == (1, 5000)
    assert "[1, 5000]" in param["message"]
    extra = await error({"indicator": "MA", "params": {"m": 3}}, 422, "INDICATOR_PARAM_INVALID")
    assert extra["details"]["param"] == "m"
    await error({"indicator": "NOPE"}, 404, "INDICATOR_NOT_FOUND")
    missing = await error({"indicator": "PE"}, 422, "INDICATOR_UNAVAILABLE")
    assert missing["details"]["missing"] == ["eps"]
    await error({"indicator": "MA", "expression": "$close"}, 422, "VALIDATION_ERROR")
    await error({"expression": "$close", "symbols": ["ZZZ"]}, 422, "UNKNOWN_SYMBOLS")
    await error({"expression": "$close", "version": 9}, 404, "DATASET_VERSION_NOT_FOUND")

    stranger = await make_user()
    resp = await client.post(url, headers=stranger.headers, json=body)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "DATASET_NOT_FOUND"


def _version_path(app: Any, dataset_id: str) -> Any:
    root = app.state.settings.data_dir / "datasets" / dataset_id
    (path,) = [p for p in root.iterdir() if p.is_dir()]
    return path


def test_expression_values_are_float32_rounded() -> None:
    """The JSON of a float32 result is its shortest float32 text (12/14 stays readable)."""
    from quantlab.factors.compute import _json_floats

    values = np.array([12.0 / 14.0, np.nan], dtype=np.float32)
    assert _json_floats(values) == [0.85714287, None]
