"""Validation report and repairs, on hand-made frames and real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from quantlab.engine.data.readers import read_file
from quantlab.engine.data.validate import (
    drop_duplicates,
    drop_invalid_rows,
    mark_gaps_suspended,
    validate_frame,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    "2020-01-02",
                    "2020-01-03",
                    "2020-01-03",
                    "2020-01-06",
                    "2020-01-02",
                    "2020-01-06",
                    None,
                ]
            ),
            "symbol": ["A", "A", "A", "A", "B", "B", "B"],
            "open": [10, 11, 11, 12, 5, 5, 1],
            "high": [11, 12, 12, 11.5, 6, 6, 1],  # row 4: high below open
            "low": [9, 10, 10, 11, 4, 0, 1],  # row 6: zero low
            "close": [10.5, 11.5, 11.5, 11.2, 5.5, 5.2, 1],
            "volume": [100, 0, 0, 120, 50, 60, 1],
        }
    )


def test_report_hand_checked() -> None:
    report = validate_frame(_frame(), unparsable={"close": [3]})
    assert report.fatal
    assert report.codes() == {
        "unparsable",
        "missing_date",
        "duplicate",
        "ohlc_high",
        "non_positive_price",
        "zero_volume",
        "gaps",
    }
    assert report.problem("duplicate").rows == [3]
    assert report.problem("ohlc_high").rows == [4]
    assert report.problem("non_positive_price", "low").rows == [6]
    assert report.problem("zero_volume").count == 2
    assert report.problem("missing_date").severity == "fatal"
    assert report.problem("unparsable").severity == "warning"
    gaps = report.problem("gaps")
    assert gaps.count == 1 and "B (1)" in gaps.message  # B lacks 2020-01-03
    json.dumps(report.to_dict())
    assert (
        validate_frame(_frame().drop(columns="close")).problem("missing_column").column == "close"
    )


def test_repairs_return_new_frames() -> None:
    f = _frame()
    clean = drop_invalid_rows(drop_duplicates(f))
    assert len(f) == 7 and len(clean) == 4  # one duplicate, one undated, one zero low
    report = validate_frame(clean)
    assert not report.fatal
    assert report.get("gaps") is None  # B keeps only 2020-01-02 once its bad rows are gone
    filled = mark_gaps_suspended(clean)
    assert list(filled.loc[filled["symbol"] == "B", "date"].dt.day) == [2]
    assert filled["suspended"].sum() == 0 and len(filled) == 4
    assert len(f) == 7  # the input is untouched


def test_mark_gaps_suspended_hand_checked() -> None:
    f = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-02", "2020-01-06"]
            ),
            "symbol": ["A", "A", "A", "B", "B"],
            "open": [1.0, 2, 3, 10, 30],
            "high": [1.0, 2, 3, 10, 30],
            "low": [1.0, 2, 3, 10, 30],
            "close": [1.0, 2, 3, 11, 31],
            "volume": [1.0, 1, 1, 5, 5],
        }
    )
    out = mark_gaps_suspended(f)
    row = out[(out["symbol"] == "B") & (out["date"] == "2020-01-03")].iloc[0]
    assert row["suspended"] == 1 and row["volume"] == 0
    assert row[["open", "high", "low", "close"]].tolist() == [11.0] * 4
    assert out["suspended"].sum() == 1 and len(out) == 6
    assert validate_frame(out).get("gaps") is None


def test_real_files(realdata: Path) -> None:
    desc = read_file(realdata / "cn" / "index" / "qbot_399986.SZ_desc.csv").frame
    gaps = validate_frame(desc)
    assert not gaps.fatal  # one symbol: its own calendar has no holes, the 536-day hole is a jump
    netease = validate_frame(
        read_file(realdata / "cn" / "index" / "netease163_000300_gbk.csv").frame
    )
    assert netease.problem("zero_volume").count >= 721
    em = validate_frame(read_file(realdata / "cn" / "akshare_em_qfq_zh" / "600519.csv").frame)
    assert em.problem("non_positive_price", "close").count > 0
    dhr = validate_frame(read_file(realdata / "us" / "sp500_5yr" / "AOS_data.csv").frame)
    assert dhr.get("ohlc_high") is not None
    ko = validate_frame(read_file(realdata / "us" / "zipline_csvdir" / "daily" / "KO.csv").frame)
    trap = ko.problem("split_already_applied")
    assert trap is not None and trap.count == 1
    ko_frame = read_file(realdata / "us" / "zipline_csvdir" / "daily" / "KO.csv").frame
    assert ko_frame.loc[trap.rows[0] - 1, "date"] == pd.Timestamp("2012-08-13")
    assert np.isfinite(ko_frame["close"]).all()
