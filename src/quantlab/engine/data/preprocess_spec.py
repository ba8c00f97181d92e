"""Preprocessing specs: the JSON schema of a pipeline step, validated into dataclasses.

A pipeline is a list of steps, each a plain dict with an ``op`` key. Keys shared by the
statistical steps:

``columns``
    Field columns to work on (default: every numeric column but ``date``/``symbol``).
``scope``
    Which rows a statistic is computed over: ``"per_symbol_time"`` (each symbol's own
    history), ``"per_day_cross_section"`` (all symbols on one day) or ``"whole_sample"``
    (every row). Cell-by-cell steps (constant fill, log1p, round, cast, filters, dropping
    rows) have the scope ``"per_row"``: they never look at another row.
``window``
    Only with ``per_symbol_time``: ``"full"`` (the symbol's whole history, default),
    ``"expanding"`` (all rows up to and including this one) or an integer ``n >= 2``
    (the last ``n`` rows up to and including this one). ``expanding`` and rolling windows
    use past data only.

Steps (``op``):

``fill_missing``
    ``method``: ``drop_rows`` | ``mean`` | ``median`` | ``ffill`` | ``bfill`` |
    ``constant`` (with ``value``) | ``interpolate`` (linear in row position, interior gaps
    only); ``limit`` (optional int) caps consecutive cells filled by ffill/bfill/
    interpolate. ffill/bfill/interpolate are always per symbol over time.
``outliers``
    ``detect``: ``std`` (``n_sigma`` 1-5, default 3; mean +- n sample std, ddof=1) |
    ``quantile`` (``lower``, ``upper`` in [0, 1]; default 0.01, 0.99) | ``iqr`` (``k``,
    default 1.5; [Q1 - k IQR, Q3 + k IQR]) | ``mad`` (``n``, default 3; median +- n x
    1.4826 x MAD, window ``full`` only). ``action``: ``clip`` (to the bounds) |
    ``set_nan`` (outlier cells become NaN, rows kept) | ``remove_rows`` (rows with an
    outlier in any selected column are dropped) | ``replace_mean`` | ``replace_median``
    (the statistic of the same group and window, outliers included).
``transform``
    ``method``: ``minmax`` (``feature_range`` [a, b], default [0, 1]; a constant group
    maps to a) | ``zscore`` (ddof=1; zero spread gives NaN) | ``rank`` (percentile in
    (0, 1], ties averaged) | ``log1p`` (below -1 gives NaN) | ``round`` (``decimals``,
    half to even like NumPy) | ``cast`` (``dtype`` ``float`` or ``int``; int truncates
    toward zero and keeps missing cells missing).
``filter``
    Keeps the rows matching all of: ``where`` (a condition tree), ``start``/``end``
    (inclusive ISO dates), ``symbols`` (keep only these) and ``exclude_symbols``.
    A tree node is ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": node}`` or a leaf
    ``{"column": c, "op": o, "value": v}`` with ``o`` one of eq, ne, gt, ge, lt, le,
    between (``value`` [lo, hi], inclusive), in, not_in (``value`` a list), contains,
    starts_with (text match on the cell as a string; dates as ``YYYY-MM-DD``), is_null,
    not_null (no ``value``). A missing cell matches only ``is_null`` (SQL semantics).

Bad specs raise ``PreprocessError`` naming the step, the key and the allowed values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SCOPES",
    "Condition",
    "FillMissing",
    "Filter",
    "Outliers",
    "PreprocessError",
    "Step",
    "Transform",
    "parse_pipeline",
    "parse_step",
]

SCOPES = ("per_symbol_time", "per_day_cross_section", "whole_sample")
PER_ROW = "per_row"
FILL_METHODS = ("drop_rows", "mean", "median", "ffill", "bfill", "constant", "interpolate")
DETECTORS = ("std", "quantile", "iqr", "mad")
ACTIONS = ("clip", "set_nan", "remove_rows", "replace_mean", "replace_median")
TRANSFORMS = ("minmax", "zscore", "rank", "log1p", "round", "cast")
COMPARATORS = (
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "between",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "is_null",
    "not_null",
)
MAX_DEPTH = 16
MAX_PIPELINE = 100


class PreprocessError(ValueError):
    """A pipeline step that cannot be run; the message says which key to change and how."""


@dataclass(frozen=True, slots=True)
class _Base:
    columns: tuple[str, ...] | None
    scope: str
    window: str | int

    @property
    def uses_future_information(self) -> bool:
        """True when a row's result depends on rows dated after it."""
        if self.scope == "whole_sample":
            return True
        return self.scope == "per_symbol_time" and self.window == "full"


@dataclass(frozen=True, slots=True)
class FillMissing(_Base):
    """``fill_missing``: fill (or drop) missing cells."""

    method: str
    value: float | None = None
    limit: int | None = None
    op: str = "fill_missing"

    @property
    def uses_future_information(self) -> bool:
        """bfill and interpolation look ahead; mean/median depend on scope and window."""
        if self.method in ("bfill", "interpolate"):
            return True
        if self.method in ("mean", "median"):
            return _Base.uses_future_information.fget(self)  # type: ignore[attr-defined,no-any-return]
        return False


@dataclass(frozen=True, slots=True)
class Outliers(_Base):
    """``outliers``: detect by a rule over the scope, then act on the outlier cells."""

    detect: str
    action: str
    n_sigma: float = 3.0
    lower: float = 0.01
    upper: float = 0.99
    k: float = 1.5
    n: float = 3.0
    op: str = "outliers"


@dataclass(frozen=True, slots=True)
class Transform(_Base):
    """``transform``: rescale or convert values."""

    method: str
    feature_range: tuple[float, float] = (0.0, 1.0)
    decimals: int = 0
    dtype: str = "float"
    op: str = "transform"

    @property
    def uses_future_information(self) -> bool:
        """Only the scaling methods use statistics; the cell-wise ones never look ahead."""
        if self.method in ("minmax", "zscore", "rank"):
            return _Base.uses_future_information.fget(self)  # type: ignore[attr-defined,no-any-return]
        return False


@dataclass(frozen=True, slots=True)
class Condition:
    """A filter tree node: ``kind`` is ``and``/``or``/``not`` (with ``children``) or ``leaf``."""

    kind: str
    children: tuple[Condition, ...] = ()
    column: str | None = None
    cmp: str | None = None
    value: Any = None


@dataclass(frozen=True, slots=True)
class Filter:
    """``filter``: keep rows matching the condition tree, date range and symbol lists."""

    where: Condition | None = None
    start: str | None = None
    end: str | None = None
    symbols: tuple[str, ...] | None = None
    exclude_symbols: tuple[str, ...] | None = None
    op: str = "filter"
    scope: str = PER_ROW
    columns: tuple[str, ...] | None = None
    uses_future_information: bool = False


Step = FillMissing | Outliers | Transform | Filter

_COMMON = {"op", "columns", "scope", "window"}
_KEYS: dict[str, set[str]] = {
    "fill_missing": _COMMON | {"method", "value", "limit"},
    "outliers": _COMMON | {"detect", "action", "n_sigma", "lower", "upper", "k", "n"},
    "transform": _COMMON | {"method", "feature_range", "decimals", "dtype"},
    "filter": {"op", "where", "start", "end", "symbols", "exclude_symbols"},
}


class _Reader:
    """Typed access to one step dict; every error names the step and the key."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where

    def fail(self, key: str, message: str) -> PreprocessError:
        return PreprocessError(f"{self.where}: {key!r} {message}")

    def choice(self, key: str, allowed: Sequence[str], default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if value is None:
            raise self.fail(key, f"is required; choose one of {', '.join(allowed)}")
        if value not in allowed:
            raise self.fail(key, f"is {value!r}; choose one of {', '.join(allowed)}")
        return str(value)

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"is {value}; it must lie between {lo:g} and {hi:g}")
        return float(value)

    def integer(self, key: str, default: int | None, lo: int, hi: int) -> int | None:
        value = self.raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"is {value}; it must lie between {lo} and {hi}")
        return int(value)

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise self.fail(key, f"must be a non-empty list of names, not {value!r}")
        bad = [v for v in value if not isinstance(v, str) or not v]
        if bad:
            raise self.fail(key, f"must hold only non-empty strings; bad entries: {bad[:5]!r}")
        return tuple(value)

    def window(self, scope: str) -> str | int:
        value = self.raw.get("window", "full")
        if value in ("full", "expanding"):
            window: str | int = str(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 2:
            window = int(value)
        else:
            raise self.fail(
                "window", f"is {value!r}; use 'full', 'expanding' or a whole number >= 2"
            )
        if window != "full" and scope != "per_symbol_time":
            raise self.fail("window", f"only applies with scope 'per_symbol_time', not {scope!r}")
        return window


def _scoped(r: _Reader, allowed: Sequence[str], default: str | None = None) -> dict[str, Any]:
    scope = r.choice("scope", allowed, default)
    return {"columns": r.strings("columns"), "scope": scope, "window": r.window(scope)}


def _row_only(r: _Reader, what: str) -> dict[str, Any]:
    scope = r.raw.get("scope", PER_ROW)
    if scope != PER_ROW:
        raise r.fail(
            "scope", f"is {scope!r}, but {what} works cell by cell: omit it or use 'per_row'"
        )
    if r.raw.get("window", "full") != "full":
        raise r.fail("window", f"does not apply: {what} works cell by cell")
    return {"columns": r.strings("columns"), "scope": PER_ROW, "window": "full"}


def _fill(r: _Reader) -> FillMissing:
    method = r.choice("method", FILL_METHODS)
    if method in ("drop_rows", "constant"):
        base = _row_only(r, f"fill_missing {method}")
    elif method in ("ffill", "bfill", "interpolate"):
        base = _scoped(r, ("per_symbol_time",), "per_symbol_time")
        if base["window"] != "full":
            raise r.fail("window", f"does not apply to {method}")
    else:
        base = _scoped(r, SCOPES)
    value = None
    if method == "constant":
        if "value" not in r.raw:
            raise r.fail("value", "is required with method 'constant'")
        value = r.number("value", 0.0, float("-inf"), float("inf"))
    elif "value" in r.raw:
        raise r.fail("value", f"only applies to method 'constant', not {method!r}")
    limit = r.integer("limit", None, 1, 1_000_000)
    if limit is not None and method not in ("ffill", "bfill", "interpolate"):
        raise r.fail("limit", f"only applies to ffill, bfill and interpolate, not {method!r}")
    return FillMissing(**base, method=method, value=value, limit=limit)


def _outliers(r: _Reader) -> Outliers:
    detect = r.choice("detect", DETECTORS)
    action = r.choice("action", ACTIONS)
    base = _scoped(r, SCOPES)
    if detect == "mad" and base["window"] != "full":
        raise r.fail("window", "must be 'full' with detect 'mad' (no rolling MAD)")
    lower = r.number("lower", 0.01, 0.0, 1.0)
    upper = r.number("upper", 0.99, 0.0, 1.0)
    if lower >= upper:
        raise r.fail("lower", f"({lower}) must be below 'upper' ({upper})")
    return Outliers(
        **base,
        detect=detect,
        action=action,
        n_sigma=r.number("n_sigma", 3.0, 1.0, 5.0),
        lower=lower,
        upper=upper,
        k=r.number("k", 1.5, 0.0, 100.0),
        n=r.number("n", 3.0, 0.5, 100.0),
    )


def _transform(r: _Reader) -> Transform:
    method = r.choice("method", TRANSFORMS)
    base = _row_only(r, method) if method in ("log1p", "round", "cast") else _scoped(r, SCOPES)
    rng = r.raw.get("feature_range", [0.0, 1.0])
    ok = (
        isinstance(rng, Sequence)
        and not isinstance(rng, str)
        and len(rng) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng)
    )
    if not ok or not rng[0] < rng[1]:
        raise r.fail("feature_range", f"must be [low, high] with low < high, not {rng!r}")
    return Transform(
        **base,
        method=method,
        feature_range=(float(rng[0]), float(rng[1])),
        decimals=r.integer("decimals", 0, -10, 15) or 0,
        dtype=r.choice("dtype", ("float", "int"), "float"),
    )


def _condition(node: Any, path: str, depth: int = 0) -> Condition:
    if depth > MAX_DEPTH:
        raise PreprocessError(f"{path}: conditions nest deeper than {MAX_DEPTH} levels")
    if not isinstance(node, Mapping):
        raise PreprocessError(f"{path}: a condition must be an object, not {node!r}")
    groups = [k for k in ("and", "or", "not") if k in node]
    if groups:
        if len(node) != 1:
            raise PreprocessError(
                f"{path}: a {groups[0]!r} node takes no other keys ({sorted(node)})"
            )
        kind = groups[0]
        if kind == "not":
            return Condition("not", (_condition(node["not"], f"{path}.not", depth + 1),))
        items = node[kind]
        if not isinstance(items, list) or not items:
            raise PreprocessError(f"{path}.{kind}: must be a non-empty list of conditions")
        return Condition(
            kind,
            tuple(_condition(c, f"{path}.{kind}[{i}]", depth + 1) for i, c in enumerate(items)),
        )
    unknown = set(node) - {"column", "op", "value"}
    if unknown:
        raise PreprocessError(
            f"{path}: unknown keys {sorted(unknown)}; a leaf has column, op and value "
            "(or use and / or / not)"
        )
    column = node.get("column")
    if not isinstance(column, str) or not column:
        raise PreprocessError(f"{path}: 'column' must name a column, not {column!r}")
    cmp = node.get("op")
    if cmp not in COMPARATORS:
        raise PreprocessError(f"{path}: 'op' is {cmp!r}; choose one of {', '.join(COMPARATORS)}")
    value = node.get("value")
    scalar = (str, int, float)
    if cmp in ("is_null", "not_null"):
        if "value" in node:
            raise PreprocessError(f"{path}: {cmp} takes no 'value'")
    elif cmp == "between":
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, scalar) for v in value)
        ):
            raise PreprocessError(f"{path}: between needs 'value' [low, high], not {value!r}")
    elif cmp in ("in", "not_in"):
        if not (isinstance(value, list) and value and all(isinstance(v, scalar) for v in value)):
            raise PreprocessError(f"{path}: {cmp} needs 'value' as a non-empty list, not {value!r}")
    elif cmp in ("contains", "starts_with"):
        if not isinstance(value, str):
            raise PreprocessError(f"{path}: {cmp} needs a text 'value', not {value!r}")
    elif not isinstance(value, scalar) or isinstance(value, bool):
        raise PreprocessError(f"{path}: {cmp} needs a number or text 'value', not {value!r}")
    return Condition("leaf", column=column, cmp=cmp, value=value)


def _date_text(r: _Reader, key: str) -> str | None:
    value = r.raw.get(key)
    if value is None:
        return None
    import pandas as pd

    if not isinstance(value, str):  # pandas would read 0 as 1970-01-01
        raise r.fail(key, f"must be an ISO date like '2020-01-31', not {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise r.fail(key, f"must be an ISO date like '2020-01-31', not {value!r}") from exc
    if stamp is pd.NaT:  # "" and "NaT" parse to "no date" instead of failing
        raise r.fail(key, f"must be an ISO date like '2020-01-31', not {value!r}")
    return str(value)


def _filter(r: _Reader) -> Filter:
    where = r.raw.get("where")
    step = Filter(
        where=None if where is None else _condition(where, f"{r.where}.where"),
        start=_date_text(r, "start"),
        end=_date_text(r, "end"),
        symbols=r.strings("symbols"),
        exclude_symbols=r.strings("exclude_symbols"),
    )
    if all(
        v is None for v in (step.where, step.start, step.end, step.symbols, step.exclude_symbols)
    ):
        raise PreprocessError(
            f"{r.where}: a filter needs at least one of where, start, end, symbols, exclude_symbols"
        )
    return step


_PARSERS: dict[str, Callable[[_Reader], Step]] = {
    "fill_missing": _fill,
    "outliers": _outliers,
    "transform": _transform,
    "filter": _filter,
}


def parse_step(raw: Any, index: int = 0) -> Step:
    """Validate one JSON step into its dataclass (``index`` only labels error messages)."""
    label = f"step {index + 1}"
    if not isinstance(raw, Mapping):
        raise PreprocessError(f"{label}: must be an object with an 'op' key, not {raw!r}")
    op = raw.get("op")
    if not isinstance(op, str) or op not in _PARSERS:
        raise PreprocessError(f"{label}: 'op' is {op!r}; choose one of {', '.join(_PARSERS)}")
    unknown = set(raw) - _KEYS[op]
    if unknown:
        raise PreprocessError(
            f"{label} ({op}): unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS[op])}"
        )
    return _PARSERS[op](_Reader(raw, f"{label} ({op})"))


def parse_pipeline(specs: Sequence[Any]) -> list[Step]:
    """Validate a list of JSON steps (at most 100)."""
    if isinstance(specs, str | bytes) or not isinstance(specs, Sequence):
        raise PreprocessError(f"a pipeline must be a list of steps, not {type(specs).__name__}")
    if len(specs) > MAX_PIPELINE:
        raise PreprocessError(f"a pipeline has at most {MAX_PIPELINE} steps, not {len(specs)}")
    return [
        s if isinstance(s, FillMissing | Outliers | Transform | Filter) else parse_step(s, i)
        for i, s in enumerate(specs)
    ]
