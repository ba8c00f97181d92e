"""Reports a portfolio manager accepts: a run on real Tushare data exported as PDF (pages
rendered with pdftoppm), XLSX (opened with openpyxl) and HTML; hand-computed yearly
returns and number formats."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantlab.backtests import report_content as rc
from quantlab.engine.data.readers import read_file
from tests.backtests.conftest import wait_done
from tests.helpers.datasets import store_dataset

SYMBOLS = ("600519.SH", "000001.SZ", "000002.SZ", "601318.SH", "000651.SZ", "600036.SH")
RAW_FLOAT = re.compile(r"\d\.\d{3,}")  # more decimals than any format of the report uses


def test_format_value_by_kind() -> None:
    assert rc.format_value(1.4590, "percent") == "145.90%"
    assert rc.format_value(4285.0, "count") == "4,285"
    assert rc.format_value(1.23456, "ratio") == "1.23"
    assert rc.format_value(1234567.891, "money") == "1,234,567.89"
    assert rc.format_value(float("nan"), "percent") == rc.DASH
    assert rc.format_value(0.000123) == "1.2e-04"
    assert rc.format_value(2023, "year") == "2023"


def test_yearly_returns_hand_computed() -> None:
    series = pd.DataFrame(
        {
            "date": ["2023-12-27", "2023-12-28", "2023-12-29", "2024-01-02"],
            "returns": [0.0, 0.10, -0.05, 0.20],
            "benchmark": [100.0, 110.0, 99.0, 120.0],
        }
    )
    table = rc.yearly_returns(series).set_index("year")
    # 2023: 1.10 x 0.95 - 1 = 0.045; benchmark 99 / 100 - 1 = -0.01
    assert table.loc[2023, "strategy"] == pytest.approx(0.045)
    assert table.loc[2023, "benchmark"] == pytest.approx(-0.01)
    # 2024: 0.20; benchmark 120 / 99 - 1
    assert table.loc[2024, "strategy"] == pytest.approx(0.20)
    assert table.loc[2024, "benchmark"] == pytest.approx(120 / 99 - 1)
    trades = pd.DataFrame({"symbol": ["A", "B", "A", "C"], "pnl": [10.0, -4.0, np.nan, 6.0]})
    top = rc.contributors(trades)
    assert top["symbol"].tolist() == ["A", "C", "B"]
    assert top["share_of_total"].tolist() == pytest.approx([0.5, 0.3, -0.2])


@pytest.mark.realdata
async def test_reports_of_a_real_run(app: Any, client: Any, make_user: Any, realdata: Path) -> None:
    folder = realdata / "cn/qbot_tushare_qfq_2010_2020"
    frames = [
        read_file(folder / f"{s}.csv", {"volume_multiplier": 100, "amount_multiplier": 1000}).frame
        for s in SYMBOLS
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[(frame["date"] >= "2018-01-01") & (frame["date"] <= "2020-06-30")]
    frame = frame[["date", "symbol", "open", "high", "low", "close", "volume", "amount"]]
    alice = await make_user()
    dataset_id = await store_dataset(app, alice.id, frame.reset_index(drop=True), "report")
    body = {
        "name": "ma cross on six A-shares",
        "dataset_id": dataset_id,
        "universe": list(SYMBOLS[1:]),
        "start": "2018-03-01",
        "initial_capital": 1_000_000,
        "preset": "cn_a_share",
        "benchmark": SYMBOLS[0],
        "strategy": {
            "kind": "signals",
            "entry": "Cross(Mean($close, 5), Mean($close, 20))",
            "exit": "CrossDown(Mean($close, 5), Mean($close, 20))",
            "sizing": {"mode": "fixed_fraction", "fraction": 0.15},
        },
    }
    resp = await client.post("/api/backtests", json=body, headers=alice.headers)
    assert resp.status_code == 202, resp.text
    run = await wait_done(client, alice.headers, resp.json()["data"]["id"], timeout=240)
    assert run["status"] == "completed", run
    base = f"/api/backtests/{run['id']}/export"
    metrics = (await client.get(f"/api/backtests/{run['id']}", headers=alice.headers)).json()
    _check_pdf((await client.get(f"{base}/pdf", headers=alice.headers)).content)
    _check_xlsx((await client.get(f"{base}/xlsx", headers=alice.headers)).content, body)
    page = (await client.get(f"{base}/html", headers=alice.headers)).text
    assert "@page{size:A4" in page and "Monthly returns" in page and "Yearly returns" in page
    assert "Top contributors" in page
    assert "Evidence:" in page or "No findings" in page
    assert not RAW_FLOAT.search(re.sub(r"<svg.*?</svg>", "", page, flags=re.S))
    assert metrics["status"] == "success"


def _check_pdf(content: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= 3
    sizes = {
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages
    }
    assert sizes == {(595, 842)}, sizes  # A4 portrait in points, every page
    text = "\n".join(p.extract_text() for p in reader.pages)
    for needle in ("Benchmark: 600519.SH", "Initial capital: 1,000,000.00", "Monthly returns",
                   "Yearly returns", "Top contributors", "Trades summary", "Diagnostics",
                   "Engine version", "total_return", "Period: 2018-03-01"):  # fmt: skip
        assert needle in text, needle
    bad = RAW_FLOAT.findall(text)
    assert not bad, f"raw floats in the PDF: {bad[:5]}"
    assert "%" in text
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is a system package of the test environment"
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "r.pdf"
        pdf.write_bytes(content)
        subprocess.run([pdftoppm, "-r", "20", "-png", str(pdf), str(Path(tmp) / "p")], check=True)
        from PIL import Image

        images = sorted(Path(tmp).glob("p*.png"))
        assert len(images) == len(reader.pages)
        dims = {Image.open(p).size for p in images}
        assert len(dims) == 1, dims
        # the chart page is not blank
        chart = np.asarray(Image.open(images[1]).convert("L"))
        assert (chart < 200).mean() > 0.01


def _check_xlsx(content: bytes, body: dict[str, Any]) -> None:
    from datetime import datetime

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    assert {"Metrics", "Configuration", "Monthly Returns", "Yearly Returns", "Contributors",
            "Diagnostics", "Trades", "Positions", "Equity"} <= set(book.sheetnames)  # fmt: skip
    trades = book["Trades"]
    assert trades.freeze_panes == "A2"
    header = [c.value for c in trades[1]]
    assert isinstance(trades["A2"].value, datetime) and trades["A2"].number_format == "yyyy-mm-dd"
    price = trades.cell(row=2, column=header.index("price") + 1)
    assert isinstance(price.value, float) and price.number_format == "#,##0.0000"
    equity = book["Equity"]
    assert isinstance(equity["A2"].value, datetime)
    ret_col = [c.value for c in equity[1]].index("returns") + 1
    assert equity.cell(row=3, column=ret_col).number_format == "0.00%"
    config = {r[0].value: r[1].value for r in book["Configuration"].iter_rows(min_row=2)}
    assert config["benchmark"] == body["benchmark"]
    assert float(config["costs.commission_rate"]) == pytest.approx(0.0003)  # preset filled in
    metrics = book["Metrics"]
    rows = {r[4].value: r[1] for r in metrics.iter_rows() if r[4].value}
    assert rows["total_return"].number_format == "0.00%"
    assert rows["trade_count"].number_format == "#,##0"
    monthly = [c for row in book["Monthly Returns"].iter_rows(min_row=2, min_col=2) for c in row]
    filled = [c for c in monthly if isinstance(c.value, float)]
    assert filled and {c.number_format for c in filled} == {"0.00%"}
