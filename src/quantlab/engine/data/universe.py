"""Point-in-time universes: dated membership ``symbol -> [(start, end), ...]`` and the
boolean ``[day x instrument]`` mask consumers apply to a panel.

:func:`membership_mask` is THE way to turn a membership into something the factor
engine, models and the simulator use: a name is in the universe on day ``t`` when ``t``
lies inside one of its spans, both ends included (Qlib's ``instruments/<market>.txt``
convention). Sources: Qlib market files (``read_qlib_instruments``) and CSV files with
``symbol,start,end`` (:func:`parse_membership_csv`; an empty end means "still a member").

:func:`static_universe_bias` is the diagnostic for a static list picked at the end of a
period (survivorship bias): the share of its names with no data at the period's start.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.data.panel import Panel

__all__ = [
    "OPEN_END",
    "Membership",
    "StaticUniverseBias",
    "first_last_dates",
    "membership_from_records",
    "membership_from_snapshots",
    "membership_mask",
    "membership_records",
    "parse_membership_csv",
    "parse_qlib_instruments",
    "static_universe_bias",
]

Membership = dict[str, list[tuple[np.datetime64, np.datetime64]]]
OPEN_END = np.datetime64("2262-04-11", "D")  # the last day datetime64[ns] can hold
_SYMBOL = {"symbol", "code", "instrument", "ts_code", "con_code", "ticker", "代码", "股票代码"}
_START = {"start", "start_date", "in_date", "from", "开始日期", "纳入日期"}
_END = {"end", "end_date", "out_date", "to", "结束日期", "剔除日期"}
_SNAPSHOT = {"trade_date", "date", "日期", "交易日期"}
_INDEX = {"index_code", "index", "指数代码"}


def _day(text: object) -> np.datetime64 | None:
    raw = str(text).strip() if text is not None else ""
    if not raw or raw.lower() in {"nan", "none", "null"}:
        return None
    stamp = pd.to_datetime(raw, format="%Y%m%d" if raw.isdigit() and len(raw) == 8 else None)
    return np.datetime64(stamp.date(), "D")


def _as_day(value: Any) -> Any:
    """Any date-like scalar as ``datetime64[D]``."""
    return np.asarray(value).astype("datetime64[D]")[()]


def _merge_spans(
    spans: list[tuple[np.datetime64, np.datetime64]],
) -> list[tuple[np.datetime64, np.datetime64]]:
    """Sorted spans with overlapping or touching ones joined."""
    out: list[tuple[np.datetime64, np.datetime64]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + np.timedelta64(1, "D"):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def membership_from_records(records: Iterable[Mapping[str, object]]) -> Membership:
    """Membership from ``{"symbol", "start", "end"}`` records (``end`` None: open)."""
    spans: dict[str, list[tuple[np.datetime64, np.datetime64]]] = {}
    for i, rec in enumerate(records, start=1):
        symbol = str(rec.get("symbol") or "").strip()
        start, end = _day(rec.get("start")), _day(rec.get("end"))
        if not symbol or start is None:
            raise ValueError(f"membership row {i}: a symbol and a start date are required")
        end = OPEN_END if end is None else end
        if end < start:
            raise ValueError(f"membership row {i} ({symbol}): end {end} is before start {start}")
        spans.setdefault(symbol, []).append((start, end))
    return {s: _merge_spans(v) for s, v in sorted(spans.items())}


def membership_records(membership: Membership) -> list[dict[str, str | None]]:
    """JSON-able records, one per span (``end`` None when open)."""
    return [
        {
            "symbol": symbol,
            "start": str(lo),
            "end": None if hi >= OPEN_END else str(hi),
        }
        for symbol, spans in membership.items()
        for lo, hi in spans
    ]


def parse_qlib_instruments(text: str) -> Membership:
    """A Qlib market file (``SYMBOL<TAB>start<TAB>end`` per line) as a membership."""
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3:
            raise ValueError(f"line {n}: expected 'symbol start end', got {line!r}")
        rows.append({"symbol": parts[0].upper(), "start": parts[1], "end": parts[2]})
    return membership_from_records(rows)


def membership_from_snapshots(symbols: Sequence[str], dates: Sequence[object]) -> Membership:
    """Membership from dated constituent lists (one row per member per snapshot date).

    A symbol is a member from the first snapshot it appears in to the last snapshot of an
    unbroken run of appearances; a run reaching the latest snapshot stays open (still a
    member as far as the data tell). Between snapshots nothing is known, so a name that
    leaves ends at the last snapshot that listed it.
    """
    days = [_day(d) for d in dates]
    if any(d is None for d in days):
        raise ValueError("every snapshot row needs a date")
    snapshot_days = sorted({d for d in days if d is not None})
    position = {d: i for i, d in enumerate(snapshot_days)}
    seen: dict[str, set[int]] = {}
    for sym, day in zip(symbols, days, strict=True):
        seen.setdefault(str(sym).strip().lstrip("'"), set()).add(position[day])  # type: ignore[index]
    last = len(snapshot_days) - 1
    records: list[dict[str, object]] = []
    for sym, idx in sorted(seen.items()):
        ordered = sorted(idx)
        run_start = prev = ordered[0]
        for i in [*ordered[1:], None]:
            if i is not None and i == prev + 1:
                prev = i
                continue
            end = None if prev == last else snapshot_days[prev]
            records.append({"symbol": sym, "start": snapshot_days[run_start], "end": end})
            if i is not None:
                run_start = prev = i
    return membership_from_records(records)


def parse_membership_csv(text: str) -> Membership:
    """A CSV with a header naming symbol, start and end columns (English or Chinese), or
    dated constituent snapshots (symbol and date columns, e.g. Tushare ``index_weight``:
    ``index_code,con_code,trade_date,weight``; one index per file)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    sym_col = next((i for i, h in enumerate(header) if h in _SYMBOL), None)
    start_col = next((i for i, h in enumerate(header) if h in _START), None)
    snap_col = next((i for i, h in enumerate(header) if h in _SNAPSHOT), None)
    if sym_col is None or (start_col is None and snap_col is None):
        raise ValueError(
            f"the header {header} needs symbol and start columns (end optional), or symbol "
            "and date columns of dated snapshots"
        )
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if start_col is None:
        index_col = next((i for i, h in enumerate(header) if h in _INDEX), None)
        if index_col is not None:
            indexes = sorted({r[index_col].strip() for r in rows})
            if len(indexes) > 1:
                raise ValueError(f"the file holds {len(indexes)} indexes {indexes}: upload one")
        assert snap_col is not None
        return membership_from_snapshots([r[sym_col] for r in rows], [r[snap_col] for r in rows])
    end_col = next((i for i, h in enumerate(header) if h in _END), None)
    records = []
    for row in rows:
        end = row[end_col] if end_col is not None and end_col < len(row) else None
        records.append(
            {"symbol": row[sym_col].strip().lstrip("'"), "start": row[start_col], "end": end}
        )
    return membership_from_records(records)


def membership_mask(
    membership: Mapping[str, Sequence[tuple[np.datetime64, np.datetime64]]],
    calendar: np.ndarray,
    instruments: Sequence[str],
) -> np.ndarray:
    """Boolean ``(T, N)``: instrument ``j`` is a member on ``calendar[t]``.

    Parameters
    ----------
    membership : mapping
        Symbol to inclusive ``(start, end)`` day spans.
    calendar : ndarray of datetime64
        The panel's trading days, ascending.
    instruments : sequence of str
        The panel's instrument names; names absent from ``membership`` are never members.

    Returns
    -------
    ndarray of bool, shape ``(len(calendar), len(instruments))``
        Both span ends are included; spans of one symbol are OR-ed.
    """
    days = np.asarray(calendar).astype("datetime64[D]")
    mask = np.zeros((len(days), len(instruments)), dtype=bool)
    for j, name in enumerate(instruments):
        for lo, hi in membership.get(str(name), ()):
            a = np.searchsorted(days, _as_day(lo), side="left")
            b = np.searchsorted(days, _as_day(hi), side="right")
            mask[a:b, j] = True
    return mask


def first_last_dates(
    panel: Panel, field: str = "close"
) -> dict[str, tuple[np.datetime64, np.datetime64] | None]:
    """Each instrument's first and last day with a value of ``field`` (None: never)."""
    present = np.isfinite(panel[field])
    out: dict[str, tuple[np.datetime64, np.datetime64] | None] = {}
    for j, name in enumerate(panel.instruments):
        rows = np.flatnonzero(present[:, j])
        out[str(name)] = (
            None if rows.size == 0 else (panel.calendar[rows[0]], panel.calendar[rows[-1]])
        )
    return out


@dataclass(frozen=True, slots=True)
class StaticUniverseBias:
    """Evidence that a static universe was picked with hindsight."""

    names: int
    absent_at_start: int
    share_absent_at_start: float
    examples: list[str]
    start: str
    end: str
    flagged: bool
    threshold: float

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (a diagnostic's evidence)."""
        return asdict(self)


def static_universe_bias(
    symbols: Sequence[str],
    first_dates: Mapping[str, np.datetime64 | None],
    start: np.datetime64,
    end: np.datetime64,
    threshold: float = 0.05,
    grace_days: int = 10,
) -> StaticUniverseBias:
    """How many names of a static list had no data when the period began.

    Parameters
    ----------
    symbols : sequence of str
        The static universe.
    first_dates : mapping
        Each symbol's first day with data (None or missing: no data at all).
    start, end : datetime64
        The period's first and last day.
    threshold : float
        Flag when more than this share of names is absent at the start (default 5 %:
        an index drops a few names a year, so a list chosen at the end of a multi-year
        period shows far more).
    grace_days : int
        Calendar days after ``start`` still counted as present (a first bar a few days
        late is a holiday or a suspension, not a later listing).

    Returns
    -------
    StaticUniverseBias
        ``share_absent_at_start`` = names whose first data come after
        ``start + grace_days`` (or never) divided by all names; ``flagged`` when above
        ``threshold``. An end-of-period index list over a long period shows the
        survivorship it carries this way: names that joined later were not investable
        (and often not listed) at the start.
    """
    lo = _as_day(start) + np.timedelta64(grace_days, "D")
    late = []
    for s in symbols:
        first = first_dates.get(s)
        if first is None or _as_day(first) > lo:
            late.append(str(s))
    n = len(symbols)
    share = len(late) / n if n else 0.0
    return StaticUniverseBias(
        names=n,
        absent_at_start=len(late),
        share_absent_at_start=share,
        examples=late[:10],
        start=str(_as_day(start)),
        end=str(_as_day(end)),
        flagged=share > threshold,
        threshold=threshold,
    )
