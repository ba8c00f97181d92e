"""Point-in-time membership masks and the static-universe (survivorship) check: a
hand-computed case, the real Qlib csi300.txt against an independent pandas count, and the
real Tushare CSI 300 set chosen at the end of its period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data.qlib_bin import read_qlib, read_qlib_instruments
from quantlab.engine.data.universe import (
    first_last_dates,
    membership_mask,
    membership_records,
    parse_membership_csv,
    parse_qlib_instruments,
    static_universe_bias,
)

QLIB = "qlib/cn_data_csi300_sample"


def test_mask_hand_computed() -> None:
    cal = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[D]")
    members = parse_membership_csv(
        "symbol,start,end\nA,2024-01-03,2024-01-04\nB,20240101,\nA,2024-01-05,2024-01-05\n"
    )
    mask = membership_mask(members, cal, ["A", "B", "C"])
    expected = np.array([[0, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0]], dtype=bool)
    assert (mask == expected).all()
    # touching spans of A join into one; B's open end stays open
    assert membership_records(members) == [
        {"symbol": "A", "start": "2024-01-03", "end": "2024-01-05"},
        {"symbol": "B", "start": "2024-01-01", "end": None},
    ]
    with pytest.raises(ValueError, match="before start"):
        parse_membership_csv("symbol,start,end\nA,2024-02-01,2024-01-01\n")
    with pytest.raises(ValueError, match="symbol and start"):
        parse_membership_csv("ticker_name,begin\nA,2024-01-01\n")


def test_static_bias_hand_computed() -> None:
    first = {
        "A": np.datetime64("2020-01-02"),
        "B": np.datetime64("2020-01-09"),  # inside the 10-day grace
        "C": np.datetime64("2021-06-01"),
        "D": None,
    }
    out = static_universe_bias(["A", "B", "C", "D"], first, np.datetime64("2020-01-02"),
                               np.datetime64("2022-12-30"))  # fmt: skip
    assert out.absent_at_start == 2 and out.share_absent_at_start == 0.5
    assert out.examples == ["C", "D"] and out.flagged


@pytest.mark.realdata
def test_qlib_csi300_mask_matches_an_independent_count(realdata: Path) -> None:
    root = realdata / QLIB
    text = (root / "instruments/csi300.txt").read_text()
    members = parse_qlib_instruments(text)
    assert members.keys() == read_qlib_instruments(root, "csi300").keys() and len(members) == 789
    panel = read_qlib(root, fields=["close"])
    mask = membership_mask(members, panel.calendar, list(panel.instruments))
    raw = pd.read_csv(root / "instruments/csi300.txt", sep="\t", names=["symbol", "start", "end"])
    raw = raw[raw["symbol"].isin(panel.instruments)]
    days = pd.DatetimeIndex(panel.calendar.astype("datetime64[ns]"))
    for day in ("2012-06-29", "2018-12-28", "2024-03-29"):
        t = days.get_loc(pd.Timestamp(day))
        inside = raw[(pd.to_datetime(raw["start"]) <= day) & (pd.to_datetime(raw["end"]) >= day)]
        assert mask[t].sum() == inside["symbol"].nunique(), day
    # the 2026 members, taken as a static list, were largely absent in 2010
    stocks = [s for s in panel.instruments if s[2:5] not in ("000", "399", "510")]
    firsts = {k: (v[0] if v else None) for k, v in first_last_dates(panel).items()}
    bias = static_universe_bias(stocks, firsts, panel.calendar[0], panel.calendar[-1])
    assert bias.flagged and bias.share_absent_at_start > 0.2


@pytest.mark.realdata
def test_tushare_end_of_period_members_are_flagged(realdata: Path) -> None:
    folder = realdata / "cn/qbot_tushare_qfq_2010_2020"
    firsts = {}
    for path in sorted(folder.glob("*.csv")):
        dates = pd.read_csv(path, usecols=["trade_date"])["trade_date"]
        firsts[path.stem] = np.datetime64(pd.to_datetime(str(dates.min())).date(), "D")
    bias = static_universe_bias(list(firsts), firsts, np.datetime64("2010-01-04"),
                                np.datetime64("2020-09-07"))  # fmt: skip
    # CATALOG: 145 of the 157 files start on 2010-01-04; the rest list later
    late = sum(1 for d in firsts.values() if d > np.datetime64("2010-01-14"))
    assert bias.names == 157 and bias.absent_at_start == late and late >= 1
    assert bias.share_absent_at_start == pytest.approx(late / 157)


def test_snapshots_hand_computed() -> None:
    text = (
        "con_code,trade_date,weight\n"
        "A,20250102,50\nB,20250102,50\n"
        "A,20250203,60\nC,20250203,40\n"
        "A,20250303,30\nB,20250303,30\nC,20250303,40\n"
    )
    members = parse_membership_csv(text)
    assert membership_records(members) == [
        {"symbol": "A", "start": "2025-01-02", "end": None},
        {"symbol": "B", "start": "2025-01-02", "end": "2025-01-02"},
        {"symbol": "B", "start": "2025-03-03", "end": None},
        {"symbol": "C", "start": "2025-02-03", "end": None},
    ]


@pytest.mark.realdata
def test_csi300_weight_snapshots_match_each_dates_constituents(realdata: Path) -> None:
    path = realdata / "cn/index/tushare_index_weight_2025_sse50_csi300.csv"
    with pytest.raises(ValueError, match="2 indexes"):
        parse_membership_csv(path.read_text())
    raw = pd.read_csv(path)
    csi = raw[raw["index_code"] == "000300.XSHG"]
    members = parse_membership_csv(csi.to_csv(index=False))
    snapshots = np.array(sorted(csi["trade_date"].unique()), dtype="datetime64[D]")
    names = sorted(csi["con_code"].unique())
    mask = membership_mask(members, snapshots, names)
    for t, day in enumerate(snapshots):
        listed = set(csi.loc[csi["trade_date"] == str(day), "con_code"])
        assert {n for n, m in zip(names, mask[t], strict=True) if m} == listed, day
    assert (mask.sum(axis=1) == 300).all()
