"""Crossover signals read where they are computed, for the variants of a batch.

A signals spec whose entry and exit are both ``Cross`` / ``CrossDown`` of two
sub-expressions compiles here to those sub-expressions' values (kept in the batch's shared
expression cache: the moving averages of a crossover grid) instead of two ``(T, N)``
boolean panels of its own. The per-column kernel tests the crossing where it reads a
signal (``crossings_nb.crossed_at_nb``, the test ``Cross`` itself makes), so a variant
evaluates, masks and transposes nothing. Other kernels get the boolean panels
(:meth:`Crossings.signals`), equal to the compiled ones; the values of the two
expressions (a run's ``outputs``) are computed when read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from quantlab.engine import expr
from quantlab.engine.backtest.crossings_nb import crossings_nb
from quantlab.engine.backtest.strategies import Signals
from quantlab.engine.data import Panel
from quantlab.engine.expr.cross_nb import cross_nb
from quantlab.engine.spec import RunSpec, SignalsStrategy, expressions

PATHS = ("strategy.entry", "strategy.exit")
_CROSSES = {"Cross": True, "CrossDown": False}


@dataclass(frozen=True)
class Crossings:
    """Entry and exit signals as crossings: ``pairs[k]`` are the two crossing series
    (read-only float32 ``(N_all, T_all)`` over the evaluated panel, indexed instrument
    first as the expression kernels do but laid out day by day, Fortran order, so a day's
    instruments are adjacent for the simulator's day loop), ``up[k]`` whether the first
    crosses above the second; ``k`` is 0 for the entry, 1 for the exit. ``cols`` are the
    traded columns of that panel, ``lo`` the row of the first simulated day,
    ``first``/``last`` each column's existence range."""

    pairs: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    up: tuple[bool, bool]
    first: np.ndarray
    last: np.ndarray
    cols: np.ndarray
    lo: int

    def signal(self, k: int) -> np.ndarray:
        """Signal ``k`` as a C-ordered boolean ``(T, N)`` panel over the simulated rows."""
        a, b = self.pairs[k]
        return crossings_nb(a, b, self.first, self.last, self.up[k], self.cols, self.lo)

    def signals(self) -> Signals:
        """Both signals as boolean panels (for the kernels that read panels)."""
        return Signals(self.signal(0), self.signal(1))

    def values(self, k: int) -> np.ndarray:
        """Expression ``k``'s values over the simulated rows (float32 ``(T, N)``; 1 on a
        crossing, 0 else, NaN where the instrument does not exist): the compiled output."""
        a, b = self.pairs[k]
        rows = cross_nb(a, b, self.first, self.last, self.up[k]).T[self.lo :]
        every = len(self.cols) == rows.shape[1] and bool(
            (self.cols == np.arange(len(self.cols))).all()
        )
        return rows if every else rows[:, self.cols]


class CrossingOutputs(Mapping[str, np.ndarray]):
    """A run's ``outputs`` of a :class:`Crossings` strategy, each computed when first read."""

    def __init__(self, crossings: Crossings) -> None:
        self._crossings = crossings
        self._done: dict[str, np.ndarray] = {}

    def __getitem__(self, path: str) -> np.ndarray:
        if path not in self._done:
            self._done[path] = self._crossings.values(PATHS.index(path))
        return self._done[path]

    def __iter__(self) -> Iterator[str]:
        return iter(PATHS)

    def __len__(self) -> int:
        return len(PATHS)


def compile_crossings(
    spec: RunSpec,
    panel: Panel,
    lo: int,
    cols: np.ndarray,
    cache: expr.ExprCache,
) -> Crossings | None:
    """``spec``'s signals as :class:`Crossings` when its entry and exit are both crossings;
    None otherwise, and for any expression the regular compilation should judge (it
    reports the error). The sub-expressions are evaluated through ``cache``, which also
    keeps their day-by-day copies: it must serve this panel alone (a batch's own)."""
    if not isinstance(spec.strategy, SignalsStrategy):
        return None
    texts = expressions(spec, resolved=True)
    fields = expr.available_fields(panel.fields)
    roots = []
    for path in PATHS:
        try:
            node = expr.validate(texts[path], fields)
        except expr.ExprError:
            return None
        if not (isinstance(node, expr.Call) and node.op in _CROSSES):
            return None
        roots.append(node)
    args = [arg for root in roots for arg in root.args]
    values = expr.evaluate_nodes(args, panel, cache)

    def by_day(node: expr.Node) -> np.ndarray:
        key = ("crossings", "by day", str(node))
        rows = cache.get(key)
        if rows is None:  # once per sub-expression and batch, not per variant
            rows = np.ascontiguousarray(values[node])  # (T, N) C: a day's values adjacent
            cache.put(key, rows)
        out = rows.T.view()
        out.flags.writeable = False
        return out

    en, ex = ((by_day(r.args[0]), by_day(r.args[1])) for r in roots)
    return Crossings(
        pairs=(en, ex),
        up=(_CROSSES[roots[0].op], _CROSSES[roots[1].op]),
        first=np.ascontiguousarray(panel.first, dtype=np.int64),
        last=np.ascontiguousarray(panel.last, dtype=np.int64),
        cols=np.ascontiguousarray(cols, dtype=np.int64),
        lo=lo,
    )
