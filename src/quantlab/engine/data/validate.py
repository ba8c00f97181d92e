"""Validation report for a long frame, and the repairs that answer its problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from quantlab.engine.data.frame import DATE, SYMBOL

__all__ = [
    "Problem",
    "ValidationReport",
    "drop_duplicates",
    "drop_invalid_rows",
    "mark_gaps_suspended",
    "validate_frame",
]

PRICES = ("open", "high", "low", "close")


@dataclass(slots=True)
class Problem:
    """One kind of problem: ``rows`` are the first 1-based frame rows, ``count`` all of them.

    ``where`` names the same rows as a reader does: ``{"row", "symbol", "date"}`` each
    (``None`` where the cell itself is the problem), and for gaps one entry per symbol.
    """

    code: str
    severity: str  # "fatal" blocks the import until repaired; "warning" does not
    message: str
    column: str | None = None
    count: int = 0
    rows: list[int] = field(default_factory=list)
    where: list[dict[str, object]] = field(default_factory=list)


@dataclass(slots=True)
class ValidationReport:
    """All problems found; JSON-able through ``to_dict``."""

    rows: int
    symbols: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """True when any problem blocks the import."""
        return any(p.severity == "fatal" for p in self.problems)

    def codes(self) -> set[str]:
        """The problem codes present."""
        return {p.code for p in self.problems}

    def get(self, code: str, column: str | None = None) -> Problem | None:
        """The first problem with this code (and column, when given)."""
        return next(
            (p for p in self.problems if p.code == code and (column is None or p.column == column)),
            None,
        )

    def problem(self, code: str, column: str | None = None) -> Problem:
        """Like ``get`` but raises ``KeyError`` when absent."""
        found = self.get(code, column)
        if found is None:
            raise KeyError(code)
        return found

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            "rows": self.rows,
            "symbols": self.symbols,
            "fatal": self.fatal,
            "problems": [asdict(p) for p in self.problems],
        }


def _add(
    report: ValidationReport,
    code: str,
    severity: str,
    message: str,
    mask: np.ndarray,
    column: str | None,
    max_rows: int,
) -> None:
    hits = np.flatnonzero(mask)
    if len(hits):
        report.problems.append(
            Problem(code, severity, message, column, len(hits), (hits[:max_rows] + 1).tolist())
        )


def validate_frame(
    frame: pd.DataFrame,
    required: Iterable[str] = (DATE, SYMBOL, "close"),
    unparsable: Mapping[str, list[int]] | None = None,
    max_rows: int = 20,
) -> ValidationReport:
    """Check a long frame (as returned by ``readers.read_file``) and list its problems.

    Fatal: missing required columns, empty or unparsable dates and symbols, duplicate
    (symbol, date) rows. Warnings: unparsable numbers, OHLC inconsistencies, non-positive
    prices, zero-volume days (suspensions), gaps against the frame's own calendar (the
    union of its dates), and a ``split`` column whose splits the prices already reflect.
    """
    n_sym = int(frame[SYMBOL].nunique()) if SYMBOL in frame else 0
    report = ValidationReport(rows=len(frame), symbols=n_sym)
    missing = [c for c in required if c not in frame]
    for col in missing:
        report.problems.append(
            Problem("missing_column", "fatal", f"required column {col!r} is missing", col)
        )
    for col, rows in (unparsable or {}).items():
        severity = "fatal" if col in (DATE, SYMBOL) else "warning"
        report.problems.append(
            Problem(
                "unparsable",
                severity,
                f"{len(rows)} cells in {col!r} did not parse",
                col,
                len(rows),
                list(rows[:max_rows]),
            )
        )
    if DATE in frame:
        _add(
            report,
            "missing_date",
            "fatal",
            "rows without a date",
            frame[DATE].isna().to_numpy(),
            DATE,
            max_rows,
        )
    if SYMBOL in frame:
        _add(
            report,
            "missing_symbol",
            "fatal",
            "rows without a symbol",
            frame[SYMBOL].isna().to_numpy(),
            SYMBOL,
            max_rows,
        )
    keys = _row_keys(frame) if DATE in frame and SYMBOL in frame else None
    if keys is not None:
        dup = pd.Index(keys[0]).duplicated(keep="first")
        _add(report, "duplicate", "fatal", "duplicate (symbol, date) rows", dup, None, max_rows)
    cols = {c: frame[c].to_numpy(dtype=float, na_value=np.nan) for c in PRICES if c in frame}
    if {"open", "high", "low", "close"} <= cols.keys():
        o, h, lo, c = cols["open"], cols["high"], cols["low"], cols["close"]
        with np.errstate(invalid="ignore"):
            bad_high = h < np.fmax(np.fmax(o, c), lo)
            bad_low = lo > np.fmin(np.fmin(o, c), h)
        _add(
            report,
            "ohlc_high",
            "warning",
            "high below open, close or low",
            bad_high,
            "high",
            max_rows,
        )
        _add(
            report, "ohlc_low", "warning", "low above open, close or high", bad_low, "low", max_rows
        )
    for name, values in cols.items():
        with np.errstate(invalid="ignore"):
            _add(
                report,
                "non_positive_price",
                "warning",
                f"{name} is zero or negative",
                values <= 0,
                name,
                max_rows,
            )
    if "volume" in frame:
        vol = frame["volume"].to_numpy(dtype=float, na_value=np.nan)
        _add(
            report,
            "zero_volume",
            "warning",
            "zero volume (suspended or not traded)",
            vol == 0,
            "volume",
            max_rows,
        )
    if keys is not None and not frame[DATE].isna().all():
        _check_gaps(keys, report)
    if "split" in frame and "close" in frame:
        _check_applied_splits(frame, report, max_rows)
    _locate(frame, report)
    return report


def _locate(frame: pd.DataFrame, report: ValidationReport) -> None:
    """Fill each problem's ``where`` with the symbol and date of its example rows."""
    if DATE not in frame or SYMBOL not in frame:
        return
    symbols, dates = frame[SYMBOL], frame[DATE]
    for problem in report.problems:
        if problem.where:
            continue
        out: list[dict[str, object]] = []
        for row in problem.rows:
            i = row - 1
            if not 0 <= i < len(frame):
                continue
            sym, day = symbols.iat[i], dates.iat[i]
            out.append(
                {
                    "row": row,
                    "symbol": None if pd.isna(sym) else str(sym),
                    "date": None if pd.isna(day) else pd.Timestamp(day).date().isoformat(),
                }
            )
        problem.where = out


def _row_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One int64 per row for (symbol, date) plus the codes behind it.

    Returns ``(key, symbol_code, day_code, symbols)``: codes index the sorted distinct
    symbols and dates (-1 where missing); ``key`` is unique per (symbol, date) pair, and
    missing cells get keys of their own kind so that two undated rows of one symbol
    still count as duplicates, as ``DataFrame.duplicated`` counts them.
    """
    sym, symbols = pd.factorize(frame[SYMBOL], sort=True)
    day, days = pd.factorize(frame[DATE], sort=True)
    n_days = len(days) + 1
    key = (sym.astype(np.int64) + 1) * n_days + (day.astype(np.int64) + 1)
    return key, sym, day, np.asarray(symbols, dtype=object)


def _check_gaps(
    keys: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], report: ValidationReport
) -> None:
    key, sym, day, symbols = keys
    valid = (sym >= 0) & (day >= 0)
    # each distinct (symbol, date) once; the calendar is the days any valid row has
    uniq = np.unique(key[valid])
    n_days = int(day.max()) + 2
    u_sym, u_day = uniq // n_days - 1, uniq % n_days - 1
    seen = np.zeros(n_days, dtype=bool)
    seen[u_day] = True
    pos = (np.cumsum(seen) - 1)[u_day]
    starts = np.flatnonzero(np.r_[True, u_sym[1:] != u_sym[:-1]]) if len(uniq) else uniq[:0]
    ends = np.r_[starts[1:], len(uniq)] - 1
    # keys sort symbol-major with dates ascending, so each symbol is one run
    span = pos[ends] - pos[starts] + 1
    gaps = pd.Series(
        (span - (ends - starts + 1)).astype(int), index=symbols[u_sym[starts]].astype(str)
    )
    gaps = gaps[gaps > 0]
    if len(gaps):
        worst = gaps.sort_values(ascending=False).head(10)
        report.problems.append(
            Problem(
                "gaps",
                "warning",
                f"{int(gaps.sum())} days missing inside {len(gaps)} symbols' ranges; most: "
                + ", ".join(f"{s} ({n})" for s, n in worst.items()),
                None,
                int(gaps.sum()),
                [],
                [{"symbol": str(s), "missing_days": int(n)} for s, n in worst.items()],
            )
        )


def _check_applied_splits(frame: pd.DataFrame, report: ValidationReport, max_rows: int) -> None:
    """A split of ratio r should cut the close about r-fold; if it did not, it is applied."""
    ordered = frame.sort_values([SYMBOL, DATE])
    prev = ordered.groupby(SYMBOL)["close"].shift(1)
    ratio = (prev / ordered["close"]).to_numpy(dtype=float, na_value=np.nan)
    split = ordered["split"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        event = (split > 0) & (np.abs(split - 1) > 1e-9)
        applied = event & (np.abs(np.log(ratio)) < 0.5 * np.abs(np.log(split)))
    if applied.any():
        rows = ordered.index.to_numpy()[applied]
        report.problems.append(
            Problem(
                "split_already_applied",
                "warning",
                "split recorded but prices show no jump: already adjusted, do not adjust again",
                "split",
                int(applied.sum()),
                (np.sort(rows)[:max_rows] + 1).tolist(),
            )
        )


def drop_duplicates(frame: pd.DataFrame, keep: str = "last") -> pd.DataFrame:
    """A new frame with one row per (symbol, date); ``keep`` is ``"first"`` or ``"last"``."""
    return frame.drop_duplicates([SYMBOL, DATE], keep=keep).reset_index(drop=True)  # type: ignore[arg-type]


def drop_invalid_rows(
    frame: pd.DataFrame, non_positive: bool = True, ohlc: bool = False
) -> pd.DataFrame:
    """A new frame without rows lacking a date or symbol, and optionally bad prices."""
    bad = frame[DATE].isna() | frame[SYMBOL].isna()
    present = [c for c in PRICES if c in frame]
    if non_positive:
        for c in present:
            bad |= frame[c] <= 0
    if ohlc and {"open", "high", "low", "close"} <= set(present):
        o, h, lo, c = (frame[k] for k in ("open", "high", "low", "close"))
        bad |= (h < np.fmax(np.fmax(o, c), lo)) | (lo > np.fmin(np.fmin(o, c), h))
    return frame[~bad].reset_index(drop=True)


def mark_gaps_suspended(frame: pd.DataFrame) -> pd.DataFrame:
    """A new frame where missing days inside each symbol's range become suspension rows.

    Added rows carry ``suspended = 1`` (0 elsewhere), zero volume and amount, and
    open/high/low/close equal to the previous close (what exchanges publish for a
    suspended day); other fields stay NaN. The calendar is the frame's own dates.
    """
    calendar = np.sort(frame[DATE].dropna().unique())
    parts = []
    for sym, grp in frame.sort_values(DATE).groupby(SYMBOL, sort=True):
        days = calendar[(calendar >= grp[DATE].min()) & (calendar <= grp[DATE].max())]
        full = grp.set_index(DATE).reindex(days)
        added = full[SYMBOL].isna().to_numpy()
        full[SYMBOL] = sym
        full["suspended"] = added.astype(float)
        if "close" in full:
            prev_close = full["close"].ffill()
            for c in PRICES:
                if c in full:
                    full.loc[added, c] = prev_close[added]
        for c in ("volume", "amount"):
            if c in full:
                full.loc[added, c] = 0.0
        parts.append(full.rename_axis(DATE).reset_index())
    out = pd.concat(parts, ignore_index=True) if parts else frame.assign(suspended=0.0)
    return out.sort_values([SYMBOL, DATE]).reset_index(drop=True)


# The repairs an import may request by name (``options.repairs``).
REPAIRS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "drop_duplicates": drop_duplicates,
    "drop_invalid_rows": drop_invalid_rows,
    "mark_gaps_suspended": mark_gaps_suspended,
}
