"""Research fidelity through the API: a Qlib folder imported as a dataset declares
back-adjusted prices, so its backtests fill at raw prices (close / factor) and the trade
view shows both prices; a dated universe (the folder's csi300.txt) limits buys to
members; $vwap is accepted when amount and volume exist; bad references are 4xx."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quantlab.engine.data.qlib_bin import read_qlib, read_qlib_instruments
from tests.backtests.conftest import dual_ma, make_dataset, market_frame, start, wait_done
from tests.datasets.conftest import import_files

NAMES = ["SH601012", "SH600519", "SH600036", "SZ000001", "SZ000002", "SH601318"]


def _qlib_zip(root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel in ("calendars/day.txt", "instruments/all.txt", "instruments/csi300.txt"):
            zf.write(root / rel, f"cn_data/{rel}")
        for name in NAMES:
            for f in (root / "features" / name).iterdir():
                zf.write(f, f"cn_data/features/{name}/{f.name}")
    return buf.getvalue()


@pytest.mark.realdata
async def test_qlib_dataset_trades_raw_prices_within_its_dated_universe(
    client: Any, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    h = alice.headers
    root = realdata / "qlib/cn_data_csi300_sample"
    # This dump keeps volume in raw shares (official Qlib divides it by the factor).
    name = f"fidelity-{uuid.uuid4().hex[:8]}"
    files = [("qlib.zip", _qlib_zip(root))]
    done = await import_files(client, h, files, name=name, options={"volume_basis": "raw"})
    assert done["status"] == "completed", done
    ds = done["dataset_id"]
    body = {
        "name": "momentum csi300",
        "dataset_id": ds,
        "dated_universe": "csi300",
        "start": "2019-01-02",
        "end": "2020-12-31",
        "initial_capital": 1_000_000,
        "preset": "cn_a_share",
        "execution": {"price": "close"},
        "strategy": {
            "kind": "scores",
            "score": "$close / Ref($close, 20) - 1",
            "top_k": 3,
            "n_drop": 1,
            "rebalance": "weekly",
        },
    }
    backtest_id = await start(client, h, body)
    row = await wait_done(client, h, backtest_id)
    assert row["status"] == "completed", row
    resp = await client.get(f"/api/backtests/{backtest_id}/trades?size=200", headers=h)
    assert resp.status_code == 200, resp.text
    trades = resp.json()["data"]
    assert len(trades) > 20
    panel = read_qlib(root, instruments=NAMES, start="2019-01-02", end="2020-12-31")
    spans = read_qlib_instruments(root, "csi300")
    names = [str(s) for s in panel.instruments]
    for t in trades:
        i = int(np.searchsorted(panel.calendar, np.datetime64(t["date"])))
        j = names.index(t["symbol"])
        factor = panel["factor"][i, j]
        assert t["price"] == pytest.approx(panel["close"][i, j] / factor, rel=1e-6)
        assert t["adjusted_price"] == pytest.approx(panel["close"][i, j], rel=1e-6)
        if t["side"] == "BUY":
            assert t["quantity"] % 100 == 0
            day = np.datetime64(t["date"])
            assert any(lo <= day <= hi for lo, hi in spans[t["symbol"]]), t
    assert any(t["adjusted_price"] > 2 * t["price"] for t in trades)  # factors well above 1
    # an unknown dated universe is refused before any job starts
    resp = await client.post("/api/backtests", json={**body, "dated_universe": "sp500"},
                             headers=h)  # fmt: skip
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "BACKTEST_INVALID_CONFIG" and "sp500" in err["message"]
    assert err["details"] == {"dated_universe": "sp500"}


async def test_vwap_is_accepted_when_amount_and_volume_exist(
    app: Any, client: Any, make_user: Any
) -> None:
    alice = await make_user()
    frame = market_frame()
    frame["amount"] = frame["volume"] * (frame["high"] + frame["low"]) / 2
    with_amount = await make_dataset(app, alice.id, frame)
    without = await make_dataset(app, alice.id)
    body = dual_ma(with_amount)
    body["strategy"] = {**body["strategy"], "entry": "$close > $vwap * 1.005"}
    backtest_id = await start(client, alice.headers, body)
    row = await wait_done(client, alice.headers, backtest_id)
    assert row["status"] == "completed", row
    resp = await client.get(f"/api/backtests/{backtest_id}/trades", headers=alice.headers)
    assert resp.json()["data"] and all(t["adjusted_price"] is None for t in resp.json()["data"])
    resp = await client.post("/api/backtests", json={**body, "dataset_id": without},
                             headers=alice.headers)  # fmt: skip
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["kind"] == "unknown_field"
