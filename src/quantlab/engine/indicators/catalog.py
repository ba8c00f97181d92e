"""The indicator catalog: look-up, availability and computation over panels.

Missing data. For every technical indicator (native and TA-Lib) a bar counts only where
all of the indicator's input fields are finite and, for a `Panel`, the instrument exists
(``Panel.exists``). Each instrument's counted bars are packed together in order, the
indicator runs on that gap-free series, and the results go back to their days; skipped
bars get NaN. So a suspension is simply absent, as in 通达信/同花顺 where a suspended
stock has no bar: windows count traded bars, ``REF(CLOSE,1)`` is the last traded close,
a recursive average resumes where it stopped, and an instrument listed later starts its
own warm-up on its own first bar. Columns never mix. Warm-up bars (before a window has
filled, as stated per indicator) are NaN, and so is any infinite result. Financial
indicators are elementwise and need no packing: NaN in, NaN out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import numpy as np

from quantlab.engine.data.panel import Panel
from quantlab.engine.indicators import financial, native_oscillators, native_trend, talib_specs
from quantlab.engine.indicators import kernels_nb as nb
from quantlab.engine.indicators.spec import (
    CATEGORIES,
    SOURCES,
    IndicatorSpec,
    IndicatorUnavailableError,
    UnknownIndicatorError,
)

FieldData = Panel | Mapping[str, np.ndarray]


@cache
def _registry() -> dict[str, IndicatorSpec]:
    """Every spec by case-folded name, in catalog order: native, TA-Lib, financial."""
    registry: dict[str, IndicatorSpec] = {}
    natives = [*native_trend.SPECS, *native_oscillators.SPECS]
    for spec in [*natives, *talib_specs.build_specs(), *financial.SPECS]:
        key = spec.name.casefold()
        if key in registry:
            raise RuntimeError(f"duplicate indicator name {spec.name!r}")
        registry[key] = spec
    return registry


def list_indicators(
    search: str | None = None, category: str | None = None, source: str | None = None
) -> list[IndicatorSpec]:
    """Specs matching a case-insensitive ``search`` over names and text, and filters."""
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    needle = search.casefold().strip() if search else ""
    found = []
    for spec in _registry().values():
        if category is not None and spec.category != category:
            continue
        if source is not None and spec.source != source:
            continue
        text = " ".join((spec.name, spec.zh_name, spec.en_name, spec.description)).casefold()
        if needle and needle not in text:
            continue
        found.append(spec)
    return found


def get_indicator(name: str) -> IndicatorSpec:
    """The spec called ``name`` (case-insensitive); `UnknownIndicatorError` otherwise."""
    try:
        return _registry()[name.casefold()]
    except KeyError:
        raise UnknownIndicatorError(name) from None


def _field_names(fields: FieldData | Iterable[str]) -> set[str]:
    if isinstance(fields, Panel):
        return set(fields.fields)
    return set(fields)


def availability(spec: IndicatorSpec | str, fields: FieldData | Iterable[str]) -> tuple[bool, str]:
    """Whether data with these fields can feed the indicator, and if not, why not."""
    spec = get_indicator(spec) if isinstance(spec, str) else spec
    have = _field_names(fields)
    missing = [f for f in spec.inputs if f not in have]
    if not missing:
        return True, ""
    return False, (
        f"{spec.name} needs field(s) {', '.join(spec.inputs)}; the data lacks {', '.join(missing)}"
    )


def compute(
    name: str, data: FieldData, params: Mapping[str, object] | None = None
) -> dict[str, np.ndarray]:
    """Compute an indicator over ``(T, N)`` fields (or ``(T,)`` for one series).

    Parameters
    ----------
    name : str
        Catalog name, e.g. ``"MACD"``, ``"talib.BBANDS"``, ``"PE"``.
    data : Panel or mapping of str to numpy.ndarray
        The input fields, lower-case names, float ``(T, N)`` (or all ``(T,)``).
        A `Panel` also masks days outside each instrument's existence range.
    params : mapping, optional
        Overrides of the spec's defaults; each is checked against its range.

    Returns
    -------
    dict of str to numpy.ndarray
        One float64 array per output name, shaped like the inputs (Fortran order for
        2-D), NaN on warm-up bars, skipped bars and undefined values.

    Raises
    ------
    UnknownIndicatorError, IndicatorParameterError, IndicatorUnavailableError
    """
    spec = get_indicator(name)
    checked = spec.validate_params(params)
    ok, reason = availability(spec, data)
    if not ok:
        missing = tuple(f for f in spec.inputs if f not in _field_names(data))
        raise IndicatorUnavailableError(spec.name, missing, reason)
    source = data.fields if isinstance(data, Panel) else data
    arrays = {f: np.asarray(source[f], dtype=np.float64) for f in spec.inputs}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) not in (1, 2):
        raise ValueError(f"{spec.name}: inputs must share one (T,) or (T, N) shape: {shapes}")
    one_series = len(next(iter(shapes))) == 1
    if one_series:
        arrays = {f: a[:, None] for f, a in arrays.items()}

    valid = np.asfortranarray(np.logical_and.reduce([np.isfinite(a) for a in arrays.values()]))
    if isinstance(data, Panel):
        valid &= data.exists()
    if spec.func is None:
        raise RuntimeError(f"{spec.name} has no compute function")
    packed_path = spec.source != "financial" and not bool(valid.all())
    if spec.source == "financial":
        masked = {f: np.where(valid, a, np.nan) for f, a in arrays.items()}
        out = {k: np.asfortranarray(v) for k, v in spec.func(masked, checked).items()}
    elif not packed_path:  # nothing to skip: run on the arrays as they are
        whole = {f: np.asfortranarray(a) for f, a in arrays.items()}
        out = {k: np.asfortranarray(v) for k, v in spec.func(whole, checked).items()}
    else:
        order, counts = nb.pack_order_nb(valid)
        packed = {f: nb.gather_nb(a, order, counts) for f, a in arrays.items()}
        res = spec.func(packed, checked)
        out = {k: nb.scatter_nb(np.asarray(v, np.float64), order, counts) for k, v in res.items()}
    if not packed_path:
        for v in out.values():
            v[~np.isfinite(v)] = np.nan  # scatter_nb already did this on the packed path
    if one_series:
        return {k: v[:, 0] for k, v in out.items()}
    return out
