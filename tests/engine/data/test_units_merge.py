"""Unit guesses, import merges and located validation problems: hand-computed cases and
the real Tushare/akshare files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data.inspect import inspect_file
from quantlab.engine.data.merge import merge_frames
from quantlab.engine.data.readers import read_file
from quantlab.engine.data.units import suggest_units
from quantlab.engine.data.validate import validate_frame


def test_units_hand_computed_ratios() -> None:
    # 50 lots of 100 shares at 10.00 = 50,000 CNY = 50 thousand: ratio 50 / (50 x 10) = 0.1
    s = suggest_units(["date", "symbol", "close", "volume", "amount"], [50.0], [50.0], [10.0])
    assert (s.volume_multiplier, s.amount_multiplier) == (100.0, 1000.0)
    assert s.ratio == pytest.approx(0.1) and s.confidence == "medium"
    # 50 lots at 10.00 in CNY: 50,000 / (50 x 10) = 100 -> volume x100 only
    s = suggest_units(["date", "close", "volume", "amount"], [50.0], [50_000.0], [10.0])
    assert (s.volume_multiplier, s.amount_multiplier) == (100.0, 1.0)
    # shares and currency agree: nothing to do
    s = suggest_units(["date", "close", "volume", "amount"], [5000.0], [50_000.0], [10.0])
    assert (s.volume_multiplier, s.amount_multiplier, s.confidence) == (1.0, 1.0, "medium")
    # a ratio of 10 fits no vendor convention within half a decade: no suggestion
    s = suggest_units(["date", "close", "volume", "amount"], [5000.0], [500_000.0], [10.0])
    assert s.confidence == "none" and s.volume_multiplier == 1.0


@pytest.mark.realdata
def test_units_on_real_vendor_files(realdata: Path) -> None:
    raw = inspect_file(realdata / "cn/qbot_tushare_raw_2019_2020/000001.SZ.csv").units
    assert raw is not None
    assert (raw["volume_multiplier"], raw["amount_multiplier"]) == (100.0, 1000.0)
    assert raw["vendor"] == "tushare" and raw["confidence"] == "high"
    # independent check: the multipliers turn amount/volume into a price inside [low, high]
    src = pd.read_csv(realdata / "cn/qbot_tushare_raw_2019_2020/000001.SZ.csv")
    vwap = src["amount"] * 1000 / (src["vol"] * 100)
    assert ((vwap >= src["low"] - 0.01) & (vwap <= src["high"] + 0.01)).mean() > 0.99
    qfq = inspect_file(realdata / "cn/qbot_tushare_qfq_2010_2020/600519.SH.csv").units
    assert qfq is not None and qfq["confidence"] == "high"
    us = inspect_file(realdata / "us/sp500_5yr/AAPL_data.csv").units
    assert us is not None and us["confidence"] == "none"
    ak = inspect_file(realdata / "cn/akshare_em_qfq_zh/601318.csv").units
    assert ak is not None and ak["volume_multiplier"] == 100.0 and ak["vendor"]


def _frame(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime([r[1] for r in rows]),
            "symbol": [r[0] for r in rows],
            "close": [r[2] for r in rows],
            "volume": [r[3] for r in rows],
        }
    )


def test_merge_modes_hand_computed() -> None:
    old = _frame([("AAA", "2024-01-02", 10, 100), ("AAA", "2024-01-03", 11, 110)])
    old["pe"] = [5.0, 6.0]
    new = _frame(
        [
            ("AAA", "2024-01-03", 12, np.nan),
            ("AAA", "2024-01-04", 13, 130),
            ("BBB", "2024-01-02", 1, 1),
        ]
    )
    out, st = merge_frames(old, new, "upsert")
    assert len(out) == 4 and st.rows_added == 2 and st.rows_updated == 1
    assert st.symbols_added == ["BBB"]
    day3 = out[(out.symbol == "AAA") & (out.date == "2024-01-03")].iloc[0]
    # the import wins where it has a value; its empty volume and missing pe keep the stored ones
    assert (day3.close, day3.volume, day3.pe) == (12.0, 110.0, 6.0)
    out, st = merge_frames(old, new, "append")
    day3 = out[(out.symbol == "AAA") & (out.date == "2024-01-03")].iloc[0]
    assert len(out) == 4 and st.rows_updated == 0 and day3.close == 11.0
    assert out.symbol.tolist() == ["AAA", "AAA", "AAA", "BBB"]
    out, st = merge_frames(old, new, "replace")
    assert len(out) == 3 and st.rows_before == 2
    with pytest.raises(ValueError, match="mode"):
        merge_frames(old, new, "merge")


@pytest.mark.realdata
def test_upsert_raw_over_qfq_changes_only_overlapping_prices(realdata: Path) -> None:
    qfq = read_file(realdata / "cn/qbot_tushare_qfq_2010_2020/000001.SZ.csv").frame
    raw = read_file(realdata / "cn/qbot_tushare_raw_2019_2020/000001.SZ.csv").frame
    out, st = merge_frames(qfq, raw, "upsert")
    assert st.rows_added == 0 and st.rows_updated == len(raw) and len(out) == len(qfq)
    merged = out.set_index("date")["close"]
    assert merged.loc[raw["date"]].to_numpy() == pytest.approx(raw["close"].to_numpy())
    before = qfq[qfq["date"] < raw["date"].min()].set_index("date")["close"]
    assert merged.loc[before.index].to_numpy() == pytest.approx(before.to_numpy())


def test_problems_name_symbol_and_date() -> None:
    frame = _frame([("AAA", "2024-01-02", 10, 1), ("BBB", "2024-01-02", -1, 1)])
    frame.loc[len(frame)] = [pd.Timestamp("2024-01-02"), "AAA", 10.0, 0.0]
    problems = {p["code"]: p for p in validate_frame(frame).to_dict()["problems"]}  # type: ignore[index]
    assert problems["non_positive_price"]["where"] == [
        {"row": 2, "symbol": "BBB", "date": "2024-01-02"}
    ]
    assert problems["duplicate"]["where"][0] == {"row": 3, "symbol": "AAA", "date": "2024-01-02"}


def test_inspect_names_the_symbol_of_an_unparsable_date(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,symbol,close\n2024-01-02,AAA,1\nnot a day,BBB,2\n")
    problems = inspect_file(path).problems
    assert "1 unparsable dates in the preview: row 2 (BBB: 'not a day')" in problems
