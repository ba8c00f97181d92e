"""Qlib's on-disk layout: read it into a panel and write a panel back out.

Layout (``<root>`` is a Qlib ``provider_uri``)::

    calendars/<freq>.txt                one trading day per line (YYYY-MM-DD or YYYYMMDD)
    instruments/<market>.txt            tab-separated ``SYMBOL  start  end`` membership spans
    features/<symbol>/<field>.<freq>.bin  little-endian float32; value 0 is the index into
                                          the calendar of the first day, the rest are values

Qlib itself opens ``features/<symbol.lower()>/<field.lower()>.<freq>.bin``, so exports use
lower-case names; dumps made on case-insensitive file systems often have upper-case folders,
so reads match folder and file names in any letter case.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from quantlab.engine.data.panel import Panel

__all__ = ["read_qlib", "read_qlib_calendar", "read_qlib_instruments", "write_qlib"]

_DateLike = np.datetime64 | str | None


def _parse_days(tokens: Sequence[str]) -> np.ndarray:
    """Dates as ``YYYY-MM-DD`` or ``YYYYMMDD`` (optionally with a midnight time) to days."""
    if not tokens:
        return np.array([], dtype="datetime64[D]")
    cleaned = []
    for tok in tokens:
        day, _, clock = tok.strip().partition(" ")
        if clock and clock.strip() not in ("00:00:00", "00:00"):
            raise NotImplementedError(
                "intraday Qlib calendars are not supported: panels are indexed by day"
            )
        if len(day) == 8 and day.isdigit():
            day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        cleaned.append(day)
    return np.array(cleaned, dtype="datetime64[D]")


def _child_by_lower(folder: Path) -> dict[str, Path]:
    """Map lower-cased entry names of a folder to their real paths."""
    if not folder.is_dir():
        return {}
    return {entry.name.lower(): Path(entry.path) for entry in os.scandir(folder)}


def read_qlib_calendar(path: str | os.PathLike[str], freq: str = "day") -> np.ndarray:
    """The ``datetime64[D]`` trading calendar of a Qlib folder for ``freq``."""
    cal_file = _child_by_lower(Path(path) / "calendars").get(f"{freq.lower()}.txt")
    if cal_file is None:
        raise FileNotFoundError(f"no calendars/{freq}.txt under {path}")
    lines = [ln for ln in cal_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return _parse_days(lines)


def read_qlib_instruments(
    path: str | os.PathLike[str], market: str = "all"
) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """Membership spans of a market file: upper-case symbol to ``[(start, end), ...]``."""
    inst_file = _child_by_lower(Path(path) / "instruments").get(f"{market.lower()}.txt")
    if inst_file is None:
        raise KeyError(f"no instruments/{market}.txt under {path}")
    spans: dict[str, list[tuple[np.datetime64, np.datetime64]]] = {}
    for line in inst_file.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        lo, hi = _parse_days(parts[1:3])
        spans.setdefault(parts[0].upper(), []).append((lo, hi))
    return spans


def _read_bin(file: Path) -> tuple[int, np.ndarray]:
    raw = np.fromfile(file, dtype="<f4")
    if raw.size == 0 or not np.isfinite(raw[0]):
        return -1, np.empty(0, dtype=np.float32)
    return int(raw[0]), raw[1:]


def read_qlib(
    path: str | os.PathLike[str],
    freq: str = "day",
    instruments: str | Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    start: _DateLike = None,
    end: _DateLike = None,
) -> Panel:
    """Load a Qlib data folder as a panel.

    Parameters
    ----------
    path : path-like
        The Qlib root (the folder holding ``calendars``, ``instruments`` and ``features``).
    freq : str
        Calendar and file frequency suffix; only daily calendars are supported.
    instruments : str, sequence of str or None
        ``None`` loads every folder under ``features``. A string names a market file
        (``"csi300"`` reads ``instruments/csi300.txt``); symbols whose spans miss the date
        range are left out, symbols without feature folders are listed in
        ``meta["missing_instruments"]``, and ``meta["membership"]`` holds a boolean
        ``(T, N)`` mask of the spans (values outside it are kept, as Qlib computes
        expressions on the full series before masking). A sequence lists symbols
        (any letter case); an unknown symbol raises ``KeyError``.
    fields : sequence of str or None
        Field names with or without Qlib's ``$`` prefix; ``None`` loads every field found.
        A field missing for one instrument is all-NaN for it.
    start, end : date-like or None
        Inclusive calendar bounds.

    Returns
    -------
    Panel
        Instruments are upper-case and sorted; values are float32 widened to float64 and
        keep Qlib's NaN. ``first``/``last`` come from the span stored in the bin files (the
        widest over the loaded fields), clipped to the window, so an all-NaN stretch inside
        that span (an index before its launch, say) still counts as existing. With a
        ``factor`` field ``meta`` declares ``price_basis`` and ``volume_basis``
        ``"adjusted"`` (Qlib's convention; the backtest trades at price / factor).
    """
    root = Path(path)
    full_cal = read_qlib_calendar(root, freq)
    lo = (
        0
        if start is None
        else int(np.searchsorted(full_cal, np.asarray(start, dtype="datetime64[D]")))
    )
    hi = (
        len(full_cal)
        if end is None
        else int(np.searchsorted(full_cal, np.asarray(end, dtype="datetime64[D]"), side="right"))
    )
    calendar = full_cal[lo:hi]
    folders = {name.upper(): p for name, p in _child_by_lower(root / "features").items()}
    meta: dict[str, object] = {"source": "qlib", "path": str(root), "freq": freq}

    spans: dict[str, list[tuple[np.datetime64, np.datetime64]]] | None = None
    if instruments is None:
        symbols = sorted(s for s, p in folders.items() if p.is_dir())
    elif isinstance(instruments, str):
        spans = read_qlib_instruments(root, instruments)
        win_lo = calendar[0] if len(calendar) else np.datetime64("NaT")
        win_hi = calendar[-1] if len(calendar) else np.datetime64("NaT")
        wanted = sorted(
            s for s, sp in spans.items() if any(a <= win_hi and b >= win_lo for a, b in sp)
        )
        symbols = [s for s in wanted if s in folders]
        meta["universe"] = instruments
        meta["missing_instruments"] = [s for s in wanted if s not in folders]
    else:
        requested = sorted({s.upper() for s in instruments})
        unknown = [s for s in requested if s not in folders]
        if unknown:
            raise KeyError(f"no feature folders for instruments: {unknown[:10]}")
        symbols = requested

    suffix = f".{freq.lower()}.bin"
    files_per_symbol: list[dict[str, Path]] = []
    for sym in symbols:
        files = {
            name[: -len(suffix)]: p
            for name, p in _child_by_lower(folders[sym]).items()
            if name.endswith(suffix)
        }
        files_per_symbol.append(files)
    if fields is None:
        names = sorted({f for files in files_per_symbol for f in files})
    else:
        names = [f.lstrip("$").lower() for f in fields]

    t, n = len(calendar), len(symbols)
    arrays = {f: np.full((t, n), np.nan, dtype=np.float64, order="F") for f in names}
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for j, files in enumerate(files_per_symbol):
        for f in names:
            file = files.get(f)
            if file is None:
                continue
            begin, values = _read_bin(file)
            if begin < 0:
                continue
            stop = min(begin + len(values), len(full_cal))  # tolerate a calendar cut short
            if stop <= begin:
                continue
            a, b = max(begin, lo), min(stop, hi)
            if a < b:
                arrays[f][a - lo : b - lo, j] = values[a - begin : b - begin]
                first[j] = a - lo if first[j] < 0 else min(first[j], a - lo)
                last[j] = max(last[j], b - 1 - lo)

    if spans is not None:
        membership = np.zeros((t, n), dtype=bool)
        for j, sym in enumerate(symbols):
            for span_lo, span_hi in spans[sym]:
                i0 = int(np.searchsorted(calendar, span_lo))
                i1 = int(np.searchsorted(calendar, span_hi, side="right"))
                membership[i0:i1, j] = True
        meta["membership"] = membership
    if "factor" in arrays:
        # Qlib stores adjusted prices (raw x $factor) and volume divided by the factor; a
        # dump that keeps raw volume says so with meta["volume_basis"] = "raw".
        meta["price_basis"] = "adjusted"
        meta["volume_basis"] = "adjusted"
    return Panel(calendar, np.array(symbols, dtype=object), arrays, first, last, meta)


def write_qlib(
    panel: Panel, path: str | os.PathLike[str], freq: str = "day", *, overwrite: bool = False
) -> Path:
    """Write a panel in Qlib's layout, readable by Qlib itself.

    Each instrument's bin files cover its ``[first, last]`` range (NaN inside it stays NaN);
    instruments with no data are left out. ``instruments/all.txt`` lists every written
    instrument with its first and last day. Folder and file names are lower case, as Qlib
    opens them. The folder is assembled next to ``path`` and moved into place at the end,
    so an interrupted export never leaves a half-written dataset; an existing non-empty
    ``path`` is replaced only when ``overwrite`` is true.
    """
    dest = Path(path)
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise FileExistsError(f"{dest} exists and is not empty (pass overwrite=True)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        (stage / "calendars").mkdir()
        (stage / "instruments").mkdir()
        (stage / "features").mkdir()
        days = np.datetime_as_string(panel.calendar, unit="D")
        (stage / "calendars" / f"{freq.lower()}.txt").write_text(
            "".join(f"{d}\n" for d in days), encoding="utf-8"
        )
        rows = []
        for j, sym in enumerate(panel.instruments):
            a, b = int(panel.first[j]), int(panel.last[j])
            if a < 0 or b < a:
                continue
            rows.append(f"{str(sym).upper()}\t{days[a]}\t{days[b]}\n")
            folder = stage / "features" / str(sym).lower()
            folder.mkdir()
            for name, arr in panel.fields.items():
                out = np.empty(b - a + 2, dtype="<f4")
                out[0] = a
                out[1:] = arr[a : b + 1, j]
                out.tofile(folder / f"{name.lower()}.{freq.lower()}.bin")
        (stage / "instruments" / "all.txt").write_text("".join(rows), encoding="utf-8")
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            os.replace(stage, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return dest
