"""Chart data from stored versions: candles, moving averages, indicator panes, downsampling,
CSV/JSON export and a PNG candlestick rendering."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab.datasets.exceptions import DataFileError, UnknownSymbols
from quantlab.datasets.schemas import RowFilter
from quantlab.datasets.service import frame_records, load_panel_symbols, read_rows
from quantlab.engine.indicators import compute, get_indicator
from quantlab.platform.errors import ValidationFailed
from quantlab.platform.jsonsafe import json_safe

PANE_INDICATORS = {"MACD", "RSI", "KDJ", "BOLL", "VOL"}
PRICE_FIELDS = ("open", "high", "low", "close")


def _load_symbol(path: Path, symbol: str, start: date | None, end: date | None) -> pd.DataFrame:
    if symbol not in set(load_panel_symbols(path)):
        raise UnknownSymbols(f"symbol {symbol!r} is not in this dataset version")
    frame = read_rows(path, RowFilter(symbols=[symbol], start=start, end=end), [symbol])
    missing = [f for f in PRICE_FIELDS if f not in frame.columns]
    if missing:
        raise DataFileError(f"the dataset has no {', '.join(missing)} field(s) for candles")
    return frame.sort_values("date").reset_index(drop=True)


def _indicator(frame: pd.DataFrame, name: str) -> dict[str, np.ndarray]:
    spec = get_indicator(name)
    fields = {f: frame[f].to_numpy(dtype=np.float64)[:, None] for f in spec.inputs if f in frame}
    missing = [f for f in spec.inputs if f not in frame]
    if missing:
        raise ValidationFailed(f"indicator {name} needs field(s) {', '.join(missing)}")
    out = compute(spec.name, fields, {})
    return {k: np.asarray(v)[:, 0] for k, v in out.items()}


def _buckets(n: int, max_points: int) -> np.ndarray:
    """Group ids that split ``n`` bars into at most ``max_points`` consecutive buckets."""
    if n <= max_points:
        return np.arange(n)
    return (np.arange(n) * max_points // n).astype(np.int64)


def ohlcv(
    path: Path,
    symbol: str,
    *,
    start: date | None,
    end: date | None,
    ma: list[int],
    indicators: list[str],
    max_points: int,
) -> dict[str, Any]:
    """Candles, volume, MA overlays and indicator panes, downsampled by aggregating candles.

    Indicators and moving averages are computed on the full-resolution bars; when bars are
    aggregated, each bucket shows the value at its last bar (what the chart would show at
    that date). NaN is serialised as null.
    """
    unknown = [i for i in indicators if i.upper() not in PANE_INDICATORS]
    if unknown:
        raise ValidationFailed(
            f"unknown indicator pane(s) {unknown}; choose from {sorted(PANE_INDICATORS)}"
        )
    frame = _load_symbol(path, symbol, start, end)
    close = frame["close"]
    overlays = {f"MA{p}": close.rolling(p, min_periods=p).mean().to_numpy() for p in ma}
    panes = {name.upper(): _indicator(frame, name.upper()) for name in indicators}
    group = _buckets(len(frame), max_points)
    agg = {"date": "last", "open": "first", "high": "max", "low": "min", "close": "last"}
    for extra in ("volume", "amount"):
        if extra in frame:
            agg[extra] = "sum"
    candles = frame.groupby(group, sort=True).agg(agg) if len(frame) else frame[list(agg)]
    last_idx = pd.Series(np.arange(len(frame))).groupby(group).last().to_numpy()

    def pick(values: np.ndarray) -> list[float | None]:
        taken = values[last_idx] if len(frame) else values
        return json_safe(taken.astype(np.float64))

    return {
        "symbol": symbol,
        "points": len(candles),
        "bars": len(frame),
        "aggregated": bool(len(frame) > max_points),
        "candles": frame_records(candles.reset_index(drop=True)),
        "overlays": {k: pick(v) for k, v in overlays.items()},
        "panes": {name: {k: pick(v) for k, v in lines.items()} for name, lines in panes.items()},
    }


def to_csv(data: dict[str, Any]) -> str:
    """The chart series as one CSV table (candles, overlays and pane lines as columns)."""
    frame = pd.DataFrame(data["candles"])
    for key, values in data["overlays"].items():
        frame[key] = values
    for pane, lines in data["panes"].items():
        for key, values in lines.items():
            frame[f"{pane}.{key}"] = values
    return frame.to_csv(index=False)


def render_png(
    path: Path,
    symbol: str,
    start: date | None,
    end: date | None,
    ma: list[int],
    width: int,
    height: int,
) -> bytes:
    """A candlestick chart (with volume when present) as PNG bytes of the requested size."""
    import matplotlib

    matplotlib.use("Agg")
    import mplfinance as mpf

    frame = _load_symbol(path, symbol, start, end)
    # A bar with any missing price cannot be drawn; it is left out of the picture.
    frame = frame.dropna(subset=list(PRICE_FIELDS)).reset_index(drop=True)
    if frame.empty:
        raise ValidationFailed("no complete bars in the requested range")
    data = frame.set_index(pd.DatetimeIndex(frame["date"]))[list(PRICE_FIELDS)].copy()
    data.columns = ["Open", "High", "Low", "Close"]
    has_volume = "volume" in frame and frame["volume"].notna().any()
    if has_volume:
        data["Volume"] = frame["volume"].to_numpy()
    buf = io.BytesIO()
    dpi = 100
    mpf.plot(
        data,
        type="candle",
        volume=bool(has_volume),
        mav=tuple(p for p in ma if p < len(data)) or None,
        style="yahoo",
        title=symbol,
        figsize=(width / dpi, height / dpi),
        savefig={"fname": buf, "format": "png", "dpi": dpi},
        warn_too_much_data=len(data) + 1,
    )
    return buf.getvalue()
