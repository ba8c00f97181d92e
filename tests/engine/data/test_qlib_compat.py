"""Optional: Qlib itself reads what write_qlib exports (skips without pyqlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.data.qlib_bin import write_qlib


def test_qlib_reads_our_export(tmp_path: Path) -> None:
    cal = np.array(
        ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"], "datetime64[D]"
    )
    close = np.array([[10.0, np.nan], [10.5, 20.0], [11.0, 21.0], [np.nan, 22.0], [12.0, np.nan]])
    panel = Panel.from_arrays(cal, ["SH600000", "SZ000001"], {"close": close})
    write_qlib(panel, tmp_path / "q")
    pytest.importorskip("qlib")
    from quantlab.engine.data.qlib_peer import qlib_data_api

    d = qlib_data_api(tmp_path / "q")
    df = d.features(
        ["SH600000", "SZ000001"],
        ["$close", "Mean($close, 2)"],
        start_time="2020-01-02",
        end_time="2020-01-08",
    )
    a = df.xs("SH600000", level="instrument")
    np.testing.assert_allclose(a["$close"].to_numpy(), [10.0, 10.5, 11.0, np.nan, 12.0])
    # Qlib's Mean skips NaN: hand-computed (10.5+11)/2 on day 3, 12 alone on day 5
    np.testing.assert_allclose(a["Mean($close, 2)"].to_numpy(), [10.0, 10.25, 10.75, 11.0, 12.0])
    b = df.xs("SZ000001", level="instrument")
    assert list(b.index.strftime("%Y-%m-%d")) == ["2020-01-03", "2020-01-06", "2020-01-07"]
    np.testing.assert_allclose(b["$close"].to_numpy(), [20.0, 21.0, 22.0])
    assert sorted(d.list_instruments(d.instruments("all"), as_list=True)) == [
        "SH600000",
        "SZ000001",
    ]
