"""Parquet dataset versions: summary, atomic writes, panel loading and the panel cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.data.frame import frame_to_panel, infer_frequency, panel_to_frame
from quantlab.engine.data.storage import PanelCache, load_panel, read_meta, write_version


@pytest.fixture
def frame() -> pd.DataFrame:
    # out of order on purpose; BBB is missing 2020-01-03 (a gap), CCC has a NaN close
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2020-01-06", "2020-01-02", "2020-01-03", "2020-01-02", "2020-01-06", "2020-01-03"]
            ),
            "symbol": ["AAA", "AAA", "AAA", "BBB", "BBB", "CCC"],
            "close": [3.0, 1.0, 2.0, 10.0, 30.0, np.nan],
            "volume": [300, 100, 200, 1000, 3000, 0],
        }
    )


def test_write_summary_and_layout(tmp_path: Path, frame: pd.DataFrame) -> None:
    meta = write_version(frame, tmp_path / "v1", source="unit")
    assert meta.symbols == ["AAA", "BBB", "CCC"]
    assert (meta.start, meta.end, meta.frequency, meta.rows) == (
        "2020-01-02",
        "2020-01-06",
        "day",
        6,
    )
    assert meta.fields == ["close", "volume"] and meta.missing == {"close": 1, "volume": 0}
    assert meta.extra == {"source": "unit"}
    files = sorted(p.name for p in (tmp_path / "v1").iterdir())
    assert files == ["data.parquet", "meta.json"]  # no temporaries left
    data = tmp_path / "v1" / "data.parquet"
    assert meta.size_bytes == data.stat().st_size
    import hashlib

    assert meta.sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    md = pq.ParquetFile(data).metadata
    assert md.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(data)
    assert (
        str(table.schema.field("symbol").type)
        == "dictionary<values=string, indices=int32, ordered=0>"
    )
    assert table.column("symbol").to_pylist() == ["AAA", "AAA", "AAA", "BBB", "BBB", "CCC"]
    assert json.loads((tmp_path / "v1" / "meta.json").read_text()) == meta.to_dict()
    assert read_meta(tmp_path / "v1") == meta


def test_load_panel_hand_checked(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_version(frame, tmp_path / "v")
    p = load_panel(tmp_path / "v", cache=None)
    assert list(p.instruments) == ["AAA", "BBB", "CCC"]
    np.testing.assert_array_equal(
        p.calendar, np.array(["2020-01-02", "2020-01-03", "2020-01-06"], "datetime64[D]")
    )
    nan = np.nan
    np.testing.assert_array_equal(p["close"], [[1.0, 10.0, nan], [2.0, nan, nan], [3.0, 30.0, nan]])
    np.testing.assert_array_equal(p["volume"][:, 2], [nan, 0.0, nan])
    assert p["close"].flags.f_contiguous
    np.testing.assert_array_equal(p.first, [0, 0, 1])  # CCC exists on its one row despite NaN close
    np.testing.assert_array_equal(p.last, [2, 2, 1])
    sub = load_panel(
        tmp_path / "v", fields=["close"], symbols=["BBB", "ZZZ"], start="2020-01-03", cache=None
    )
    assert list(sub.fields) == ["close"] and list(sub.instruments) == ["BBB"]
    np.testing.assert_array_equal(sub.calendar, np.array(["2020-01-06"], "datetime64[D]"))
    with pytest.raises(KeyError):
        load_panel(tmp_path / "v", fields=["nope"], cache=None)


def test_matches_pandas_pivot(tmp_path: Path) -> None:
    """Independent check: the scatter equals pandas' pivot on a random sparse panel."""
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2021-01-01", periods=60)
    rows = [(d, f"S{s:02d}", rng.normal()) for d in days for s in range(25) if rng.random() > 0.3]
    frame = pd.DataFrame(rows, columns=["date", "symbol", "x"])
    write_version(frame, tmp_path / "v")
    p = load_panel(tmp_path / "v", cache=None)
    pivot = frame.pivot(index="date", columns="symbol", values="x")
    np.testing.assert_array_equal(p["x"], pivot.to_numpy())
    assert list(p.instruments) == list(pivot.columns)


def test_panel_round_trip_and_cache(tmp_path: Path) -> None:
    cal = np.arange("2022-03-01", "2022-03-11", dtype="datetime64[D]")
    rng = np.random.default_rng(1)
    close = rng.lognormal(size=(10, 4))
    close[:3, 1] = np.nan  # listed later
    panel = Panel.from_arrays(cal, ["A", "B", "C", "D"], {"close": close})
    write_version(panel, tmp_path / "v")
    cache = PanelCache(max_bytes=panel.nbytes + 100)  # room for the full panel and one column
    a = load_panel(tmp_path / "v", cache=cache)
    np.testing.assert_array_equal(a["close"], close)
    np.testing.assert_array_equal(a.first, [0, 3, 0, 0])
    assert load_panel(tmp_path / "v", cache=cache) is a and cache.hits == 1
    assert not a["close"].flags.writeable
    key = a.meta["version_key"]
    assert isinstance(key, str) and "data.parquet" in key
    b = load_panel(tmp_path / "v", symbols=["A"], cache=cache)
    c = load_panel(tmp_path / "v", symbols=["B"], cache=cache)
    assert b.meta["version_key"] != key
    assert cache.nbytes <= cache.max_bytes and len(cache) == 2  # the full panel was evicted (LRU)
    assert load_panel(tmp_path / "v", symbols=["B"], cache=cache) is c
    # a rewritten version is a new key even at the same path
    write_version(panel_to_frame(panel).assign(close=1.0), tmp_path / "v")
    assert (load_panel(tmp_path / "v", symbols=["B"], cache=cache)["close"][3:] == 1.0).all()


def test_failed_write_leaves_previous_version(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_version(frame, tmp_path / "v")
    before = (tmp_path / "v" / "data.parquet").read_bytes()
    bad = frame.assign(close=["x"] * len(frame))
    with pytest.raises(ValueError):
        write_version(bad, tmp_path / "v")
    assert (tmp_path / "v" / "data.parquet").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["data.parquet", "meta.json"]


def test_intraday_frequency_and_frame_helpers(tmp_path: Path) -> None:
    stamps = pd.date_range("2017-04-19 09:00", periods=6, freq="h")
    assert infer_frequency(stamps) == "60min"
    assert infer_frequency(pd.to_datetime(["2020-01-02", "2020-01-03"])) == "day"
    frame = pd.DataFrame({"date": stamps, "symbol": "EURUSD", "close": np.arange(6.0)})
    meta = write_version(frame, tmp_path / "h")
    assert meta.frequency == "60min" and meta.start == "2017-04-19T09:00:00"
    with pytest.raises(ValueError):
        load_panel(tmp_path / "h", cache=None)
    daily = frame.assign(date=pd.bdate_range("2020-01-01", periods=6))
    p = frame_to_panel(daily)
    assert p.shape == (6, 1) and (panel_to_frame(p)["close"].to_numpy() == np.arange(6.0)).all()


def test_real_tushare_file_round_trip(tmp_path: Path, realdata: Path) -> None:
    raw = pd.read_csv(
        realdata / "cn" / "qbot_tushare_qfq_2010_2020" / "600519.SH.csv", dtype={"ts_code": str}
    )
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(raw["trade_date"].astype(str), format="%Y%m%d"),
            "symbol": raw["ts_code"],
            "close": raw["close"],
            "volume": raw["vol"] * 100,
        }
    )
    meta = write_version(frame, tmp_path / "v")
    assert meta.rows == len(raw) and meta.start == "2010-01-04" and meta.end == "2020-09-07"
    p = load_panel(tmp_path / "v", cache=None)
    expected = frame.sort_values("date")["close"].to_numpy()
    np.testing.assert_array_equal(p["close"][:, 0], expected)
