"""Feature matrix and label of a model run: rows are (day, instrument) cross-section members.

Rows are ordered day-major, instruments sorted within a day, the order of Qlib's
``(datetime, instrument)`` index, so each day's cross-section is a contiguous block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quantlab.engine.data.panel import Panel
from quantlab.engine.expr import OPERATORS, evaluate, get_feature_set, lookahead, parse, validate
from quantlab.engine.expr.ast import Call, Field, Node, walk
from quantlab.engine.expr.features import LABEL

#: Qlib's default label: the return from tomorrow's close to the day after's.
DEFAULT_LABEL = LABEL[0][1]
Feature = tuple[str, str]


def resolve_features(features: str | Sequence[str] | Sequence[Feature]) -> list[Feature]:
    """``(name, expression)`` pairs from a set name (``"Alpha158"``), expressions or pairs.

    Raises
    ------
    KeyError
        For an unknown feature-set name.
    ValueError
        For an empty list or duplicate names.
    """
    if isinstance(features, str):
        return get_feature_set(features)
    out: list[Feature] = []
    for i, f in enumerate(features):
        out.append((f"F{i}", f) if isinstance(f, str) else (str(f[0]), str(f[1])))
    if not out:
        raise ValueError("at least one feature is needed")
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError("feature names must be unique")
    return out


#: Fields a named feature set may use that data often lacks; they read as all-NaN then.
OPTIONAL_FIELDS = frozenset({"vwap"})


def fill_missing_fields(panel: Panel, features: object) -> Panel:
    """For a named feature set, give the optional fields the panel lacks (``$vwap``) as
    all-NaN, which is what Qlib reads for a field without files. Other missing fields stay
    an error, as do missing fields in expressions written by the user."""
    if not isinstance(features, str):
        return panel
    wanted = {
        n.name for _, e in get_feature_set(features) for n in walk(parse(e)) if isinstance(n, Field)
    }
    missing = sorted((wanted & OPTIONAL_FIELDS) - set(panel.fields))
    if not missing:
        return panel
    nan = np.full(panel.shape, np.nan, order="F")
    fields = {**panel.fields, **dict.fromkeys(missing, nan)}
    return Panel(panel.calendar, panel.instruments, fields, panel.first, panel.last, panel.meta)


def check_label(label: str, fields: Sequence[str] | None = None) -> int:
    """Validate a label expression; returns its look-ahead in trading days (at least 1).

    Raises
    ------
    ExprError
        For a syntax error or unknown field.
    ValueError
        When the label reads no future value (a label must be what is predicted).
    """
    node = validate(label, fields, allow_future=True)
    ahead = lookahead(node)
    if ahead < 1:
        raise ValueError(f"label {label!r} does not read the future: it is not a target")
    return ahead


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature rows of the cross-section members over a date range.

    Attributes
    ----------
    names, exprs : tuple of str
        Feature names and their expressions, one per column of ``x``.
    calendar, instruments : numpy.ndarray
        The panel's axes; ``day`` and ``inst`` index into them.
    day, inst : numpy.ndarray
        ``int64 (R,)`` row coordinates, day-major and sorted.
    x : numpy.ndarray
        ``float32 (R, F)`` feature values (NaN where an expression has none).
    y : numpy.ndarray
        ``float32 (R,)`` raw label (NaN at the end of the data or on missing prices).
    """

    names: tuple[str, ...]
    exprs: tuple[str, ...]
    calendar: np.ndarray
    instruments: np.ndarray
    day: np.ndarray
    inst: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.day)

    def rows(self, start: object, end: object) -> slice:
        """Row slice of the inclusive date range ``[start, end]``."""
        lo = int(np.searchsorted(self.calendar, np.datetime64(str(start)[:10], "D")))
        hi = int(np.searchsorted(self.calendar, np.datetime64(str(end)[:10], "D"), "right"))
        return slice(int(np.searchsorted(self.day, lo)), int(np.searchsorted(self.day, hi)))

    def to_panel(self, values: np.ndarray) -> np.ndarray:
        """Scatter ``(R,)`` row values into a float64 ``(T, N)`` panel array (NaN elsewhere)."""
        out = np.full((len(self.calendar), len(self.instruments)), np.nan)
        out[self.day, self.inst] = values
        return out


def _gather(a: np.ndarray, day: np.ndarray, inst: np.ndarray, flat: np.ndarray,
            out: np.ndarray) -> None:  # fmt: skip
    """``out[:] = a[day, inst]`` for a ``(T, N)`` array; by the flat Fortran-order index
    ``flat`` when ``a`` is a float32 Fortran array (what the expression engine returns)."""
    if a.dtype == out.dtype and a.flags.f_contiguous:
        np.take(a.ravel(order="F"), flat, out=out)
    else:
        out[:] = a[day, inst]


def _reads(expr: str) -> set[Node]:
    """The passes over the panel an expression needs: the fields it reads and its
    non-element-wise operators (rolling, cross-sectional)."""
    return {
        n
        for n in walk(parse(expr))
        if isinstance(n, Field) or (isinstance(n, Call) and OPERATORS[n.op].kind != "elementwise")
    }


def plan_passes(exprs: Sequence[str], size: int) -> list[tuple[int, int]]:
    """Split ``exprs`` into consecutive ranges of at most ``size``, evaluated one range
    per call, with the fewest passes over the panel in all.

    One evaluation computes a sub-expression shared by its expressions once, but not
    across calls, so where the cuts fall decides the work: Alpha158 in plain blocks of 32
    runs 145 windowed operators and reads 16 fields; cut here, 129 and 16 (Qlib's order
    keeps features that share windows, e.g. QTLU/QTLD/RANK or SUMP/SUMN/SUMD, side by
    side). Dynamic programming over the cut points; ties keep the earliest cuts.

    Returns
    -------
    list of (start, stop)
        Ranges covering ``exprs`` in order.
    """
    reads = [_reads(e) for e in exprs]
    best = [0.0] + [math.inf] * len(exprs)
    cut = [0] * (len(exprs) + 1)
    for stop in range(1, len(exprs) + 1):
        union: set[Node] = set()
        for start in range(stop - 1, max(stop - size, 0) - 1, -1):
            union |= reads[start]
            cost = best[start] + len(union)
            if cost < best[stop]:
                best[stop], cut[stop] = cost, start
    out: list[tuple[int, int]] = []
    stop = len(exprs)
    while stop:
        out.append((cut[stop], stop))
        stop = cut[stop]
    return out[::-1]


def build_dataset(
    panel: Panel,
    features: str | Sequence[str] | Sequence[Feature],
    mask: np.ndarray,
    start: object,
    end: object,
    label: str = DEFAULT_LABEL,
    chunk: int = 32,
) -> Dataset:
    """Evaluate features and label on ``panel`` and keep the member rows in ``[start, end]``.

    Parameters
    ----------
    panel : Panel
        Data from early enough for the features' look-back and late enough for the label's
        look-ahead (rows whose label needs days beyond the panel get a NaN label).
    features : str or sequence
        A feature-set name, expressions, or ``(name, expression)`` pairs. Features may not
        read the future (the expression engine refuses it).
    mask : numpy.ndarray
        ``bool (T, N)`` cross-section membership (see :func:`membership_mask`).
    start, end : date-like
        Inclusive row range.
    label : str
        Label expression; it must read the future (``Ref(x, -n)``), the single opt-in the
        expression engine has for labels.
    chunk : int
        At most this many features evaluated per call (bounds the memory of intermediate
        panels); :func:`plan_passes` places the cuts.

    Returns
    -------
    Dataset
    """
    feats = resolve_features(features)
    panel = fill_missing_fields(panel, features)
    check_label(label, list(panel.fields))
    lo = int(np.searchsorted(panel.calendar, np.datetime64(str(start)[:10], "D")))
    hi = int(np.searchsorted(panel.calendar, np.datetime64(str(end)[:10], "D"), "right"))
    window = np.zeros(panel.shape, dtype=bool)
    window[lo:hi] = mask[lo:hi]
    day, inst = np.nonzero(window)
    # each feature is gathered by flat index into a column of a Fortran block, so its rows
    # land in contiguous memory (a 2-D fancy index writing a strided column cost several
    # times the features' own evaluation); the block is then copied into the row-major
    # matrix, the layout the processors and the models were measured with
    x = np.empty((len(day), len(feats)), dtype=np.float32)
    flat = inst * panel.shape[0] + day
    exprs = [e for _, e in feats]
    passes = plan_passes(exprs, chunk)
    block = np.empty((len(day), max(b - a for a, b in passes)), dtype=np.float32, order="F")
    for a, b in passes:
        values = evaluate(exprs[a:b], panel, cache=None)
        for j, e in enumerate(exprs[a:b]):
            _gather(values[e], day, inst, flat, block[:, j])
        del values
        x[:, a:b] = block[:, : b - a]
    y = evaluate(label, panel, allow_future=True, cache=None)[label][day, inst]
    return Dataset(
        names=tuple(n for n, _ in feats),
        exprs=tuple(exprs),
        calendar=panel.calendar,
        instruments=panel.instruments,
        day=day.astype(np.int64),
        inst=inst.astype(np.int64),
        x=x,
        y=np.asarray(y, dtype=np.float32),
    )
