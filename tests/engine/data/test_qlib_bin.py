"""Qlib binary layout: hand-made folders, the real CSI 300 sample and round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.data.qlib_bin import read_qlib, read_qlib_calendar, write_qlib


def _bin(path: Path, start: int, values: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.array([start, *values], dtype="<f4").tofile(path)


@pytest.fixture
def tiny_qlib(tmp_path: Path) -> Path:
    """Five days, two instruments in upper/lower-case folders, YYYYMMDD calendar."""
    root = tmp_path / "qlib"
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text(
        "20200102\n20200103\n20200106\n20200107\n20200108\n"
    )
    (root / "instruments").mkdir()
    (root / "instruments" / "mkt.txt").write_text(
        "SH600000\t2020-01-02\t2020-01-03\nsz000001\t2020-01-07\t2020-01-08\nSH999999\t2020-01-02\t2020-01-08\n"
    )
    _bin(root / "features" / "SH600000" / "close.day.bin", 0, [10.0, 10.5, 11.0])
    _bin(root / "features" / "SH600000" / "VOLUME.DAY.bin", 1, [100.0, 200.0])
    _bin(root / "features" / "sz000001" / "close.day.bin", 2, [5.0, float("nan"), 5.5])
    return root


def test_hand_made_folder_reads_by_start_index(tiny_qlib: Path) -> None:
    p = read_qlib(tiny_qlib)
    assert list(p.instruments) == ["SH600000", "SZ000001"]
    assert p.calendar[0] == np.datetime64("2020-01-02") and len(p.calendar) == 5
    assert sorted(p.fields) == ["close", "volume"]
    nan = np.nan
    np.testing.assert_array_equal(p["close"][:, 0], [10.0, 10.5, 11.0, nan, nan])
    np.testing.assert_array_equal(p["close"][:, 1], [nan, nan, 5.0, nan, 5.5])
    np.testing.assert_array_equal(p["volume"][:, 0], [nan, 100.0, 200.0, nan, nan])
    # the volume file is missing for SZ000001: all NaN, not an error
    assert np.isnan(p["volume"][:, 1]).all()
    assert p["close"].flags.f_contiguous
    np.testing.assert_array_equal(p.first, [0, 2])
    np.testing.assert_array_equal(p.last, [2, 4])  # in-range NaN (day 3) still exists


def test_window_fields_and_prefix(tiny_qlib: Path) -> None:
    p = read_qlib(
        tiny_qlib, instruments=["sh600000"], fields=["$close"], start="2020-01-03", end="2020-01-07"
    )
    assert list(p.fields) == ["close"]
    np.testing.assert_array_equal(p["close"][:, 0], [10.5, 11.0, np.nan])
    assert (p.first[0], p.last[0]) == (0, 1)
    with pytest.raises(KeyError):
        read_qlib(tiny_qlib, instruments=["SH123456"])


def test_market_file_membership(tiny_qlib: Path) -> None:
    p = read_qlib(tiny_qlib, instruments="MKT")
    assert list(p.instruments) == ["SH600000", "SZ000001"]
    assert p.meta["missing_instruments"] == ["SH999999"]
    membership = p.meta["membership"]
    assert isinstance(membership, np.ndarray)
    np.testing.assert_array_equal(membership[:, 0], [True, True, False, False, False])
    np.testing.assert_array_equal(membership[:, 1], [False, False, False, True, True])
    # a window that misses SH600000's span leaves it out
    late = read_qlib(tiny_qlib, instruments="mkt", start="2020-01-07")
    assert list(late.instruments) == ["SZ000001"]


def test_intraday_calendar_is_refused(tmp_path: Path) -> None:
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "1min.txt").write_text("2020-01-02 09:31:00\n")
    with pytest.raises(NotImplementedError):
        read_qlib_calendar(tmp_path, "1min")


def test_round_trip_writes_lowercase_and_keeps_values(tmp_path: Path) -> None:
    cal = np.arange("2021-01-04", "2021-01-12", dtype="datetime64[D]")
    close = np.array(
        [
            [1.5, np.nan],
            [2.25, np.nan],
            [np.nan, 7.0],
            [3.0, 8.0],
            [3.5, np.nan],
            [np.nan, np.nan],
            [np.nan, 9.0],
            [np.nan, np.nan],
        ]
    )
    panel = Panel.from_arrays(
        cal, ["SH600000", "SZ000002"], {"close": close, "volume": close * 100}
    )
    out = write_qlib(panel, tmp_path / "export")
    assert (out / "features" / "sh600000" / "close.day.bin").exists()
    assert (out / "instruments" / "all.txt").read_text().splitlines() == [
        "SH600000\t2021-01-04\t2021-01-08",
        "SZ000002\t2021-01-06\t2021-01-10",
    ]
    raw = np.fromfile(out / "features" / "sz000002" / "close.day.bin", dtype="<f4")
    np.testing.assert_array_equal(raw, np.array([2, 7, 8, np.nan, np.nan, 9], dtype="<f4"))
    back = read_qlib(out)
    np.testing.assert_array_equal(back.calendar, cal)
    np.testing.assert_array_equal(back["close"], close)
    np.testing.assert_array_equal(back.first, panel.first)
    np.testing.assert_array_equal(back.last, panel.last)
    with pytest.raises(FileExistsError):
        write_qlib(panel, out)
    write_qlib(panel.select(instruments=["SZ000002"]), out, overwrite=True)
    assert list(read_qlib(out).instruments) == ["SZ000002"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no staging left behind


# --- the real CSI 300 sample --------------------------------------------------------------


@pytest.fixture(scope="module")
def qlib_root(realdata: Path) -> Path:
    return realdata / "qlib" / "cn_data_csi300_sample"


def test_real_sample_shape_and_known_quirks(qlib_root: Path) -> None:
    p = read_qlib(qlib_root, fields=["close", "volume"])
    assert p.shape == (3966, 310)
    assert p.calendar[0] == np.datetime64("2010-01-04") and p.calendar[-1] == np.datetime64(
        "2026-05-08"
    )
    inst = list(p.instruments)
    # CSI 1000 is all NaN for 2011 but exists from its first stored day
    j = inst.index("SH000852")
    year_2011 = (p.calendar >= np.datetime64("2011-01-01")) & (
        p.calendar <= np.datetime64("2011-12-31")
    )
    assert np.isnan(p["close"][year_2011, j]).sum() == 243  # of 244 trading days
    assert p.first[j] == 0
    # the ETFs stop on 2020-04-21
    for etf in ("SH510050", "SH510300", "SH510500"):
        assert p.calendar[p.last[inst.index(etf)]] == np.datetime64("2020-04-21")


def test_real_volume_matches_eastmoney_lots(qlib_root: Path, realdata: Path) -> None:
    """Independent source: EastMoney 600519 volume in lots x 100 equals Qlib's shares."""
    p = read_qlib(
        qlib_root, instruments=["SH600519"], fields=["volume"], start="2015-01-01", end="2019-12-31"
    )
    with open(realdata / "cn" / "akshare_em_qfq_zh" / "600519.csv", encoding="utf-8") as fh:
        rows = {r["日期"]: float(r["成交量"]) for r in csv.DictReader(fh)}
    days = np.datetime_as_string(p.calendar)
    common = [i for i, d in enumerate(days) if d in rows and not np.isnan(p["volume"][i, 0])]
    assert len(common) > 1000
    ours = p["volume"][common, 0]
    theirs = np.array([rows[days[i]] * 100 for i in common])
    np.testing.assert_allclose(ours, theirs, atol=50)  # EastMoney rounds to whole lots


def test_real_market_file_with_window(qlib_root: Path) -> None:
    p = read_qlib(
        qlib_root, instruments="csi300", fields=["close"], start="2020-01-01", end="2020-12-31"
    )
    assert len(p.calendar) == 243
    missing = p.meta["missing_instruments"]
    assert (
        isinstance(missing, list) and "SH600004" in missing
    )  # member then, but no features copied
    membership = p.meta["membership"]
    assert isinstance(membership, np.ndarray) and membership.shape == p.shape
    inst = list(p.instruments)
    assert "SZ302132" not in inst  # joined the index only in 2025-06
    assert membership[:, inst.index("SZ000768")].all()
    assert 150 < membership.sum(axis=1).min() <= membership.sum(axis=1).max() <= len(inst)
