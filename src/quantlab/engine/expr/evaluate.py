"""Evaluate expression trees on a :class:`~quantlab.engine.data.Panel`.

Work is done once per distinct sub-tree across all requested expressions (trees are
canonical, see :mod:`quantlab.engine.expr.parser`), intermediates are freed as soon as
their last consumer has run, and final results can be kept in an :class:`ExprCache`
keyed by the panel's ``meta["version_key"]``.

Internally data is instrument-major ``(N, T)`` float32 so every time-axis kernel walks
contiguous memory; results are handed back as ``(T, N)`` Fortran-ordered views of it,
the panel's own layout.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from quantlab.engine.background import Background
from quantlab.engine.data.panel import Panel
from quantlab.engine.expr import cross_nb as cs
from quantlab.engine.expr import moments_nb as mo
from quantlab.engine.expr import order_nb as od
from quantlab.engine.expr import pair_nb as pr
from quantlab.engine.expr import regress_nb as rg
from quantlab.engine.expr import rolling_nb as rl
from quantlab.engine.expr.ast import Call, Const, Field, Node, walk
from quantlab.engine.expr.cache import ExprCache
from quantlab.engine.expr.derived import DERIVED_FIELDS, available_fields, derive
from quantlab.engine.expr.elementwise import Value, apply_elementwise
from quantlab.engine.expr.operators import OPERATORS
from quantlab.engine.expr.parser import parse_text

_WINDOWED: dict[str, Callable[..., np.ndarray]] = {
    "Ref": rl.ref_nb,
    "Delta": rl.delta_nb,
    "Mean": rl.mean_nb,
    "Sum": rl.sum_nb,
    "Count": rl.count_nb,
    "Std": rl.std_nb,
    "Var": rl.var_nb,
    "Skew": mo.skew_nb,
    "Kurt": mo.kurt_nb,
    "Mad": rl.mad_nb,
    "WMA": rl.wma_nb,
}
_CROSS_SECTIONAL: dict[str, Callable[..., np.ndarray]] = {
    "CSRank": cs.csrank_nb,
    "CSZScore": cs.cszscore_nb,
    "CSDemean": cs.csdemean_nb,
}

#: Windowed ops that see +-inf as a value. Qlib's other windowed ops run on pandas'
#: rolling, which turns +-inf into NaN before aggregating (``_prep_values``); Slope,
#: Rsquare and Resi are Qlib's own Cython loops, Ref/Delta are plain shifts, and pandas'
#: rolling ``count`` counts ``notna()`` values, so +-inf counts as present there.
_INF_KEPT = frozenset({"Ref", "Delta", "Count", "Slope", "Rsquare", "Resi"})


def _inf_to_nan(x: np.ndarray) -> np.ndarray:
    if not rl.any_inf_nb(x):  # the usual case: no (N, T) mask
        return x
    return np.where(np.isinf(x), np.float32(np.nan), x)


#: Windowed ops computed together when a set of expressions asks for several of one
#: family over the same input and window: one sorted window serves every quantile and
#: the rank, one pass the extreme and its position, one regression its three outputs.
_FAMILIES: dict[str, str] = {
    "Quantile": "order",
    "Med": "order",
    "Rank": "order",
    "Max": "max",
    "IdxMax": "max",
    "Min": "min",
    "IdxMin": "min",
    "Slope": "regress",
    "Rsquare": "regress",
    "Resi": "regress",
}


def _family_key(node: Call) -> tuple[str, Node, int]:
    return _FAMILIES[node.op], node.args[0], int(node.params[0])


def _order_q(node: Call) -> float:
    return 0.5 if node.op == "Med" else float(node.params[1])


#: Shared cache for evaluations of versioned panels (512 MiB).
DEFAULT_CACHE = ExprCache()


class _Evaluator:
    """One evaluation pass over a panel; holds the working set of intermediate arrays."""

    def __init__(self, panel: Panel, keep: ExprCache | None = None,
                 scope: tuple[Hashable, ...] | None = None,
                 cols: slice = slice(None)) -> None:  # fmt: skip
        self.panel = panel
        # where sub-expressions are looked up and kept (``ExprCache.intermediates``)
        self.keep = keep if keep is not None and keep.intermediates and scope else None
        self.scope = scope or ()
        # the instruments evaluated: all, or a contiguous part (see ``_split_run``)
        self.cols = cols
        self.first = np.ascontiguousarray(panel.first[cols], dtype=np.int64)
        self.last = np.ascontiguousarray(panel.last[cols], dtype=np.int64)
        self.n, self.t = len(self.first), len(panel.calendar)
        self.families: dict[tuple[str, Node, int], list[Call]] = {}
        # Cross and CrossDown wanted of the same inputs: one pass computes both
        self.signal_ops: dict[tuple[Node, ...], set[str]] = {}
        self.pending: dict[Node, np.ndarray] = {}

    def family(self, node: Call, x: np.ndarray) -> np.ndarray:
        """``node``'s result; its siblings of the same family over the same input and
        window wait in ``pending`` (one pass serves them all)."""
        members = self.families.get(_family_key(node), [node])
        planes = self.family_planes(node, members, x)
        for m in members:
            if m != node:
                self.pending[m] = planes[m]
        return planes[node]

    def family_planes(
        self, node: Call, members: list[Call], x: np.ndarray
    ) -> dict[Call, np.ndarray]:
        f, l_, window = self.first, self.last, int(node.params[0])
        ops = {m.op for m in members}
        kind = _FAMILIES[node.op]
        if kind == "order":
            qs = sorted({_order_q(m) for m in members if m.op != "Rank"})
            planes = od.order_stats_nb(x, f, l_, window, np.array(qs, np.float64), "Rank" in ops)
            return {
                m: planes[-1] if m.op == "Rank" else planes[qs.index(_order_q(m))] for m in members
            }
        if kind == "regress":
            fits = rg.regress_nb(x, f, l_, window, "Slope" in ops, "Rsquare" in ops, "Resi" in ops)
            return {m: fits[("Slope", "Rsquare", "Resi").index(m.op)] for m in members}
        value_op, index_op = ("Max", "IdxMax") if kind == "max" else ("Min", "IdxMin")
        value, index = rl.extremes_nb(
            x, f, l_, window, kind == "max", value_op in ops, index_op in ops
        )
        return {m: index if m.op.startswith("Idx") else value for m in members}

    def crosses(self, node: Call, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``node``'s result (Cross or CrossDown); the other one of the same inputs, when
        wanted, waits in ``pending``."""
        ops = self.signal_ops.pop(node.args, {node.op})
        if len(ops) == 1:
            return cs.cross_nb(a, b, self.first, self.last, node.op == "Cross")
        up, down = cs.crosses_nb(a, b, self.first, self.last)
        other = "CrossDown" if node.op == "Cross" else "Cross"
        self.pending[Call(other, node.args, node.params)] = down if other == "CrossDown" else up
        return up if node.op == "Cross" else down

    def array(self, v: Value) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v
        out = np.full((self.n, self.t), v, dtype=np.float32)
        return self.blank(out)

    def blank(self, x: np.ndarray) -> np.ndarray:
        """``x`` with NaN, in place, on the days an instrument does not exist."""
        rl.blank_absent_nb(x, self.first, self.last)
        return x

    def field(self, name: str) -> np.ndarray:
        # float64 (T, N) Fortran -> float32 (N, T) C is a transpose view plus one cast;
        # days outside [first, last] are blanked so no kernel can see them.
        if name not in self.panel.fields and name in DERIVED_FIELDS:
            source = derive(name, self.panel.fields)
        else:
            source = self.panel.fields[name]
        return self.blank(np.ascontiguousarray(source[:, self.cols].T, dtype=np.float32))

    def compute(self, node: Node, values: dict[Node, Value]) -> Value:
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Field):
            return self.field(node.name)
        kind = OPERATORS[node.op].kind
        if node in self.pending:  # computed with a sibling (order statistics, crosses)
            out: Value = self.pending.pop(node)
        else:
            out = self.apply(node, kind, [values[a] for a in node.args])
        if self.keep is not None and kind != "elementwise" and isinstance(out, np.ndarray):
            self.keep.put(self.key(node), out)
        return out

    def key(self, node: Node) -> tuple[Hashable, ...]:
        return (*self.scope, "sub", str(node))

    def kept(self, order: Sequence[Node]) -> dict[Node, np.ndarray]:
        """The sub-expressions already in the cache (none without ``keep``)."""
        if self.keep is None:
            return {}
        hits: dict[Node, np.ndarray] = {}
        for n in order:
            if isinstance(n, Call) and OPERATORS[n.op].kind != "elementwise":
                hit = self.keep.get(self.key(n))
                if hit is not None:
                    hits[n] = hit
        return hits

    def apply(self, node: Call, kind: str, args: list[Value]) -> Value:
        if kind == "elementwise":
            return apply_elementwise(node.op, args)
        xs = [self.array(a) for a in args]
        if kind in ("rolling", "pair_rolling") and node.op not in _INF_KEPT:
            xs = [_inf_to_nan(x) for x in xs]
        f, l_ = self.first, self.last
        if node.op == "Neutralize":
            return cs.neutralize_nb(xs[0], xs[1], xs[2], f, l_)
        if kind == "cross_sectional":
            return _CROSS_SECTIONAL[node.op](xs[0], f, l_)
        if kind == "signal":
            return self.crosses(node, xs[0], xs[1])
        if kind == "pair_rolling":
            fn = pr.corr_nb if node.op == "Corr" else pr.cov_nb
            return fn(xs[0], xs[1], f, l_, int(node.params[0]))
        if node.op in _FAMILIES:
            return self.family(node, xs[0])
        if node.op == "EMA":
            return rl.ema_nb(xs[0], f, l_, float(node.params[0]))
        return _WINDOWED[node.op](xs[0], f, l_, int(node.params[0]))

    def run(self, roots: Sequence[Node]) -> dict[Node, np.ndarray]:
        order: dict[Node, None] = {}
        for root in roots:
            for n in walk(root):
                order.setdefault(n, None)
        hits = self.kept(list(order))
        if hits:  # what a kept sub-expression is computed from is not needed
            needed: set[Node] = set()
            stack = list(roots)
            while stack:
                n = stack.pop()
                if n not in needed:
                    needed.add(n)
                    if isinstance(n, Call) and n not in hits:
                        stack.extend(n.args)
            order = {n: None for n in order if n in needed}
        uses: dict[Node, int] = dict.fromkeys(order, 0)
        for n in order:
            if isinstance(n, Call) and n not in hits:
                for a in n.args:
                    uses[a] += 1
        keep = set(roots)
        for n in order:
            if isinstance(n, Call) and n.op in _FAMILIES and n not in hits:
                self.families.setdefault(_family_key(n), []).append(n)
            if isinstance(n, Call) and OPERATORS[n.op].kind == "signal" and n not in hits:
                self.signal_ops.setdefault(n.args, set()).add(n.op)
        values: dict[Node, Value] = {}
        for n in order:
            if n in hits:
                values[n] = hits[n]
                continue
            values[n] = self.compute(n, values)
            if isinstance(n, Call):
                for a in n.args:
                    uses[a] -= 1
                    if uses[a] == 0 and a not in keep:
                        del values[a]
        out: dict[Node, np.ndarray] = {}
        for root in roots:
            arr = self.array(values[root])
            if not arr.flags.writeable:  # a kept sub-expression of an earlier evaluation
                arr = arr.copy()
            out[root] = self.blank(arr)
        return out


def _cache_scope(panel: Panel) -> tuple[Hashable, ...] | None:
    version = panel.meta.get("version_key")
    if version is None or not len(panel.calendar):
        return None
    # select() keeps meta, so the version alone does not identify a sub-panel's shape
    return (
        str(version),
        str(panel.calendar[0]),
        str(panel.calendar[-1]),
        len(panel.calendar),
        hash(tuple(panel.instruments.tolist())),
    )


#: Cells (days x instruments) from which an evaluation is worth splitting over threads.
SPLIT_CELLS = 250_000


def _splittable(
    nodes: Sequence[Node], panel: Panel, cache: ExprCache | None, scope: tuple[Hashable, ...] | None
) -> bool:
    """True when ``nodes`` can be evaluated on parts of the instruments independently: no
    operator looks across instruments, no sub-expression is looked up or kept in the cache
    (its keys are the whole panel's), and the panel is large enough to gain from it."""
    n, t = len(panel.instruments), len(panel.calendar)
    if n < 2 or n * t < SPLIT_CELLS or (cache is not None and cache.intermediates and scope):
        return False
    return not any(
        isinstance(m, Call) and OPERATORS[m.op].kind == "cross_sectional"
        for node in nodes
        for m in walk(node)
    )


def _split_run(nodes: Sequence[Node], panel: Panel, threads: int) -> dict[Node, np.ndarray]:
    """:meth:`_Evaluator.run` on ``threads`` contiguous parts of the instruments at once (the
    kernels release the GIL), the parts' rows joined: the same arrays, every instrument's
    series being computed on its own."""
    n = len(panel.instruments)
    bounds = np.linspace(0, n, min(threads, n) + 1).astype(int)
    parts = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    out = {node: np.empty((n, len(panel.calendar)), dtype=np.float32) for node in nodes}

    def part(cols: slice) -> None:  # each thread copies its rows into the results
        for node, arr in _Evaluator(panel, cols=cols).run(nodes).items():
            out[node][cols] = arr

    others = [Background(part, c) for c in parts[1:]]
    part(parts[0])
    for other in others:
        other.result()
    return out


def evaluate_nodes(
    nodes: Sequence[Node],
    panel: Panel,
    cache: ExprCache | None = DEFAULT_CACHE,
    threads: int = 1,
) -> dict[Node, np.ndarray]:
    """Evaluate parsed trees; results are float32 ``(T, N)`` (Fortran-ordered) arrays.

    ``threads`` > 1 evaluates parts of the instruments on that many threads when no
    operator looks across instruments (same results)."""
    scope = _cache_scope(panel) if cache is not None else None
    results: dict[Node, np.ndarray] = {}
    todo: list[Node] = []
    for node in dict.fromkeys(nodes):
        hit = cache.get((*scope, str(node))) if cache is not None and scope else None
        if hit is not None:
            results[node] = hit
        else:
            todo.append(node)
    if todo:
        if threads > 1 and _splittable(todo, panel, cache, scope):
            computed = _split_run(todo, panel, threads)
        else:
            computed = _Evaluator(panel, cache, scope).run(todo)
        for node, arr in computed.items():
            out = arr.T
            if cache is not None and scope:
                cache.put((*scope, str(node)), out)
            results[node] = out
    return results


def evaluate(
    exprs: str | Sequence[str],
    panel: Panel,
    allow_future: bool = False,
    cache: ExprCache | None = DEFAULT_CACHE,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Evaluate one or more expressions on ``panel``.

    Parameters
    ----------
    exprs : str or sequence of str
        Qlib-syntax expressions over the panel's fields (``"Mean($close, 5) / $close"``).
    panel : Panel
        Data; only fields the expressions name are read. ``$vwap`` is derived as
        ``amount / volume`` when the panel has both and no ``vwap``
        (:mod:`quantlab.engine.expr.derived`, which also says how units interact).
    allow_future : bool
        Allow future references (``Ref(x, -n)``). Only the label path of factor
        evaluation sets it; features and strategies never may read the future.
    cache : ExprCache or None
        Where results of panels with ``meta["version_key"]`` are kept; None disables.
    threads : int
        Threads to evaluate on (parts of the instruments each, when no operator looks
        across instruments and the panel is large; the results are the same).

    Returns
    -------
    dict of str to numpy.ndarray
        Each input text to a float32 ``(T, N)`` array (Fortran order, read-only when it
        came from or went into the cache). NaN where the instrument does not exist, where
        inputs are missing, and where a window has too few valid values.

    Raises
    ------
    ExprError
        For a syntax error, unknown field or operator, wrong arity, bad window, or a
        future reference without ``allow_future=True``.
    """
    texts = [exprs] if isinstance(exprs, str) else list(exprs)
    fields = set(available_fields(panel.fields))
    parsed = {text: parse_text(text, fields, allow_future) for text in texts}
    by_node = evaluate_nodes(list(parsed.values()), panel, cache, threads)
    return {text: by_node[node] for text, node in parsed.items()}
