"""Reading user files (CSV/TSV, Excel, Parquet) into the long frame.

Sniffing (encoding, delimiter) looks at the first few hundred kilobytes only; the full
read is a single streaming pass by pyarrow's CSV reader, so a large file is read once.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from quantlab.engine.data.frame import DATE, SYMBOL

__all__ = [
    "ALIASES",
    "NULL_TOKENS",
    "ImportOptions",
    "ReadResult",
    "detect_encoding",
    "iter_rows",
    "normalise_symbols",
    "parse_dates",
    "propose_mapping",
    "read_file",
    "read_raw",
    "sniff_delimiter",
]

SAMPLE_BYTES = 256 * 1024
NULL_TOKENS = ["", "None", "none", "NULL", "null", "NaN", "nan", "NA", "N/A", "#N/A", "-", "--"]
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}

# canonical field -> header spellings (compared lower-case, without spaces/underscores)
ALIASES: dict[str, list[str]] = {
    DATE: [
        "date",
        "日期",
        "交易日期",
        "trade_date",
        "tradedate",
        "dt",
        "datetime",
        "time",
        "时间",
        "day",
    ],
    SYMBOL: [
        "symbol",
        "代码",
        "股票代码",
        "证券代码",
        "ts_code",
        "code",
        "tic",
        "ticker",
        "name",
        "instrument",
    ],
    "open": ["open", "开盘", "开盘价", "今开"],
    "high": ["high", "最高", "最高价"],
    "low": ["low", "最低", "最低价"],
    "close": ["close", "收盘", "收盘价", "最新价", "price"],
    "volume": ["volume", "vol", "成交量"],
    "amount": ["amount", "成交额", "成交金额", "turnover_value", "value"],
    "factor": ["factor", "复权因子", "adj_factor", "adjfactor"],
    "adj_close": ["adj close", "adj_close", "adjclose", "adjcp", "adjusted_close", "复权收盘价"],
    "pre_close": ["pre_close", "preclose", "前收盘", "昨收"],
    "change": ["change", "涨跌额"],
    "pct_chg": ["pct_chg", "pctchg", "pct_change", "涨跌幅"],
    "turnover": ["turnover", "换手率", "turn"],
}
PRICE_FIELDS = ("open", "high", "low", "close", "pre_close")


def _key(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(header).strip().lstrip("\ufeff").lower())


_ALIAS_INDEX = {_key(a): canon for canon, names in ALIASES.items() for a in names}


def propose_mapping(headers: list[str]) -> dict[str, str]:
    """Canonical name to source header for every header we recognise (first wins)."""
    mapping: dict[str, str] = {}
    for h in headers:
        canon = _ALIAS_INDEX.get(_key(h))
        if canon is not None and canon not in mapping:
            mapping[canon] = h
    return mapping


def detect_encoding(path: str | os.PathLike[str], sample_bytes: int = SAMPLE_BYTES) -> str:
    """Encoding of a text file from its first bytes: BOMs, strict UTF-8, then a detector.

    Chinese encodings are widened to GB18030 (a superset of GB2312 and GBK) so a rare
    character later in the file still decodes.
    """
    with open(path, "rb") as fh:
        sample = fh.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # short samples fool a free-choice detector (Latin-1 read as Korean JOHAB): only the
    # encodings market files actually come in are candidates
    best = from_bytes(sample, cp_isolation=_CANDIDATES).best()
    name = best.encoding.lower().replace("-", "_") if best is not None else "latin_1"
    if name in {"gb2312", "gbk", "gb18030", "hz"}:
        return "gb18030"
    if name in {"ascii", "cp1252", "latin_1", "iso8859_1"}:
        return "latin-1"
    return name


_CANDIDATES = ["utf_8", "gb18030", "big5", "shift_jis", "cp1252", "latin_1"]


def _head_text(path: Path, encoding: str, sample_bytes: int = 64 * 1024) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(sample_bytes)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=False)
    return text if len(raw) < sample_bytes else text[: text.rfind("\n") + 1] or text


def sniff_delimiter(text: str) -> str:
    """The most consistent of ``, \\t ; |`` across the sample's first lines."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",\t;|"}
        return max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","


def iter_rows(
    path: str | os.PathLike[str], encoding: str | None = None, delimiter: str | None = None
) -> Iterator[list[object]]:
    """Rows of any supported file as lists (header first), streamed."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        import openpyxl

        # data_only: cells give the value Excel stored, formulas are never evaluated here
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        try:
            for row in wb.worksheets[0].iter_rows(values_only=True):
                yield list(row)
        finally:
            wb.close()
    elif suffix == ".xls":
        import xlrd

        book = xlrd.open_workbook(p, on_demand=True)
        sheet = book.sheet_by_index(0)
        for r in range(sheet.nrows):
            out: list[object] = []
            for cell in sheet.row(r):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    out.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                else:
                    out.append(cell.value)
            yield out
    elif suffix == ".parquet":
        pf = pq.ParquetFile(p)
        yield list(pf.schema_arrow.names)
        for batch in pf.iter_batches(batch_size=10_000):
            yield from (list(r.values()) for r in batch.to_pylist())
    else:
        enc = encoding or detect_encoding(p)
        with open(p, encoding=enc, errors="replace", newline="") as fh:
            delim = delimiter or sniff_delimiter(fh.read(64 * 1024))
            fh.seek(0)
            yield from csv.reader(fh, delimiter=delim)


def read_raw(
    path: str | os.PathLike[str],
    encoding: str | None = None,
    delimiter: str | None = None,
    text_columns: list[str] | None = None,
) -> pd.DataFrame:
    """The whole file as a DataFrame with source headers; ``text_columns`` stay strings."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(p).to_pandas()
    if suffix in EXCEL_SUFFIXES:
        rows = iter_rows(p)
        header = [str(h) if h is not None else f"column_{i}" for i, h in enumerate(next(rows, []))]
        body = [r + [None] * (len(header) - len(r)) for r in rows if any(v is not None for v in r)]
        frame = pd.DataFrame([r[: len(header)] for r in body], columns=header)
        for col in text_columns or []:
            if col in frame:
                frame[col] = frame[col].map(_excel_text)
        return frame
    enc = encoding or detect_encoding(p)
    delim = delimiter or sniff_delimiter(_head_text(p, enc))
    header = [str(h) for h in next(iter_rows(p, enc, delim), [])]
    types = {c: pa.string() for c in text_columns or [] if c in header}
    # an unnamed first column (a pandas index) would be called "" and collide
    names = [h if h.strip() else f"column_{i}" for i, h in enumerate(header)]
    try:
        table = _read_csv(p, enc, delim, names, types)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"malformed CSV {p.name}: {exc}") from exc
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _read_csv(
    p: Path, enc: str, delim: str, names: list[str], types: dict[str, pa.DataType]
) -> pa.Table:
    return pacsv.read_csv(
        p,
        read_options=pacsv.ReadOptions(
            encoding=enc, column_names=names, skip_rows=1, block_size=8 << 20
        ),
        parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=NULL_TOKENS, strings_can_be_null=True
        ),
    )


def _excel_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None else str(value)


def _per_unique(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn`` applied to the distinct values only, then spread back to every row.

    A long frame repeats each symbol and date thousands of times; cleaning or parsing
    the few thousand distinct strings instead of a million rows is what makes imports
    fast. ``fn`` must work element by element, so the result is the same either way.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) * 2 > len(values):
        return fn(values)
    done = fn(pd.Series(uniques, dtype=values.dtype))
    out = done.array.take(codes, allow_fill=True)
    return pd.Series(out, index=values.index, name=values.name)


def normalise_symbols(values: pd.Series) -> pd.Series:
    """Codes as clean strings: no leading apostrophe (a spreadsheet text marker), no spaces."""
    return _per_unique(values, _normalise_symbols)


def _normalise_symbols(values: pd.Series) -> pd.Series:
    s = values.astype("string").str.strip().str.lstrip("'").str.strip()
    return s.where(~s.isin(NULL_TOKENS), None)


def parse_dates(values: pd.Series) -> pd.Series:
    """ISO strings, ``YYYYMMDD`` integers/strings, timestamps or Excel datetimes to datetime64.

    Unparsable cells become ``NaT`` (the validator reports them by row).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    return _per_unique(values, _parse_dates)


def _parse_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(values):
        as_int = values.astype("Int64").astype("string")
        return pd.to_datetime(as_int, format="%Y%m%d", errors="coerce")
    s = values.astype("string").str.strip()
    if s.dropna().str.fullmatch(r"\d{8}").all():
        return pd.to_datetime(s, format="%Y%m%d", errors="coerce")
    parsed = pd.to_datetime(s, format="ISO8601", errors="coerce")
    if parsed.isna().sum() > s.isna().sum():
        mixed = pd.to_datetime(s, format="mixed", errors="coerce")
        parsed = parsed.fillna(mixed)
    return parsed


@dataclass(slots=True)
class ImportOptions:
    """How to turn a file into the long frame (every field optional).

    ``mapping``: canonical name -> source header, overriding the proposal.
    ``layout``: ``"auto"``, ``"long"`` or ``"wide"`` (date + one column per symbol).
    ``symbol``: the code for a file without a symbol column (default: the file stem).
    ``volume_multiplier`` / ``amount_multiplier``: e.g. 100 for lots, 1000 for thousands.
    ``volume_basis``: ``"raw"`` (traded shares), ``"adjusted"`` (divided by the adjustment
    factor, as official Qlib dumps) or ``"auto"`` (Qlib folders adjusted, files raw); the
    backtest converts adjusted volumes back to shares.
    ``adjust``: ``"none"``, ``"backward"`` (price x factor) or ``"forward"`` (price x
    factor / the symbol's last factor), the factor being the ``factor`` column or
    ``adj_close / close``. Volumes are left as traded. An adjusted frame keeps the factor
    applied as its ``factor`` column (adjusted = raw x factor).
    """

    mapping: dict[str, str] = field(default_factory=dict)
    layout: str = "auto"
    symbol: str | None = None
    wide_field: str = "close"
    volume_multiplier: float = 1.0
    amount_multiplier: float = 1.0
    adjust: str = "none"
    volume_basis: str = "auto"
    encoding: str | None = None
    delimiter: str | None = None
    keep_unmapped: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> ImportOptions:
        """Validate a plain dict (from JSON) into options."""
        data = dict(data or {})
        unknown = set(data) - set(cls.__slots__)  # type: ignore[attr-defined]
        if unknown:
            raise ValueError(f"unknown import options: {sorted(unknown)}")
        opts = cls(**data)  # type: ignore[arg-type]
        if opts.layout not in {"auto", "long", "wide"}:
            raise ValueError(f"layout must be auto, long or wide, not {opts.layout!r}")
        if opts.adjust not in {"none", "forward", "backward"}:
            raise ValueError(f"adjust must be none, forward or backward, not {opts.adjust!r}")
        if opts.volume_basis not in {"auto", "raw", "adjusted"}:
            raise ValueError(
                f"volume_basis must be auto, raw or adjusted, not {opts.volume_basis!r}"
            )
        return opts


@dataclass(slots=True)
class ReadResult:
    """The long frame plus how it was read and the cells that would not parse."""

    frame: pd.DataFrame
    mapping: dict[str, str]
    layout: str
    encoding: str | None
    unparsable: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _guess_date_column(raw: pd.DataFrame) -> str | None:
    """An unnamed leading column of dates (a saved pandas index), if there is one."""
    for col in list(raw.columns[:2]):
        head = raw[col].dropna().head(50)
        if len(head) and not pd.api.types.is_float_dtype(head):
            if parse_dates(head.astype("string")).notna().mean() > 0.9:
                return str(col)
    return None


def _is_wide(raw: pd.DataFrame, mapping: dict[str, str]) -> bool:
    mapped_fields = set(mapping) - {DATE, SYMBOL}
    return DATE in mapping and SYMBOL not in mapping and not mapped_fields and raw.shape[1] >= 3


def read_file(
    path: str | os.PathLike[str], options: ImportOptions | Mapping[str, object] | None = None
) -> ReadResult:
    """Read a user file into a long frame (``date``, ``symbol``, float fields).

    Rows are returned in file order (newest-first files stay so; storage sorts). Row
    numbers in ``unparsable`` are 1-based data rows (header excluded).
    """
    opts = options if isinstance(options, ImportOptions) else ImportOptions.from_dict(options)
    p = Path(path)
    enc = None
    if p.suffix.lower() not in EXCEL_SUFFIXES | {".parquet"}:
        enc = opts.encoding or detect_encoding(p)
    first_row: list[object] = next(iter_rows(p, enc, opts.delimiter), [])
    header = [str(h) for h in first_row]
    mapping = {**propose_mapping(header), **opts.mapping}
    text_cols = [mapping[k] for k in (DATE, SYMBOL) if k in mapping]
    raw = read_raw(p, enc, opts.delimiter, text_columns=text_cols)
    raw.columns = [str(c) for c in raw.columns]
    if header and len(header) == raw.shape[1]:
        raw.columns = [h if h.strip() else f"column_{i}" for i, h in enumerate(header)]
    layout = opts.layout
    if layout == "auto":
        layout = "wide" if _is_wide(raw, mapping) else "long"
    notes: list[str] = []
    if DATE not in mapping:
        guess = _guess_date_column(raw)
        if guess is not None:
            mapping[DATE] = guess
            notes.append(f"dates taken from the unnamed column {guess!r}")
    if DATE not in mapping:
        raise ValueError(f"no date column found among {header[:20]}; map one explicitly")
    if layout == "wide":
        date_col = mapping[DATE]
        value_cols = [c for c in raw.columns if c != date_col]
        long = raw.melt(
            id_vars=[date_col], value_vars=value_cols, var_name=SYMBOL, value_name=opts.wide_field
        )
        long = long.rename(columns={date_col: DATE})
        long = long[long[opts.wide_field].notna()].reset_index(drop=True)
        mapping = {DATE: date_col, SYMBOL: "<columns>", opts.wide_field: "<cells>"}
        raw, source = long, {DATE: DATE, SYMBOL: SYMBOL, opts.wide_field: opts.wide_field}
    else:
        source = mapping
    out: dict[str, object] = {}
    unparsable: dict[str, list[int]] = {}
    dates = parse_dates(raw[source[DATE]])
    bad = dates.isna() & raw[source[DATE]].notna()
    if bad.any():
        unparsable[DATE] = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
    out[DATE] = dates
    if SYMBOL in source:
        out[SYMBOL] = normalise_symbols(raw[source[SYMBOL]])
    else:
        sym = opts.symbol or p.stem
        out[SYMBOL] = pd.Series(sym, index=raw.index, dtype="string")
        notes.append(f"symbol taken from {'options' if opts.symbol else 'the file name'}: {sym}")
    used = {source[k] for k in source}
    field_sources = {k: v for k, v in source.items() if k not in (DATE, SYMBOL)}
    if opts.keep_unmapped and layout == "long":
        for col in raw.columns:
            if col not in used and not col.startswith("column_") and col.strip():
                field_sources.setdefault(_key(col) or col, col)
    for name, col in field_sources.items():
        series = raw[col]
        if pd.api.types.is_bool_dtype(series):
            values = series.astype(float)
        elif pd.api.types.is_numeric_dtype(series):
            values = series.astype(float)
        else:
            text = series.astype("string").str.strip().str.replace(",", "", regex=False)
            values = pd.to_numeric(text.where(~text.isin(NULL_TOKENS), None), errors="coerce")
            bad = values.isna() & text.notna() & ~text.isin(NULL_TOKENS)
            if bad.all() and bad.any():
                continue  # a text column (a name, a flag): not a field
            if bad.any():
                unparsable[name] = (np.flatnonzero(bad.to_numpy()) + 1).tolist()
        out[name] = values.astype(float)
    frame = pd.DataFrame(out)
    _apply_units(frame, opts, notes)
    _apply_adjustment(frame, opts, notes)
    return ReadResult(frame, mapping, layout, enc, unparsable, notes)


def _apply_units(frame: pd.DataFrame, opts: ImportOptions, notes: list[str]) -> None:
    if opts.volume_multiplier != 1 and "volume" in frame:
        frame["volume"] *= opts.volume_multiplier
        notes.append(f"volume x {opts.volume_multiplier:g}")
    if opts.amount_multiplier != 1 and "amount" in frame:
        frame["amount"] *= opts.amount_multiplier
        notes.append(f"amount x {opts.amount_multiplier:g}")


def _apply_adjustment(frame: pd.DataFrame, opts: ImportOptions, notes: list[str]) -> None:
    if opts.adjust == "none":
        return
    if "factor" in frame:
        factor = frame["factor"]
    elif "adj_close" in frame and "close" in frame:
        factor = frame["adj_close"] / frame["close"]
    else:
        raise ValueError("adjustment needs a factor column or an adjusted close column")
    if opts.adjust == "forward":
        order = frame[DATE].argsort(kind="stable")
        last = factor.iloc[order].groupby(frame[SYMBOL].iloc[order]).transform("last")
        factor = factor / last.reindex(frame.index)
    source = "factor" if "factor" in frame else "adj_close/close"
    for name in PRICE_FIELDS:
        if name in frame:
            frame[name] = frame[name] * factor
    # The factor kept is the one applied, so adjusted = raw x factor holds for every
    # adjustment and the backtest can trade at price / factor.
    frame["factor"] = factor
    notes.append(f"prices {opts.adjust}-adjusted by {source}")
