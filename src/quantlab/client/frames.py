"""API JSON to pandas (imported only when a DataFrame is asked for)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _dated(frame: pd.DataFrame, column: str = "date") -> pd.DataFrame:
    if column in frame.columns:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def rows_frame(rows: list[dict[str, Any]], index: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows of objects as a DataFrame, dates parsed, indexed by the ``index`` columns present."""
    frame = _dated(pd.DataFrame.from_records(rows))
    keys = [c for c in index if c in frame.columns]
    return frame.set_index(keys) if keys else frame


def ohlcv_frame(data: dict[str, Any]) -> pd.DataFrame:
    """Candles indexed by date, with the moving averages and pane lines as extra columns."""
    frame = rows_frame(data.get("candles") or [], ("date",))
    for name, values in (data.get("overlays") or {}).items():
        frame[name] = pd.Series(values, index=frame.index, dtype="float64")
    for pane, lines in (data.get("panes") or {}).items():
        for line, values in (lines or {}).items():
            if isinstance(values, list) and len(values) == len(frame):
                frame[f"{pane}.{line}"] = pd.Series(values, index=frame.index, dtype="float64")
    return frame


def values_frame(rows: list[dict[str, Any]], outputs: list[str]) -> pd.Series | pd.DataFrame:
    """Factor or indicator values indexed by (date, instrument): a Series for one output."""
    frame = rows_frame(rows).rename(columns={"symbol": "instrument"})
    if frame.empty:
        frame = pd.DataFrame(columns=["date", "instrument", *outputs])
    frame = frame.set_index(["date", "instrument"]).sort_index()
    frame = frame[outputs].astype("float64")
    return frame[outputs[0]] if len(outputs) == 1 else frame


def ic_frame(result: dict[str, Any], key: str) -> pd.DataFrame:
    """Daily IC series of an evaluation result: index date, one column per horizon (days)."""
    dates = pd.to_datetime(result.get("dates") or [])
    series = result.get(key) or {}
    frame = pd.DataFrame(
        {int(h): pd.Series(v, index=dates, dtype="float64") for h, v in series.items()},
        index=dates,
    )
    frame.index.name = "date"
    frame.columns.name = "horizon"
    return frame


def ic_summary(result: dict[str, Any], key: str) -> pd.DataFrame:
    """IC statistics per horizon (mean, std, ir, t_stat, n_days, positive_share)."""
    rows = result.get(key) or []
    frame = pd.DataFrame.from_records(rows)
    return frame.set_index("horizon") if "horizon" in frame.columns else frame


def points_frame(data: dict[str, Any]) -> pd.DataFrame:
    """The ``points`` of an equity or drawdown answer, indexed by date."""
    return rows_frame(data.get("points") or [], ("date",))


def positions_frame(data: dict[str, Any]) -> pd.DataFrame:
    """Holdings on one day: one row per symbol (or industry) with quantity, value, weight."""
    frame = pd.DataFrame.from_records(data.get("items") or [])
    key = "industry" if data.get("group_by") == "industry" else "symbol"
    if key in frame.columns:
        frame = frame.set_index(key)
    frame.attrs.update({k: data.get(k) for k in ("date", "equity", "cash")})
    return frame
