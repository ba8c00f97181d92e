"""The long frame: one row per (date, symbol), one float column per field.

Readers produce it, validation and preprocessing work on it, storage writes it, and
``frame_to_panel`` / ``panel_to_frame`` convert to and from the dense panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantlab.engine.data.panel import Panel

__all__ = [
    "DATE",
    "SYMBOL",
    "field_columns",
    "frame_to_panel",
    "infer_frequency",
    "panel_to_frame",
]

DATE = "date"
SYMBOL = "symbol"


def field_columns(frame: pd.DataFrame) -> list[str]:
    """The data columns of a long frame: every column but ``date`` and ``symbol``."""
    return [c for c in frame.columns if c not in (DATE, SYMBOL)]


def infer_frequency(dates: np.ndarray | pd.Series | pd.DatetimeIndex) -> str:
    """``"day"`` when every timestamp is midnight, else a pandas-style step like ``"60min"``.

    Intraday steps are the most common positive gap between consecutive distinct stamps.
    Weekly or monthly bars are still ``"day"`` here: the panel calendar is made of days
    and the validation report flags the wide gaps.
    """
    stamps = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates))).dropna()
    if len(stamps) == 0 or (stamps == stamps.normalize()).all():
        return "day"
    uniq = np.unique(stamps.asi8)
    steps = np.diff(uniq)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return "day"
    vals, counts = np.unique(steps, return_counts=True)
    minutes = int(vals[np.argmax(counts)] // 60_000_000_000)
    return f"{max(minutes, 1)}min"


def frame_to_panel(frame: pd.DataFrame, fields: list[str] | None = None) -> Panel:
    """Scatter a daily long frame into a panel; a row marks the symbol as existing that day.

    Duplicate (date, symbol) rows keep the last one; repair them first if that matters.
    """
    names = field_columns(frame) if fields is None else list(fields)
    days = pd.to_datetime(frame[DATE]).to_numpy().astype("datetime64[D]")
    calendar, di = np.unique(days, return_inverse=True)
    symbols, si = np.unique(frame[SYMBOL].astype(str).to_numpy(), return_inverse=True)
    t, n = len(calendar), len(symbols)
    flat = si.astype(np.int64) * t + di
    arrays = {}
    for name in names:
        out = np.full((t, n), np.nan, dtype=np.float64, order="F")
        out.ravel(order="K")[flat] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        arrays[name] = out
    first = np.full(n, t, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, si, di)
    np.maximum.at(last, si, di)
    first[last < 0] = -1
    return Panel(calendar, symbols.astype(object), arrays, first, last, {})


def panel_to_frame(panel: Panel, fields: list[str] | None = None) -> pd.DataFrame:
    """Melt a panel into a long frame of the rows inside each instrument's existence range."""
    names = list(panel.fields) if fields is None else list(fields)
    mask = panel.exists()
    si, di = np.nonzero(mask.T)  # symbol-major, dates ascending within a symbol
    data: dict[str, object] = {
        DATE: pd.to_datetime(panel.calendar[di]),
        SYMBOL: panel.instruments[si].astype(str),
    }
    for name in names:
        data[name] = panel.fields[name][di, si]
    return pd.DataFrame(data)
