"""Chart data from stored versions: candles, moving averages, indicator panes, downsampling,
CSV/JSON export and a PNG candlestick rendering."""

from __future__ import annotations

import io
import re
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


_CN_SYMBOL = re.compile(r"^(?:(?:SH|SZ|BJ)\d{6}|\d{6}(?:\.(?:SH|SZ|BJ|XSHG|XSHE))?)$", re.I)


def is_cn_symbol(symbol: str) -> bool:
    """A China A-share or index code (``SH600519``, ``600519.SH``, ``600519``)."""
    return bool(_CN_SYMBOL.match(symbol.strip()))


def candle_colors(preference: str, symbol: str) -> tuple[str, str]:
    """(up, down) colours: ``auto`` is red up / green down for CN markets (the local
    convention), green up / red down elsewhere; ``red_up`` / ``green_up`` fix it."""
    red_up = preference == "red_up" or (preference == "auto" and is_cn_symbol(symbol))
    return ("#d62728", "#2ca02c") if red_up else ("#2ca02c", "#d62728")


def _load_symbol(
    path: Path, symbol: str, start: date | None, end: date | None
) -> tuple[pd.DataFrame, int]:
    """The symbol's bars up to ``end`` with all earlier history as warm-up, and the index
    of the first bar on or after ``start``: moving averages and indicators then have values
    from the first shown bar on, as the factor engine computes them on the full history."""
    if symbol not in set(load_panel_symbols(path)):
        raise UnknownSymbols(f"symbol {symbol!r} is not in this dataset version")
    frame = read_rows(path, RowFilter(symbols=[symbol], end=end), [symbol])
    missing = [f for f in PRICE_FIELDS if f not in frame.columns]
    if missing:
        raise DataFileError(f"the dataset has no {', '.join(missing)} field(s) for candles")
    frame = frame.sort_values("date").reset_index(drop=True)
    first = 0
    if start is not None and len(frame):
        first = int(np.searchsorted(pd.to_datetime(frame["date"]).to_numpy(), np.datetime64(start)))
    return frame, first


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
    full, first = _load_symbol(path, symbol, start, end)
    close = full["close"]
    overlays = {f"MA{p}": close.rolling(p, min_periods=p).mean().to_numpy()[first:] for p in ma}
    panes = {
        name.upper(): {k: v[first:] for k, v in _indicator(full, name.upper()).items()}
        for name in indicators
    }
    frame = full.iloc[first:].reset_index(drop=True)
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
    colors: str = "auto",
) -> bytes:
    """A candlestick chart (with volume when present) as PNG bytes of the requested size.

    Moving averages include the warm-up history before ``start``; candle colours follow
    ``colors`` (see :func:`candle_colors`)."""
    import matplotlib

    matplotlib.use("Agg")
    import mplfinance as mpf

    full, first = _load_symbol(path, symbol, start, end)
    averages = {p: full["close"].rolling(p, min_periods=p).mean().to_numpy()[first:] for p in ma}
    frame = full.iloc[first:].reset_index(drop=True)
    # A bar with any missing price cannot be drawn; it is left out of the picture.
    complete = frame[list(PRICE_FIELDS)].notna().all(axis=1).to_numpy()
    frame = frame[complete].reset_index(drop=True)
    if frame.empty:
        raise ValidationFailed("no complete bars in the requested range")
    data = frame.set_index(pd.DatetimeIndex(frame["date"]))[list(PRICE_FIELDS)].copy()
    data.columns = ["Open", "High", "Low", "Close"]
    has_volume = "volume" in frame and frame["volume"].notna().any()
    if has_volume:
        data["Volume"] = frame["volume"].to_numpy()
    buf = io.BytesIO()
    dpi = 100
    up, down = candle_colors(colors, symbol)
    market = mpf.make_marketcolors(up=up, down=down, edge="inherit", wick="inherit", volume="in")
    style = mpf.make_mpf_style(base_mpf_style="yahoo", marketcolors=market)
    lines = [
        mpf.make_addplot(values[complete], width=1.0)
        for values in averages.values()
        if np.isfinite(values[complete]).any()
    ]
    mpf.plot(
        data,
        type="candle",
        volume=bool(has_volume),
        addplot=lines or None,
        style=style,
        title=symbol,
        figsize=(width / dpi, height / dpi),
        savefig={"fname": buf, "format": "png", "dpi": dpi},
        warn_too_much_data=len(data) + 1,
    )
    return buf.getvalue()
