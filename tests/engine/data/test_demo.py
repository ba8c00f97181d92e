"""The synthetic demo dataset: deterministic, realistic enough, storable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quantlab.engine.data.demo import INDEX_SYMBOL, demo_frame
from quantlab.engine.data.storage import load_panel, write_version
from quantlab.engine.data.validate import validate_frame


def test_demo_is_seeded_and_plausible(tmp_path: Path) -> None:
    a = demo_frame(n_symbols=40, n_days=260, seed=3)
    pd.testing.assert_frame_equal(a, demo_frame(n_symbols=40, n_days=260, seed=3))
    assert not a.equals(demo_frame(n_symbols=40, n_days=260, seed=4))
    assert a["symbol"].nunique() == 41 and INDEX_SYMBOL in set(a["symbol"])
    report = validate_frame(a)
    assert (
        not report.fatal
        and report.get("ohlc_high") is None
        and report.get("non_positive_price") is None
    )
    stocks = a[a["symbol"] != INDEX_SYMBOL]
    assert (
        (stocks["volume"] == 0).any() and (stocks["limit"] == 1).any() and (stocks["st"] == 1).any()
    )
    # daily moves respect the limits (10%, 5% for ST) up to price rounding
    ret = stocks.groupby("symbol")["close"].pct_change()
    cap = np.where(stocks["st"] == 1, 0.05, 0.10) + 0.01
    assert (ret.abs().fillna(0) <= cap).all()
    late = [s for s, d in a.attrs["listing"].items() if d > "2020-01-02"]
    assert late and all(
        stocks.loc[stocks["symbol"] == s, "date"].min() > pd.Timestamp("2020-01-02") for s in late
    )
    write_version(a, tmp_path / "demo")
    p = load_panel(tmp_path / "demo", cache=None)
    assert p.shape == (260, 41)
