"""A quick look at a user file before importing it: what it is and how we would read it."""

from __future__ import annotations

import itertools
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quantlab.engine.data.frame import DATE, SYMBOL, infer_frequency
from quantlab.engine.data.readers import (
    EXCEL_SUFFIXES,
    NULL_TOKENS,
    _head_text,
    detect_encoding,
    iter_rows,
    parse_dates,
    propose_mapping,
    sniff_delimiter,
)
from quantlab.engine.data.units import suggest_units

__all__ = ["InspectResult", "TooManyColumns", "inspect_file"]


class TooManyColumns(ValueError):
    """The file has more columns than the inspection accepts."""


@dataclass(slots=True)
class InspectResult:
    """What ``inspect_file`` found (JSON-able through ``to_dict``)."""

    path: str
    format: str
    size_bytes: int
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    rows: list[list[object]]
    column_types: dict[str, str]
    mapping: dict[str, str]
    layout: str
    frequency: str | None
    problems: list[str] = field(default_factory=list)
    units: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (cells as strings)."""
        out = asdict(self)
        out["rows"] = [[None if v is None else str(v) for v in r] for r in self.rows]
        return out


def _column_type(values: list[object]) -> str:
    cells = [v for v in values if v is not None and str(v).strip() not in NULL_TOKENS]
    if not cells:
        return "empty"
    text = pd.Series([str(v).strip().lstrip("'") for v in cells], dtype="string")
    if text.str.fullmatch(r"\d{8}").all() and parse_dates(text).notna().all():
        return "date"
    if text.str.fullmatch(r"[-+]?\d+").all():
        # leading zeros mean a code, not a number
        return "code" if text.str.match(r"0\d").any() else "integer"
    if pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").notna().all():
        return "number"
    if parse_dates(text).notna().mean() > 0.9:
        return "datetime" if text.str.contains(r"\d:\d").any() else "date"
    return "text"


def inspect_file(
    path: str | os.PathLike[str], preview_rows: int = 20, max_columns: int | None = None
) -> InspectResult:
    """Encoding, delimiter, first rows, column types, proposed mapping and problems.

    Reads at most the first ``preview_rows`` data rows (plus a byte sample for sniffing),
    never the whole file. More than ``max_columns`` header cells raise
    :class:`TooManyColumns` before any column is typed.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    problems: list[str] = []
    fmt = "excel" if suffix in EXCEL_SUFFIXES else "parquet" if suffix == ".parquet" else "csv"
    enc = delim = None
    if fmt == "csv":
        enc = detect_encoding(p)
        delim = sniff_delimiter(_head_text(p, enc))
    try:
        rows_iter = iter_rows(p, enc, delim)
        head = list(itertools.islice(rows_iter, preview_rows + 1))
    except Exception as exc:  # a corrupt workbook or archive: report, do not raise
        return InspectResult(
            str(p),
            fmt,
            p.stat().st_size,
            enc,
            delim,
            [],
            [],
            {},
            {},
            "unknown",
            None,
            [f"cannot read file: {type(exc).__name__}: {exc}"],
        )
    if not head:
        problems.append("file is empty")
        return InspectResult(
            str(p), fmt, p.stat().st_size, enc, delim, [], [], {}, {}, "unknown", None, problems
        )
    if max_columns is not None and len(head[0]) > max_columns:
        raise TooManyColumns(f"{len(head[0])} columns; at most {max_columns} are accepted")
    headers = [str(h).lstrip("\ufeff") if h is not None else "" for h in head[0]]
    headers = [h if h.strip() else f"column_{i}" for i, h in enumerate(headers)]
    body = head[1:]
    if not body:
        problems.append("no data rows")
    widths = {len(r) for r in body}
    if widths - {len(headers)}:
        problems.append(f"rows have {sorted(widths)} cells but the header has {len(headers)}")
    columns = {h: [r[i] if i < len(r) else None for r in body] for i, h in enumerate(headers)}
    types = {h: _column_type(v) for h, v in columns.items()}
    mapping = propose_mapping(headers)
    if DATE not in mapping:
        guess = next((h for h in headers[:2] if types[h] in ("date", "datetime")), None)
        if guess is not None:
            mapping[DATE] = guess
        else:
            problems.append("no date column recognised: map one")
    fields = set(mapping) - {DATE, SYMBOL}
    layout = "long"
    if DATE in mapping and SYMBOL not in mapping and not fields and len(headers) >= 3:
        layout = "wide"
    elif SYMBOL not in mapping:
        problems.append(
            f"no symbol column: one file per symbol, symbol '{p.stem}' from the file name"
        )
    if layout == "long" and "close" not in mapping:
        problems.append("no close column recognised")
    frequency = None
    if DATE in mapping:
        parsed = parse_dates(pd.Series([str(v) for v in columns[mapping[DATE]]], dtype="string"))
        if parsed.notna().any():
            frequency = infer_frequency(parsed.dropna().to_numpy())
        if parsed.isna().any():
            bad = [i for i, v in enumerate(parsed.isna().tolist()) if v]
            syms = columns.get(mapping.get(SYMBOL, ""), [p.stem] * len(body))
            where = ", ".join(
                f"row {i + 1} ({syms[i]}: {columns[mapping[DATE]][i]!r})" for i in bad[:5]
            )
            problems.append(f"{len(bad)} unparsable dates in the preview: {where}")
        elif len(parsed) > 1 and parsed.is_monotonic_decreasing:
            problems.append("rows are newest first (they will be sorted)")
    for name in (SYMBOL,):
        if name in mapping and types.get(mapping[name]) == "integer":
            problems.append(f"column {mapping[name]!r} holds codes as numbers: read as text")
    units = _units(headers, columns, mapping)
    if units["confidence"] != "none":
        problems.append(
            f"units: set volume_multiplier={units['volume_multiplier']:g} and "
            f"amount_multiplier={units['amount_multiplier']:g} ({units['reason']})"
        )
    return InspectResult(
        str(p),
        fmt,
        p.stat().st_size,
        enc,
        delim,
        headers,
        body,
        types,
        mapping,
        layout,
        frequency,
        problems,
        units,
    )


def _units(
    headers: list[str], columns: dict[str, list[object]], mapping: dict[str, str]
) -> dict[str, object]:
    """Suggested volume/amount multipliers from the header names and the preview values."""

    def values(name: str) -> np.ndarray | None:
        if name not in mapping or mapping[name] not in columns:
            return None
        text = pd.Series([None if v is None else str(v) for v in columns[mapping[name]]])
        cleaned = text.str.replace(",", "", regex=False)
        return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)

    return suggest_units(headers, values("volume"), values("amount"), values("close")).to_dict()
