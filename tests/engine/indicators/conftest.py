"""Real A-share bars for the indicator tests (Qbot Tushare qfq set, MIT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data import Panel

QFQ_DIR = Path("cn") / "qbot_tushare_qfq_2010_2020"
# Full history; listed 2010-05-28 (later start); a 255-calendar-day suspension in 2010.
CODES = ("600519.SH", "002415.SZ", "000895.SZ")
FIELDS = ("open", "high", "low", "close", "volume")


def _read(root: Path, code: str) -> pd.DataFrame:
    df = pd.read_csv(root / QFQ_DIR / f"{code}.csv")
    df["date"] = pd.to_datetime(df["trade_date"].astype(str), format="%Y%m%d")
    return df.rename(columns={"vol": "volume"}).set_index("date").sort_index()


@pytest.fixture(scope="session")
def maotai(realdata: Path) -> dict[str, np.ndarray]:
    """600519.SH daily bars 2010-2020 as 1-D float arrays (no gaps: suspensions absent)."""
    df = _read(realdata, "600519.SH")
    return {f: df[f].to_numpy(np.float64) for f in FIELDS}


@pytest.fixture(scope="session")
def cn_panel(realdata: Path) -> Panel:
    """Three instruments on their union calendar: NaN before listing and on suspensions."""
    frames = {code: _read(realdata, code) for code in CODES}
    calendar = sorted(set().union(*(df.index for df in frames.values())))
    fields = {
        f: np.column_stack([frames[c][f].reindex(calendar).to_numpy() for c in CODES])
        for f in FIELDS
    }
    return Panel.from_arrays(np.array(calendar, dtype="datetime64[D]"), list(CODES), fields)
