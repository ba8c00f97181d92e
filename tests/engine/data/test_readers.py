"""Reading real and hostile user files into the long frame, and inspecting them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data.inspect import inspect_file
from quantlab.engine.data.readers import detect_encoding, propose_mapping, read_file


def test_mapping_from_chinese_and_vendor_headers() -> None:
    m = propose_mapping(
        ["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "复权因子"]
    )
    assert m == {
        "date": "日期",
        "symbol": "股票代码",
        "open": "开盘",
        "close": "收盘",
        "high": "最高",
        "low": "最低",
        "volume": "成交量",
        "amount": "成交额",
        "factor": "复权因子",
    }
    m = propose_mapping(["ts_code", "trade_date", "vol", "Adj Close", "tic", "交易日期"])
    assert m == {
        "symbol": "ts_code",
        "date": "trade_date",
        "volume": "vol",
        "adj_close": "Adj Close",
    }


def test_netease_gbk_newest_first_apostrophes_and_none(realdata: Path) -> None:
    path = realdata / "cn" / "index" / "netease163_000300_gbk.csv"
    assert detect_encoding(path) == "gb18030"
    info = inspect_file(path)
    assert info.encoding == "gb18030" and info.delimiter == ","
    assert info.mapping["close"] == "收盘价" and info.mapping["symbol"] == "股票代码"
    assert any("newest first" in p for p in info.problems)
    assert info.frequency == "day"
    r = read_file(path)
    f = r.frame
    assert len(f) == 4556 and set(f["symbol"]) == {"000300"}  # apostrophe gone, zeros kept
    assert f["date"].iloc[0] == pd.Timestamp("2020-10-16")
    # the first row's literal None tokens are NaN, not parse errors
    assert np.isnan(f.loc[f["date"] == f["date"].min(), "pre_close"]).all()
    assert "pre_close" not in r.unparsable
    # independent reader: pandas with the same encoding
    ref = pd.read_csv(path, encoding="gbk")
    np.testing.assert_allclose(f["close"].to_numpy(), ref["收盘价"].to_numpy())


def test_tushare_units_and_yyyymmdd(realdata: Path) -> None:
    path = realdata / "cn" / "qbot_tushare_qfq_2010_2020" / "000001.SZ.csv"
    r = read_file(path, {"volume_multiplier": 100, "amount_multiplier": 1000})
    f = r.frame
    assert f["date"].iloc[0] == pd.Timestamp("2010-01-04")
    assert f["symbol"].iloc[0] == "000001.SZ"
    assert f["volume"].iloc[0] == pytest.approx(241922.76 * 100)
    assert f["amount"].iloc[0] == pytest.approx(580249.4715 * 1000)
    assert "column_0" not in f  # the unnamed Tushare index is not a field


def test_chinese_headers_eastmoney(realdata: Path) -> None:
    f = read_file(realdata / "cn" / "akshare_em_qfq_zh" / "600519.csv").frame
    assert f["symbol"].iloc[0] == "600519"
    assert f["open"].iloc[0] == -260.7 and f["close"].iloc[0] == -260.49  # close precedes high


def test_timestamps_wide_and_unnamed_date_index(realdata: Path) -> None:
    czsc = read_file(realdata / "cn" / "index" / "czsc_000001.SH_D.csv").frame
    assert czsc["date"].iloc[0] == pd.Timestamp("2006-11-06 15:00:00")
    wide = read_file(realdata / "us" / "pypfopt" / "stock_prices.csv")
    assert wide.layout == "wide" and wide.frame["symbol"].nunique() == 20
    ref = pd.read_csv(realdata / "us" / "pypfopt" / "stock_prices.csv")
    assert len(wide.frame) == int(ref.drop(columns="date").notna().sum().sum())
    goog = read_file(realdata / "us" / "backtesting_py" / "GOOG.csv")
    assert (
        goog.frame["date"].iloc[0] == pd.Timestamp("2004-08-19")
        and goog.frame["symbol"].iloc[0] == "GOOG"
    )
    hourly = inspect_file(realdata / "us" / "backtesting_py" / "EURUSD.csv")
    assert hourly.frequency == "60min"


def test_adjustment_from_adj_close(realdata: Path) -> None:
    path = realdata / "us" / "backtrader" / "nvda-1999-2014.txt"
    raw = pd.read_csv(path)
    back = read_file(path, {"adjust": "backward", "symbol": "NVDA"}).frame
    np.testing.assert_allclose(back["close"], raw["Adj Close"], rtol=1e-12)
    factor = raw["Adj Close"] / raw["Close"]
    np.testing.assert_allclose(back["open"], raw["Open"] * factor)
    fwd = read_file(path, {"adjust": "forward", "symbol": "NVDA"}).frame
    np.testing.assert_allclose(fwd["close"], raw["Close"] * factor / factor.iloc[-1])
    with pytest.raises(ValueError):
        read_file(realdata / "us" / "sp500_5yr" / "AAPL_data.csv", {"adjust": "forward"})
    with pytest.raises(ValueError):
        read_file(path, {"adjust": "sideways"})


def test_semicolon_latin1_and_bom(tmp_path: Path) -> None:
    p = tmp_path / "börse.csv"
    p.write_bytes(
        "Datum;Name;Schluss\n2020-01-02;Société;1,5\n".replace("Datum", "date")
        .replace("Schluss", "close")
        .encode("latin-1")
    )
    info = inspect_file(p)
    assert info.delimiter == ";" and info.encoding == "latin-1"
    q = tmp_path / "bom.tsv"
    q.write_bytes(
        "\ufeffdate\tcode\tclose\n20200102\t'000300\t1\n20200103\tNone\t2\n".encode("utf-8")
    )
    r = read_file(q)
    assert r.encoding == "utf-8-sig" and r.frame["symbol"].iloc[0] == "000300"
    assert pd.isna(r.frame["symbol"].iloc[1])


def test_truncated_and_wrong_types(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "date,symbol,close,volume\n2020-01-02,A,1.0,10\n2020-13-45,A,abc,20\n2020-01-06,A,3.0,3"
    )
    r = read_file(p)  # no trailing newline: the last row still reads
    assert len(r.frame) == 3 and r.frame["volume"].iloc[2] == 3
    assert r.unparsable == {"date": [2], "close": [2]}
    bad = tmp_path / "short.csv"
    bad.write_text("date,symbol,close\n2020-01-02,A,1.0\n2020-01-03,A\n")
    info = inspect_file(bad)
    assert any("cells" in p for p in info.problems)
    with pytest.raises(ValueError, match="malformed"):  # a ragged row is refused, not guessed
        read_file(bad)


def test_header_claiming_billion_rows_is_not_trusted(tmp_path: Path) -> None:
    p = tmp_path / "liar.xlsx"
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["date", "symbol", "close"])
    ws.append(["2020-01-02", "A", 1.0])
    wb.save(p)
    # rewrite the sheet's dimension to claim a billion rows
    import zipfile

    with zipfile.ZipFile(p) as z:
        items = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    items[sheet] = items[sheet].replace(
        b'<dimension ref="A1:C2"/>', b'<dimension ref="A1:C1000000000"/>'
    )
    with zipfile.ZipFile(p, "w") as z:
        for n, b in items.items():
            z.writestr(n, b)
    r = read_file(p)
    assert len(r.frame) == 1


def test_excel_formulas_are_values_not_evaluated(tmp_path: Path) -> None:
    import xlsxwriter

    p = tmp_path / "f.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["date", "symbol", "close"])
    ws.write_row(1, 0, ["2020-01-02", "000001", 1.5])
    ws.write_string(2, 0, "2020-01-03")
    ws.write_string(2, 1, '=HYPERLINK("http://x")')
    ws.write_formula(2, 2, "=1+1", None, 7)  # cached value 7, formula would say 2
    wb.close()
    r = read_file(p)
    assert r.frame["symbol"].tolist() == ["000001", '=HYPERLINK("http://x")']
    assert r.frame["close"].tolist() == [1.5, 7.0]
    assert inspect_file(p).column_types["symbol"] == "text"


def test_legacy_xls_with_chinese_headers_and_excel_dates(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    p = tmp_path / "old.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("行情")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for col, name in enumerate(["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量"]):
        ws.write(0, col, name)
    rows = [
        (dt.date(2024, 1, 2), "600519", 1700.0, 1710.5, 1720.0, 1690.0, 12345),
        (dt.date(2024, 1, 3), "600519", 1711.0, 1688.25, 1715.0, 1680.0, 23456),
    ]
    for r, row in enumerate(rows, start=1):
        ws.write(r, 0, row[0], date_style)  # a real Excel date serial, not text
        for c, value in enumerate(row[1:], start=1):
            ws.write(r, c, value)
    wb.save(str(p))
    r = read_file(p)
    assert r.mapping["date"] == "日期" and r.mapping["close"] == "收盘"
    assert [d.date() for d in pd.to_datetime(r.frame["date"])] == [x[0] for x in rows]
    assert r.frame["symbol"].tolist() == ["600519", "600519"]
    assert r.frame["close"].tolist() == [1710.5, 1688.25]
    assert r.frame["volume"].tolist() == [12345.0, 23456.0]


@pytest.mark.slow
def test_hundred_megabyte_csv_reads_once(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    days = pd.bdate_range("2000-01-03", periods=2500).strftime("%Y-%m-%d")
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "symbol", "open", "high", "low", "close", "volume", "amount"])
        row = ["1.2345678", "1.3345678", "1.1345678", "1.2045678", "123456789", "987654321.5"]
        for s in range(700):
            sym = f"{s:06d}.SZ"
            w.writerows([d, sym, *row] for d in days)
    assert p.stat().st_size > 100e6
    r = read_file(p)
    assert len(r.frame) == 700 * 2500 and r.frame["symbol"].nunique() == 700
