"""End-to-end runs through the API on both databases: a dual-MA signals run equal to a
direct engine call, a top-k scores run with A-share rules, every results endpoint, every
export opened with a parser, compare, rerun, delete and IDOR."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

from tests.backtests.conftest import (
    SYMBOLS,
    direct_run,
    dual_ma,
    make_dataset,
    market_frame,
    start,
    wait_done,
)
from tests.helpers.idor import assert_no_idor
from tests.tasks.wsclient import AsgiWebSocket, WsClosed


def _independent_dual_ma(body: dict[str, Any]) -> Any:
    """The dual-MA run built by hand from the engine API (not the web layer's compiler)."""
    from quantlab.engine import expr
    from quantlab.engine.backtest.config import us_equity
    from quantlab.engine.backtest.enums import SizingMode
    from quantlab.engine.backtest.simulator import Simulator
    from quantlab.engine.backtest.strategies import Signals
    from quantlab.engine.data import Panel

    frame = market_frame()
    wide = frame.pivot(index="date", columns="symbol")
    cal = wide.index.to_numpy().astype("datetime64[D]")
    traded = body["universe"]
    fields = {f: wide[f][traded].to_numpy(dtype=np.float64) for f in ("open", "high", "low",
              "close", "volume")}  # fmt: skip
    panel = Panel.from_arrays(cal, traded, fields)
    s = body["strategy"]
    values = expr.evaluate([s["entry"], s["exit"]], panel, cache=None)
    lo = int(np.searchsorted(cal, np.datetime64(body["start"])))
    entries = np.nan_to_num(values[s["entry"]][lo:]) != 0
    exits = np.nan_to_num(values[s["exit"]][lo:]) != 0
    config = us_equity().replace(
        execution__init_cash=float(body["initial_capital"]),
        sizing__mode=SizingMode.FIXED_FRACTION,
        sizing__fraction=0.15,
        sizing__max_holdings=5,
    )
    bench = wide["close"]["IDX"].to_numpy()[lo:]
    sim_panel = panel.select(start=cal[lo])
    return Simulator(sim_panel, Signals(entries, exits), config, bench).run()


async def test_dual_ma_run_equals_direct_engine_and_serves_every_result(
    app: Any, client: Any, make_user: Any
) -> None:
    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    body = dual_ma(dataset_id)
    resp = await client.post("/api/backtests", json=body, headers=h)
    assert resp.status_code == 202, resp.text
    started = resp.json()["data"]
    assert started["job_id"] and started["ws"] == f"/ws/backtests/{started['id']}"
    done = await wait_done(client, h, started["id"])
    assert done["status"] == "completed", done
    assert done["incomplete"] is False

    expected = _independent_dual_ma(body)
    assert len(expected.trades) > 4
    assert done["final_equity"] == pytest.approx(float(expected.total_equity[-1]), rel=1e-12)
    assert done["reproducibility"]["dataset_version"] == 1
    assert done["request"]["dataset_version"] == 1  # pinned at submission
    metrics = done["metrics"]
    assert metrics["trade_count"] == int((expected.trades.side < 0).sum())
    total = expected.total_equity[-1] / 1_000_000 - 1
    assert metrics["total_return"] == pytest.approx(total, rel=1e-9)
    bid = done["id"]

    # equity with benchmark
    eq = (await client.get(f"/api/backtests/{bid}/equity", headers=h)).json()["data"]
    assert len(eq["points"]) == len(expected.calendar)
    assert eq["points"][-1]["equity"] == pytest.approx(done["final_equity"])
    assert eq["points"][0]["benchmark_nav"] == pytest.approx(1.0)
    assert eq["benchmark_symbol"] == "IDX"
    # drawdown: never positive, minimum is the max drawdown metric
    dd = (await client.get(f"/api/backtests/{bid}/drawdown", headers=h)).json()["data"]
    lows = [p["drawdown"] for p in dd["points"]]
    assert max(lows) <= 0 and min(lows) == pytest.approx(metrics["max_drawdown"])
    # monthly returns compound to the total
    mr = (await client.get(f"/api/backtests/{bid}/monthly-returns", headers=h)).json()["data"]
    growth = np.prod([1 + v for row in mr["table"].values() for v in row if v is not None])
    assert growth - 1 == pytest.approx(total, rel=1e-9)

    # trades: paging, P&L sort, symbol filter
    url = f"/api/backtests/{bid}/trades"
    first = (await client.get(url, params={"size": 3}, headers=h)).json()
    assert first["meta"]["total"] == len(expected.trades) and len(first["data"]) == 3
    by_pnl = (await client.get(url, params={"sort": "-pnl", "size": 200}, headers=h)).json()
    pnls = [t["pnl"] for t in by_pnl["data"]]
    assert pnls == sorted(pnls, reverse=True)
    sym = by_pnl["data"][0]["symbol"]
    only = (await client.get(url, params={"symbol": sym, "size": 200}, headers=h)).json()
    assert only["data"] and {t["symbol"] for t in only["data"]} == {sym}

    # positions: by symbol (weights sum with cash to 1) and by industry
    pos = (await client.get(f"/api/backtests/{bid}/positions", headers=h)).json()["data"]
    invested = sum(i["weight"] for i in pos["items"])
    assert invested + pos["cash"] / pos["equity"] == pytest.approx(1.0, abs=1e-9)
    ind = (
        await client.get(
            f"/api/backtests/{bid}/positions", params={"group_by": "industry"}, headers=h
        )
    ).json()["data"]
    assert pos["industry_known"] and {g["industry"] for g in ind["items"]} <= {"1", "2"}
    assert sum(g["value"] for g in ind["items"]) == pytest.approx(
        sum(i["value"] for i in pos["items"])
    )
    early = await client.get(
        f"/api/backtests/{bid}/positions", params={"date": "2023-01-02"}, headers=h
    )
    assert early.status_code == 422

    rej = (await client.get(f"/api/backtests/{bid}/orders/rejected", headers=h)).json()
    assert rej["meta"]["total"] == len(expected.rejections)
    assert sum(rej["meta"]["by_reason"].values()) == len(expected.rejections)

    # logs: the trade lines, search and TXT export
    logs = (
        await client.get(f"/api/backtests/{bid}/logs", params={"q": " BUY ", "size": 5}, headers=h)
    ).json()
    line = logs["data"][0]["message"]
    assert line.split()[1] == "BUY" and " @ " in line and line[:4] == "2023"
    txt = await client.get(f"/api/backtests/{bid}/logs", params={"format": "txt"}, headers=h)
    assert txt.status_code == 200 and txt.text.count(" BUY ") >= logs["meta"]["total"]

    diag = (await client.get(f"/api/backtests/{bid}/diagnostics", headers=h)).json()["data"]
    assert diag and all({"severity", "title", "evidence"} <= set(f) for f in diag)

    # listing with filters
    listed = (await client.get("/api/backtests", params={"q": "dual"}, headers=h)).json()
    assert [b["id"] for b in listed["data"]] == [bid]
    none = await client.get("/api/backtests", params={"status": "running"}, headers=h)
    assert none.json()["meta"]["total"] == 0

    await _check_exports(client, h, bid, metrics, len(expected.trades))


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def _check_exports(client: Any, h: dict[str, str], bid: str, metrics: Any, n: int) -> None:
    base = f"/api/backtests/{bid}/export"
    resp = await client.get(f"{base}/csv", headers=h)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        trades = list(csv.DictReader(io.StringIO(zf.read("trades.csv").decode())))
        assert len(trades) == n
        rows = {r["metric"]: r["value"] for r in csv.DictReader(
            io.StringIO(zf.read("metrics.csv").decode()))}  # fmt: skip
        assert float(rows["total_return"]) == pytest.approx(metrics["total_return"])
        assert {"equity.csv", "positions.csv", "monthly_returns.csv"} <= set(zf.namelist())

    doc = json.loads((await client.get(f"{base}/json", headers=h)).content)
    assert doc["metrics"]["sharpe_ratio"] == pytest.approx(metrics["sharpe_ratio"])
    assert len(doc["trades"]) == n

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO((await client.get(f"{base}/xlsx", headers=h)).content))
    assert {"Metrics", "Trades", "Positions", "Monthly Returns"} <= set(book.sheetnames)
    assert book["Trades"].max_row == n + 1

    page = _Html()
    page.feed((await client.get(f"{base}/html", headers=h)).text)
    assert page.tags.get("svg", 0) >= 2 and page.tags.get("table", 0) >= 3
    assert not any(t in page.tags for t in ("script", "link"))  # self-contained
    assert "Metrics" in "".join(page.text)

    from pypdf import PdfReader

    pdf = await client.get(f"{base}/pdf", headers=h)
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) >= 3
    assert "total_return" in "".join(p.extract_text() for p in reader.pages)


async def test_topk_scores_run_with_a_share_rules(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    dataset_id = await make_dataset(app, alice.id)
    body = {
        "dataset_id": dataset_id,
        "start": "2023-02-01",
        "end": "2023-12-29",
        "benchmark": "IDX",
        "seed": 7,
        "strategy": {
            "kind": "scores",
            "score": "$close / Ref($close, 20) - 1",
            "top_k": 3,
            "n_drop": 1,
            "rebalance": "monthly",
        },
    }
    bid = await start(client, alice.headers, body)
    done = await wait_done(client, alice.headers, bid)
    assert done["status"] == "completed", done
    frame = market_frame()
    expected = direct_run(frame, {**body, "universe": SYMBOLS[:-1]})
    assert done["final_equity"] == pytest.approx(float(expected.total_equity[-1]), rel=1e-12)
    assert done["request"]["preset"] == "cn_a_share" and done["reproducibility"]["seed"] == 7
    trades = (
        await client.get(f"/api/backtests/{bid}/trades", params={"size": 200},
                         headers=alice.headers)
    ).json()["data"]  # fmt: skip
    assert trades and all(t["quantity"] % 100 == 0 for t in trades if t["side"] == "BUY")
    assert all(t["symbol"] != "IDX" for t in trades)  # the benchmark is not traded
    pos = (await client.get(f"/api/backtests/{bid}/positions", headers=alice.headers)).json()
    assert 0 < len(pos["data"]["items"]) <= 3


async def test_compare_rerun_delete_and_idor(app: Any, client: Any, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    first = await start(client, h, dual_ma(dataset_id))
    other = await start(client, h, dual_ma(dataset_id, initial_capital=500_000, name="small"))
    a = await wait_done(client, h, first)
    b = await wait_done(client, h, other)

    resp = await client.post(f"/api/backtests/{first}/rerun", headers=h)
    assert resp.status_code == 202, resp.text
    again = await wait_done(client, h, resp.json()["data"]["id"])
    assert again["rerun_of"] == first
    assert again["metrics"] == a["metrics"] and again["final_equity"] == a["final_equity"]

    cmp = await client.post("/api/backtests/compare", json={"ids": [first, other]}, headers=h)
    assert cmp.status_code == 200, cmp.text
    data = cmp.json()["data"]
    assert [r["id"] for r in data["runs"]] == [first, other]
    assert data["runs"][0]["nav"][-1] == pytest.approx(a["final_equity"] / 1_000_000)
    sharpe = next(r for r in data["metrics"] if r["metric"] == "sharpe_ratio")
    assert sharpe["values"] == {first: a["metrics"]["sharpe_ratio"],
                                other: b["metrics"]["sharpe_ratio"]}  # fmt: skip
    one = await client.post("/api/backtests/compare", json={"ids": [first]}, headers=h)
    assert one.status_code == 422

    missing = f"/api/backtests/{'0' * 32}"
    await assert_no_idor(
        client, h, bob.headers, read=f"/api/backtests/{first}",
        update=("POST", f"/api/backtests/{first}/rerun", None),
        delete=f"/api/backtests/{first}", missing=missing,
    )  # fmt: skip
    for suffix in ("equity", "trades", "positions", "logs", "diagnostics", "export/json"):
        resp = await client.get(f"/api/backtests/{first}/{suffix}", headers=bob.headers)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "BACKTEST_NOT_FOUND"
    stolen = await client.post(
        "/api/backtests/compare", json={"ids": [first, other]}, headers=bob.headers
    )
    assert stolen.status_code == 404
    # bob cannot run on alice's (private) dataset either
    assert (await client.post("/api/backtests", json=dual_ma(dataset_id),
                              headers=bob.headers)).status_code == 404  # fmt: skip

    # the WebSocket alias streams the backtest's job (finished: snapshot then completion)
    path = f"/ws/backtests/{first}"
    async with AsgiWebSocket(
        app, path, subprotocols=("quantlab", f"bearer.{alice.access_token}")
    ) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "connected" and hello["job_id"] == a["job_id"]
        end = await ws.receive_json()
        assert end["type"] == "completion" and end["data"]["status"] == "completed"
    for token, target in ((bob.access_token, path), (alice.access_token, missing.replace(
            "/api/backtests", "/ws/backtests"))):  # fmt: skip
        with pytest.raises(WsClosed) as closed:
            async with AsgiWebSocket(
                app, target, subprotocols=("quantlab", f"bearer.{token}")
            ) as ws:
                await ws.receive_json()
        assert closed.value.code == 4404

    assert (await client.delete(f"/api/backtests/{other}", headers=h)).status_code == 204
    assert (await client.get(f"/api/backtests/{other}", headers=h)).status_code == 404
    assert (await client.get("/api/backtests/metrics", headers=h)).status_code == 200
    unauth = await client.get(f"/api/backtests/{first}")
    assert unauth.status_code == 401


async def test_schema_and_catalogs(client: Any, researcher: Any) -> None:
    h = researcher.headers
    schema = (await client.get("/api/backtests/schema", headers=h)).json()["data"]
    assert schema["$id"].endswith("/v2.json") and schema["x-schema-version"] == 2
    strategy = schema["properties"]["strategy"]
    assert strategy["discriminator"]["propertyName"] == "kind"
    assert set(strategy["discriminator"]["mapping"]) == {"signals", "scores", "weights", "code"}
    cap = schema["properties"]["initial_capital"]
    assert (cap["minimum"], cap["maximum"], cap["default"]) == (10_000, 1_000_000_000, 1_000_000)
    metrics = (await client.get("/api/backtests/metrics", headers=h)).json()["data"]
    assert len(metrics) >= 25 and {"sharpe_ratio", "max_drawdown"} <= {m["name"] for m in metrics}
    diags = (await client.get("/api/backtests/diagnostics/catalog", headers=h)).json()["data"]
    assert {"attribution", "risk", "overfitting", "execution", "rules", "universe"} == {
        d["name"] for d in diags
    }
