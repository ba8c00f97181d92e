"""Preprocessing pipelines on the long frame: fills, outliers, transforms and filters.

``apply_pipeline(frame, specs)`` validates the JSON steps (see ``preprocess_spec`` for the
schema) and runs them in order; ``preview_pipeline`` runs the same pipeline and reports
before/after samples and distributions for a UI. The result is sorted by symbol then
date (the order per-symbol steps need, and the order storage writes); the input frame
is never modified. All statistics skip missing cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine.data.frame import DATE, SYMBOL
from quantlab.engine.data.preprocess_spec import (
    Condition,
    FillMissing,
    Filter,
    Outliers,
    PreprocessError,
    Step,
    Transform,
    parse_pipeline,
    parse_step,
)

__all__ = [
    "PreprocessError",
    "apply_pipeline",
    "parse_pipeline",
    "parse_step",
    "preview_pipeline",
]

MAD_SCALE = 1.4826  # makes the MAD a consistent estimator of a normal sigma


class _State:
    """The working frame (sorted by symbol, date) and each row's position in the input."""

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in (DATE, SYMBOL) if c not in frame]
        if missing:
            raise PreprocessError(f"the frame lacks the column(s) {missing}")
        work = frame.copy()
        if not pd.api.types.is_datetime64_any_dtype(work[DATE]):
            work[DATE] = pd.to_datetime(work[DATE], errors="coerce")
        try:  # factorize as stored: a string copy of a million symbols costs more
            sym_codes, _ = pd.factorize(work[SYMBOL], sort=True)
        except TypeError:  # unorderable mixed types
            sym_codes, _ = pd.factorize(work[SYMBOL].astype("string"), sort=True)
        stamp = work[DATE].to_numpy().astype("datetime64[ns]").astype(np.int64)
        order = np.lexsort((stamp, sym_codes))
        self.frame = work.iloc[order].reset_index(drop=True)
        self.row_id = order.astype(np.int64)
        self.sym_codes = sym_codes[order].astype(np.int64)

    def keep(self, mask: np.ndarray) -> int:
        """Keep rows where ``mask``; return how many were removed."""
        removed = int((~mask).sum())
        if removed:
            self.frame = self.frame[mask].reset_index(drop=True)
            self.row_id = self.row_id[mask]
            self.sym_codes = self.sym_codes[mask]
        return removed

    def groups(self, scope: str) -> np.ndarray:
        """Dense group codes for a scope (one group for the whole sample)."""
        if scope == "per_symbol_time":
            return self.sym_codes
        if scope == "per_day_cross_section":
            return pd.factorize(self.frame[DATE])[0]
        return np.zeros(len(self.frame), dtype=np.int64)

    def numeric_columns(self, step: Step) -> list[str]:
        """The step's columns, checked to exist and be numeric."""
        frame = self.frame
        if step.columns is None:
            return [
                c
                for c in frame.columns
                if c not in (DATE, SYMBOL)
                and (
                    pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
                )
            ]
        unknown = [c for c in step.columns if c not in frame]
        if unknown:
            raise PreprocessError(
                f"{step.op}: unknown column(s) {unknown}; the frame has {list(frame.columns)}"
            )
        bad = [
            c
            for c in step.columns
            if c in (DATE, SYMBOL) or not pd.api.types.is_numeric_dtype(frame[c])
        ]
        if bad:
            raise PreprocessError(f"{step.op}: column(s) {bad} are not numeric fields")
        return list(step.columns)


def _values(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=np.float64, na_value=np.nan)


def _changed(before: np.ndarray, after: np.ndarray) -> int:
    same = (before == after) | (np.isnan(before) & np.isnan(after))
    return int((~same).sum())


def _stat(
    values: np.ndarray, codes: np.ndarray, stat: str, window: str | int, q: float = 0.5
) -> np.ndarray:
    """A group statistic broadcast to every row (``window`` for per-symbol rolling)."""
    s = pd.Series(values)
    if window == "full":
        g = s.groupby(codes, sort=False)
        if stat == "quantile":
            per = g.quantile(q)
            return per.reindex(np.arange(int(codes.max()) + 1 if len(codes) else 0)).to_numpy()[
                codes
            ]
        if stat == "rank":
            return g.rank(pct=True).to_numpy()
        return g.transform(stat).to_numpy(dtype=np.float64)
    roll = s.groupby(codes, sort=False)
    r = (
        roll.expanding(min_periods=1)
        if window == "expanding"
        else roll.rolling(int(window), min_periods=1)
    )
    if stat == "quantile":
        out = r.quantile(q)
    elif stat == "rank":
        out = r.rank(pct=True)
    else:
        out = getattr(r, stat)()
    return out.reset_index(level=0, drop=True).reindex(s.index).to_numpy(dtype=np.float64)


def _fill(state: _State, step: FillMissing, stats: dict[str, Any]) -> None:
    cols = state.numeric_columns(step)
    frame = state.frame
    if step.method == "drop_rows":
        mask = np.ones(len(frame), dtype=bool)
        for c in cols:
            mask &= ~np.isnan(_values(frame, c))
        stats["rows_removed"] = state.keep(mask)
        return
    codes = state.groups(step.scope)
    total = 0
    for c in cols:
        before = _values(frame, c)
        s = pd.Series(before)
        if step.method == "constant":
            after = np.where(np.isnan(before), float(step.value or 0.0), before)
        elif step.method in ("ffill", "bfill"):
            g = s.groupby(codes, sort=False)
            filled = (
                g.ffill(limit=step.limit) if step.method == "ffill" else g.bfill(limit=step.limit)
            )
            after = filled.to_numpy(dtype=np.float64)
        elif step.method == "interpolate":
            after = _interpolate(before, codes, step.limit)
        else:
            fill = _stat(before, codes, step.method, step.window)
            after = np.where(np.isnan(before), fill, before)
        total += _changed(before, after)
        frame[c] = after
    stats["cells_changed"] = total


def _interpolate(values: np.ndarray, codes: np.ndarray, limit: int | None) -> np.ndarray:
    """Linear in row position inside each symbol, interior gaps only (as pandas
    ``interpolate(limit_area="inside")``; ``limit`` counts from the start of a gap)."""
    idx = pd.Series(np.where(np.isnan(values), np.nan, np.arange(len(values), dtype=np.float64)))
    g = idx.groupby(codes, sort=False)
    prev = g.ffill().to_numpy()
    nxt = g.bfill().to_numpy()
    gap = np.isnan(values) & ~np.isnan(prev) & ~np.isnan(nxt)
    if limit is not None:
        gap &= np.arange(len(values)) - np.where(gap, prev, 0) <= limit
    out = values.copy()
    p, q = prev[gap].astype(np.int64), nxt[gap].astype(np.int64)
    here = np.flatnonzero(gap)
    out[gap] = values[p] + (values[q] - values[p]) * (here - p) / (q - p)
    return out


def _bounds(values: np.ndarray, codes: np.ndarray, step: Outliers) -> tuple[np.ndarray, np.ndarray]:
    w = step.window
    if step.detect == "std":
        mean, std = _stat(values, codes, "mean", w), _stat(values, codes, "std", w)
        return mean - step.n_sigma * std, mean + step.n_sigma * std
    if step.detect == "quantile":
        return _stat(values, codes, "quantile", w, step.lower), _stat(
            values, codes, "quantile", w, step.upper
        )
    if step.detect == "iqr":
        q1, q3 = (
            _stat(values, codes, "quantile", w, 0.25),
            _stat(values, codes, "quantile", w, 0.75),
        )
        return q1 - step.k * (q3 - q1), q3 + step.k * (q3 - q1)
    med = _stat(values, codes, "median", "full")
    mad = _stat(np.abs(values - med), codes, "median", "full")
    return med - step.n * MAD_SCALE * mad, med + step.n * MAD_SCALE * mad


def _outliers(state: _State, step: Outliers, stats: dict[str, Any]) -> None:
    cols = state.numeric_columns(step)
    frame = state.frame
    codes = state.groups(step.scope)
    counts: dict[str, int] = {}
    drop = np.zeros(len(frame), dtype=bool)
    total = 0
    for c in cols:
        before = _values(frame, c)
        lo, hi = _bounds(before, codes, step)
        with np.errstate(invalid="ignore"):
            out = (before < lo) | (before > hi)
        counts[c] = int(out.sum())
        if step.action == "remove_rows":
            drop |= out
            continue
        if step.action == "clip":
            after = np.where(before < lo, lo, np.where(before > hi, hi, before))
        elif step.action == "set_nan":
            after = np.where(out, np.nan, before)
        else:
            stat = "mean" if step.action == "replace_mean" else "median"
            after = np.where(out, _stat(before, codes, stat, step.window), before)
        total += _changed(before, after)
        frame[c] = after
    stats["outliers"] = counts
    stats["cells_changed"] = total
    if step.action == "remove_rows":
        stats["rows_removed"] = state.keep(~drop)


def _transform(state: _State, step: Transform, stats: dict[str, Any]) -> None:
    cols = state.numeric_columns(step)
    frame = state.frame
    codes = state.groups(step.scope) if step.scope != "per_row" else np.zeros(0, np.int64)
    total = 0
    for c in cols:
        before = _values(frame, c)
        after: np.ndarray
        if step.method == "minmax":
            lo, hi = (
                _stat(before, codes, "min", step.window),
                _stat(before, codes, "max", step.window),
            )
            a, b = step.feature_range
            span = hi - lo
            with np.errstate(invalid="ignore", divide="ignore"):
                unit = np.where(span > 0, (before - lo) / np.where(span > 0, span, 1.0), 0.0)
            after = np.where(np.isnan(before), np.nan, a + unit * (b - a))
        elif step.method == "zscore":
            mean, std = (
                _stat(before, codes, "mean", step.window),
                _stat(before, codes, "std", step.window),
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                after = np.where(std > 0, (before - mean) / np.where(std > 0, std, 1.0), np.nan)
        elif step.method == "rank":
            after = _stat(before, codes, "rank", step.window)
        elif step.method == "log1p":
            with np.errstate(invalid="ignore", divide="ignore"):
                after = np.log1p(np.where(before < -1, np.nan, before))
        elif step.method == "round":
            after = np.round(before, step.decimals)
        else:
            after = _cast(before, step.dtype, c)
        total += _changed(before, after)
        if step.method == "cast" and step.dtype == "int":
            frame[c] = pd.array(after, dtype="Int64")
        else:
            frame[c] = after
    stats["cells_changed"] = total


def _cast(values: np.ndarray, dtype: str, column: str) -> np.ndarray:
    if dtype == "float":
        return values
    finite = values[np.isfinite(values)]
    if np.isinf(values).any() or (len(finite) and np.abs(finite).max() >= 2.0**63):
        raise PreprocessError(f"transform cast: column {column!r} has values too large for int64")
    return np.trunc(values)


def _leaf(frame: pd.DataFrame, node: Condition) -> np.ndarray:
    col = str(node.column)
    if col not in frame:
        raise PreprocessError(
            f"filter: unknown column {col!r}; the frame has {list(frame.columns)}"
        )
    series = frame[col]
    null = series.isna().to_numpy()
    if node.cmp == "is_null":
        return null
    if node.cmp == "not_null":
        return ~null
    is_date = pd.api.types.is_datetime64_any_dtype(series)
    if node.cmp in ("contains", "starts_with"):
        text = series.dt.strftime("%Y-%m-%d") if is_date else series.astype("string")
        fn = text.str.contains if node.cmp == "contains" else text.str.startswith
        kwargs = {"regex": False} if node.cmp == "contains" else {}
        return fn(node.value, **kwargs).fillna(False).to_numpy(dtype=bool) & ~null

    def coerce(v: Any) -> Any:
        if is_date:
            try:
                return pd.Timestamp(v)
            except (TypeError, ValueError) as exc:
                raise PreprocessError(f"filter: {v!r} is not a date for column {col!r}") from exc
        if pd.api.types.is_numeric_dtype(series):
            if isinstance(v, str):
                raise PreprocessError(f"filter: column {col!r} is numeric; {v!r} is text")
            return float(v)
        return str(v)

    if node.cmp in ("in", "not_in"):
        hit = series.isin([coerce(v) for v in node.value]).to_numpy()
        return (hit if node.cmp == "in" else ~hit) & ~null
    if node.cmp == "between":
        lo, hi = (coerce(v) for v in node.value)
        result = (series >= lo) & (series <= hi)
    else:
        v = coerce(node.value)
        ops = {
            "eq": "__eq__",
            "ne": "__ne__",
            "gt": "__gt__",
            "ge": "__ge__",
            "lt": "__lt__",
            "le": "__le__",
        }
        result = getattr(series, ops[str(node.cmp)])(v)
    return result.fillna(False).to_numpy(dtype=bool) & ~null


def _evaluate(frame: pd.DataFrame, node: Condition) -> np.ndarray:
    if node.kind == "leaf":
        return _leaf(frame, node)
    parts = [_evaluate(frame, c) for c in node.children]
    if node.kind == "not":
        return ~parts[0]
    combine = np.logical_and if node.kind == "and" else np.logical_or
    return combine.reduce(parts)  # type: ignore[no-any-return]


def _filter(state: _State, step: Filter, stats: dict[str, Any]) -> None:
    frame = state.frame
    mask = np.ones(len(frame), dtype=bool)
    if step.where is not None:
        mask &= _evaluate(frame, step.where)
    dates = frame[DATE]
    if step.start is not None:
        mask &= (dates >= pd.Timestamp(step.start)).to_numpy()
    if step.end is not None:
        end = pd.Timestamp(step.end)
        # a bare date includes that whole day (intraday rows too)
        if end == end.normalize() and len(str(step.end)) <= 10:
            end = end + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
        mask &= (dates <= end).to_numpy()
    symbols = frame[SYMBOL].astype("string")
    if step.symbols is not None:
        mask &= symbols.isin(step.symbols).to_numpy(dtype=bool)
    if step.exclude_symbols is not None:
        mask &= ~symbols.isin(step.exclude_symbols).to_numpy(dtype=bool)
    stats["rows_removed"] = state.keep(mask)


_RUNNERS = {FillMissing: _fill, Outliers: _outliers, Transform: _transform, Filter: _filter}


def _run(frame: pd.DataFrame, specs: Sequence[Any]) -> tuple[_State, list[dict[str, Any]]]:
    steps = parse_pipeline(specs)
    state = _State(frame)
    all_stats: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        rows_before = len(state.frame)
        stats: dict[str, Any] = {
            "index": i,
            "op": step.op,
            "method": getattr(step, "method", None) or getattr(step, "detect", None),
            "scope": step.scope,
            "uses_future_information": step.uses_future_information,
            "cells_changed": 0,
            "rows_removed": 0,
            "outliers": {},
        }
        _RUNNERS[type(step)](state, step, stats)  # type: ignore[operator]
        stats["rows_before"], stats["rows_after"] = rows_before, len(state.frame)
        all_stats.append(stats)
    return state, all_stats


def apply_pipeline(
    frame: pd.DataFrame, specs: Sequence[Any]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Run the steps on a long frame; return the new frame and per-step statistics.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long frame (``date``, ``symbol``, numeric field columns), any row order.
    specs : sequence of dict
        JSON steps (schema in ``quantlab.engine.data.preprocess_spec``).

    Returns
    -------
    (pandas.DataFrame, list of dict)
        The result, sorted by symbol then date with a fresh index, and one JSON-safe dict
        per step: ``index, op, method, scope, uses_future_information, cells_changed``
        (cells whose value changed, NaN to NaN not counted, on the rows kept),
        ``rows_removed, rows_before, rows_after`` and ``outliers`` (column -> count).

    Raises
    ------
    PreprocessError
        A step is malformed or names a column the frame lacks.
    """
    state, stats = _run(frame, specs)
    return state.frame, stats


def _json(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(frame.columns)
    return [
        {c: _json(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]


def _sample_positions(changed: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` input rows, changed ones first, spread evenly over the frame."""
    hit, rest = np.flatnonzero(changed), np.flatnonzero(~changed)

    def spread(idx: np.ndarray, k: int) -> np.ndarray:
        if k <= 0 or not len(idx):
            return idx[:0]
        if len(idx) <= k:
            return idx
        return idx[np.linspace(0, len(idx) - 1, k).round().astype(np.int64)]

    picked = spread(hit, n)
    return np.sort(np.concatenate([picked, spread(rest, n - len(picked))]))


def _histogram(before: np.ndarray, after: np.ndarray, bins: int) -> dict[str, Any]:
    b, a = before[np.isfinite(before)], after[np.isfinite(after)]
    both = np.concatenate([b, a])
    if not len(both):
        return {"edges": [], "before": [], "after": []}
    lo, hi = float(both.min()), float(both.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "edges": [float(e) for e in edges],
        "before": np.histogram(b, edges)[0].tolist(),
        "after": np.histogram(a, edges)[0].tolist(),
    }


def preview_pipeline(
    frame: pd.DataFrame, specs: Sequence[Any], sample_rows: int = 20, bins: int = 30
) -> dict[str, Any]:
    """Run the pipeline and describe its effect, JSON-safe (NaN and inf become ``None``).

    Returns a dict with ``rows_before``, ``rows_after``, ``steps`` (as from
    ``apply_pipeline``), ``uses_future_information`` (any step), ``sample`` with
    ``columns``, ``before`` and ``after`` (lists of records for the same input rows,
    changed or removed rows first; ``after[i]`` is ``None`` when the row was removed),
    and ``distributions``: per numeric column present before and after, ``edges``
    (``bins + 1`` shared edges), ``before`` / ``after`` counts, ``missing_before`` /
    ``missing_after``, ``changed`` cells and ``outliers`` (summed over the steps).
    """
    if sample_rows < 0 or bins < 1:
        raise PreprocessError("sample_rows must be >= 0 and bins >= 1")
    state, stats = _run(frame, specs)
    after = state.frame
    n = len(frame)
    source = frame.reset_index(drop=True)
    kept = np.zeros(n, dtype=bool)
    kept[state.row_id] = True
    changed = ~kept
    common = [c for c in after.columns if c in source.columns and c not in (DATE, SYMBOL)]
    numeric = [c for c in common if pd.api.types.is_numeric_dtype(after[c])]
    numeric = [c for c in numeric if pd.api.types.is_numeric_dtype(source[c])]
    distributions: dict[str, Any] = {}
    for c in numeric:
        old = _values(source, c)
        new = _values(after, c)
        old_kept = old[state.row_id]
        diff = ~((old_kept == new) | (np.isnan(old_kept) & np.isnan(new)))
        changed[state.row_id[diff]] = True
        hist = _histogram(old, new, bins)
        hist.update(
            missing_before=int(np.isnan(old).sum()),
            missing_after=int(np.isnan(new).sum()),
            changed=int(diff.sum()),
            outliers=int(sum(s["outliers"].get(c, 0) for s in stats)),
        )
        distributions[c] = hist
    pos = _sample_positions(changed, sample_rows)
    where = np.full(n, -1, dtype=np.int64)
    where[state.row_id] = np.arange(len(state.row_id))
    cols = [DATE, SYMBOL, *common]
    before_rows = _records(source.iloc[pos][cols])
    after_idx = where[pos]
    after_rows_all = _records(after.iloc[after_idx[after_idx >= 0]][cols])
    it = iter(after_rows_all)
    after_rows = [next(it) if i >= 0 else None for i in after_idx]
    return {
        "rows_before": n,
        "rows_after": len(after),
        "uses_future_information": any(s["uses_future_information"] for s in stats),
        "steps": stats,
        "sample": {"columns": cols, "before": before_rows, "after": after_rows},
        "distributions": distributions,
    }
