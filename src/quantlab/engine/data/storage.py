"""Dataset versions on disk: one zstd Parquet file in long format plus a JSON summary.

A version directory holds ``data.parquet`` (columns ``date``, ``symbol`` dictionary-encoded,
then one float64 column per field, sorted by symbol then date) and ``meta.json`` (the
``VersionMeta``). Both are written to a temporary name in the same directory and moved
into place with ``os.replace``, Parquet first, so a reader that finds ``meta.json`` always
finds the complete data it describes, and a killed write leaves no half dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from quantlab.engine.data.frame import DATE, SYMBOL, field_columns, infer_frequency, panel_to_frame
from quantlab.engine.data.panel import Panel
from quantlab.engine.lru import ByteLRU

__all__ = [
    "DATA_FILE",
    "META_FILE",
    "PanelCache",
    "VersionMeta",
    "load_panel",
    "panel_cache",
    "read_meta",
    "write_version",
]

DATA_FILE = "data.parquet"
META_FILE = "meta.json"
_DateLike = np.datetime64 | str | None


@dataclass(frozen=True, slots=True)
class VersionMeta:
    """Summary of one stored dataset version (JSON-able through ``to_dict``)."""

    symbols: list[str]
    start: str
    end: str
    frequency: str
    fields: list[str]
    rows: int
    missing: dict[str, int]
    size_bytes: int
    sha256: str
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> VersionMeta:
        """Inverse of ``to_dict``."""
        return cls(**data)  # type: ignore[arg-type]


def _atomic_write(target: Path, write: object) -> None:
    """Call ``write(tmp_path)`` then move the temporary file over ``target``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)  # type: ignore[operator]
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _symbol_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes into the sorted distinct symbol strings; raises on a missing symbol."""
    try:
        # factorize the values as they are: astype(str) first would copy every row
        codes, uniques = pd.factorize(values, sort=True)
        fast = all(isinstance(u, str) for u in uniques)
    except TypeError:  # unorderable mixed types
        fast = False
    if not fast:  # numbers as codes: sort them as text, like the strings they become
        cats = pd.Categorical(values.astype(str))
        codes, uniques = cats.codes, cats.categories
    if (codes < 0).any():
        raise ValueError("the symbol column has missing values")
    return codes, [str(u) for u in uniques]


def _to_table(frame: pd.DataFrame, frequency: str) -> tuple[pa.Table, list[str]]:
    names = field_columns(frame)
    stamps = pd.to_datetime(frame[DATE])
    if stamps.isna().any():
        raise ValueError("the date column has missing or unparsable values")
    codes, names_of = _symbol_codes(frame[SYMBOL])
    # sorted dictionary: symbol-major rows compress well and prune by row group
    stamp_ns = stamps.to_numpy().astype("datetime64[ns]").astype(np.int64)
    order = np.lexsort((stamp_ns, codes))
    if frequency == "day":
        dates = pa.array(stamps.to_numpy().astype("datetime64[D]")[order], type=pa.date32())
    else:
        dates = pa.array(stamps.to_numpy().astype("datetime64[ms]")[order], type=pa.timestamp("ms"))
    symbols = pa.DictionaryArray.from_arrays(
        pa.array(codes[order].astype(np.int32)), pa.array(list(names_of), pa.string())
    )
    columns: dict[str, pa.Array] = {DATE: dates, SYMBOL: symbols}
    for name in names:
        col = frame[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"field {name!r} is not numeric ({col.dtype}); convert it first")
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)[order]
        columns[name] = pa.array(values, type=pa.float64())
    return pa.table(columns), names


def write_version(
    data: pd.DataFrame | Panel, directory: str | os.PathLike[str], **extra: object
) -> VersionMeta:
    """Write a long frame (or a panel) as a dataset version and return its summary.

    ``data`` has ``date`` and ``symbol`` columns and numeric (or boolean) field columns;
    booleans are stored as 0/1 floats. Missing cells are counted per field as NaN.
    Keyword arguments are kept in ``VersionMeta.extra`` (units, adjustment, source...).
    """
    frame = panel_to_frame(data) if isinstance(data, Panel) else data
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    frequency = infer_frequency(frame[DATE].to_numpy()) if len(frame) else "day"
    table, names = _to_table(frame, frequency)

    def write_parquet(tmp: str) -> None:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=256 * 1024,
            use_dictionary=[SYMBOL],
            write_statistics=[DATE, SYMBOL],
        )

    data_path = target / DATA_FILE
    _atomic_write(data_path, write_parquet)
    dates = table.column(DATE)
    if len(table):
        lo, hi = pc.min(dates).as_py(), pc.max(dates).as_py()
        start, end = pd.Timestamp(lo).isoformat(), pd.Timestamp(hi).isoformat()
        if frequency == "day":
            start, end = start[:10], end[:10]
    else:
        start = end = ""
    meta = VersionMeta(
        symbols=[str(s) for s in table.column(SYMBOL).chunk(0).dictionary.to_pylist()]
        if len(table)
        else [],
        start=start,
        end=end,
        frequency=frequency,
        fields=names,
        rows=len(table),
        missing={n: int(np.isnan(table.column(n).to_numpy()).sum()) for n in names},
        size_bytes=data_path.stat().st_size,
        sha256=_sha256(data_path),
        extra=dict(extra),
    )
    text = json.dumps(meta.to_dict(), ensure_ascii=False, indent=1)
    _atomic_write(target / META_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return meta


def read_meta(directory: str | os.PathLike[str]) -> VersionMeta:
    """The ``VersionMeta`` stored with a version."""
    text = (Path(directory) / META_FILE).read_text(encoding="utf-8")
    return VersionMeta.from_dict(json.loads(text))


class PanelCache(ByteLRU[Panel]):
    """Process-wide LRU of loaded panels, bounded by the bytes of their field arrays."""

    def __init__(self, max_bytes: int = 1 << 30) -> None:
        super().__init__(max_bytes)


panel_cache = PanelCache(int(os.environ.get("QUANTLAB_PANEL_CACHE_BYTES", str(1 << 30))))


def _day_number(value: _DateLike) -> int:
    return int(np.asarray(value, dtype="datetime64[D]").astype(np.int64))


def load_panel(
    directory: str | os.PathLike[str],
    fields: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    start: _DateLike = None,
    end: _DateLike = None,
    *,
    cache: PanelCache | None = panel_cache,
) -> Panel:
    """Load a daily dataset version as a panel.

    The calendar is the set of days with at least one row in the selection; a symbol
    exists from its first to its last row. ``fields=None`` loads every field;
    ``symbols`` that do not occur are simply absent. Panels come from ``cache`` when the
    same (version, selection) was loaded before; cached arrays are read-only, so copy
    before modifying in place. ``meta["version_key"]`` identifies the version file and
    the selection, for caches of results computed from the panel.
    """
    root = Path(directory)
    data_path = root / DATA_FILE
    stat = data_path.stat()
    sel = (
        tuple(fields) if fields is not None else None,
        tuple(sorted(symbols)) if symbols is not None else None,
        None if start is None else _day_number(start),
        None if end is None else _day_number(end),
    )
    key = (str(data_path.resolve()), stat.st_mtime_ns, stat.st_size, *sel)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit

    schema = pq.read_schema(data_path)
    names = [n for n in schema.names if n not in (DATE, SYMBOL)] if fields is None else list(fields)
    unknown = [n for n in names if n not in schema.names]
    if unknown:
        raise KeyError(f"unknown fields: {unknown}")
    if schema.field(DATE).type != pa.date32():
        raise ValueError("load_panel needs a daily dataset; this version is intraday")
    filters = []
    if symbols is not None:
        filters.append((SYMBOL, "in", list(symbols)))
    if start is not None:
        filters.append((DATE, ">=", pd.Timestamp(np.datetime64(_day_number(start), "D")).date()))
    if end is not None:
        filters.append((DATE, "<=", pd.Timestamp(np.datetime64(_day_number(end), "D")).date()))
    table = pq.read_table(
        data_path,
        columns=[DATE, SYMBOL, *names],
        filters=filters or None,
        read_dictionary=[SYMBOL],
    )
    panel = _scatter(table, names)
    version_key = f"{key[0]}@{stat.st_mtime_ns}:{stat.st_size}|{sel!r}"
    panel = Panel(
        panel.calendar,
        panel.instruments,
        panel.fields,
        panel.first,
        panel.last,
        {"version_key": version_key, "path": str(root)},
    )
    if cache is not None:
        for arr in panel.fields.values():
            arr.flags.writeable = False
        cache.put(key, panel)
    return panel


def _scatter(table: pa.Table, names: list[str]) -> Panel:
    """Dense (T, N) arrays from a long table, by direct index arithmetic (no pivot)."""
    day = table.column(DATE).cast(pa.int32()).to_numpy().astype(np.int64)
    sym_col = table.column(SYMBOL).unify_dictionaries()
    if table.num_rows:
        dictionary = np.asarray(sym_col.chunk(0).dictionary.to_pylist(), dtype=object)
        codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in sym_col.chunks])
    else:
        dictionary, codes = np.empty(0, dtype=object), np.empty(0, np.int32)
    # keep only symbols that occur, in sorted order
    used = np.zeros(len(dictionary), dtype=bool)
    used[codes] = True
    order = np.argsort(dictionary[used].astype(str), kind="stable")
    remap = np.full(len(dictionary), -1, dtype=np.int64)
    remap[np.flatnonzero(used)[order]] = np.arange(used.sum())
    si = remap[codes]
    instruments = dictionary[used][order]

    if len(day):
        lo, hi = int(day.min()), int(day.max())
        seen = np.zeros(hi - lo + 1, dtype=bool)
        seen[day - lo] = True
        slot = np.cumsum(seen) - 1
        calendar = (np.flatnonzero(seen) + lo).astype("datetime64[D]")
        di = slot[day - lo]
    else:
        calendar, di = np.empty(0, "datetime64[D]"), np.empty(0, np.int64)
    t, n = len(calendar), len(instruments)
    flat = si * t + di
    # a complete version stored symbol-major is already the Fortran layout: no scatter
    dense = len(flat) == t * n and bool(np.array_equal(flat, np.arange(t * n)))
    arrays = {}
    for name in names:
        values = table.column(name).to_numpy()
        if dense:
            out = np.require(values, np.float64, ["W"]).reshape((n, t)).T
        else:
            out = np.full((t, n), np.nan, dtype=np.float64, order="F")
            out.ravel(order="K")[flat] = values
        arrays[name] = out
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    if len(si) and np.all(si[1:] >= si[:-1]):
        # stored symbol-major with dates ascending: each symbol's rows are one run
        starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])
        ends = np.r_[starts[1:], len(si)] - 1
        first[si[starts]] = di[starts]
        last[si[ends]] = di[ends]
    elif len(si):
        first[:] = t
        np.minimum.at(first, si, di)
        np.maximum.at(last, si, di)
        first[last < 0] = -1
    return Panel(calendar, instruments, arrays, first, last, {})
