"""Graph -> readable Python for the code-strategy path (``CodeStrategy`` run in the sandbox).

The module is built as a syntax tree (:mod:`ast`) and printed with :func:`ast.unparse`:
parameters are ``ast.Constant`` nodes, field and node names are checked identifiers, so no
text of the graph is ever pasted into code. The helpers are fixed NumPy functions mirroring
the factor language on the sandbox's ``(days, symbols)`` float arrays: float32 data, float64
windowed arithmetic rounded back to float32, NaN skipped in windows (``min_periods=1``),
comparisons 0/1. They assume, as the sandbox's inputs do, that an instrument's life is the
whole loaded history (a listing gap reads as missing values, not as a shorter life).

Every operator of the factor language has a helper (higher moments, order statistics,
regressions on the day position, correlations and neutralisation included), each following
its kernel's NaN and flat-window rules; windows of 0 (expanding over an instrument's life)
and top-k knobs the code path lacks make :class:`UnsupportedPython` name the blocks; such a
graph still compiles to a spec.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quantlab.engine import expr
from quantlab.engine.builder.compile import _Writer, checked_graph, compile_graph
from quantlab.engine.builder.graph import Graph, ParamRef
from quantlab.engine.builder.validate import Checked
from quantlab.engine.expr.ast import Call, Const, Field
from quantlab.engine.spec import substitute

HELPERS_SOURCE = """
def _f32(x):
    return np.asarray(x, dtype=np.float32)


def _clean(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(x), x, np.nan)


def _windows(x, n):
    n = x.shape[0] if n == 0 else int(n)
    pad = np.full((n - 1,) + x.shape[1:], np.nan)
    return np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, x]), n, axis=0)


def _count(x, n):
    return np.sum(~np.isnan(_windows(_clean(x), n)), axis=-1)


def _truthy(x):
    x = np.asarray(x)
    return (x != 0) & ~np.isnan(x)


def Mean(x, n):
    c = _count(x, n)
    with np.errstate(all="ignore"):
        return _f32(np.where(c > 0, np.nansum(_windows(_clean(x), n), axis=-1) / c, np.nan))


def Sum(x, n):
    out = np.nansum(_windows(_clean(x), n), axis=-1)
    return _f32(np.where(_count(x, n) > 0, out, np.nan))


def Var(x, n):
    w = _windows(_clean(x), n)
    c = _count(x, n)
    with np.errstate(all="ignore"):
        d = w - (np.nansum(w, axis=-1) / c)[..., None]
        return _f32(np.where(c > 1, np.nansum(d * d, axis=-1) / (c - 1), np.nan))


def Std(x, n):
    w = _windows(_clean(x), n)
    c = _count(x, n)
    with np.errstate(all="ignore"):
        d = w - (np.nansum(w, axis=-1) / c)[..., None]
        return _f32(np.where(c > 1, np.sqrt(np.nansum(d * d, axis=-1) / (c - 1)), np.nan))


def Max(x, n):
    return _f32(np.fmax.reduce(_windows(_clean(x), n), axis=-1))


def Min(x, n):
    return _f32(np.fmin.reduce(_windows(_clean(x), n), axis=-1))


def Med(x, n):
    with np.errstate(all="ignore"):
        return _f32(np.nanmedian(_windows(_clean(x), n), axis=-1))


def Count(x, n):
    return _f32(_count(x, n))


def Ref(x, n):
    x = _f32(x)
    n = int(n)
    out = np.full(x.shape, np.nan, dtype=np.float32)
    if n == 0:
        out[:] = x[0]
    else:
        out[n:] = x[:-n]
    return out


def Delta(x, n):
    return _f32(x) - Ref(x, n)


def EMA(x, span):
    x = _f32(x)
    alpha = span if span < 1 else 2.0 / (span + 1.0)
    decay = 1.0 - alpha
    out = np.full(x.shape, np.nan, dtype=np.float32)
    weighted = x[0].astype(np.float64)
    old_wt = np.ones(x.shape[1])
    out[0] = weighted
    for t in range(1, x.shape[0]):
        cur = x[t].astype(np.float64)
        have, valid = weighted == weighted, cur == cur
        old_wt = np.where(have, old_wt * decay, old_wt)
        mix = have & valid & (weighted != cur)
        with np.errstate(all="ignore"):
            blended = (old_wt * weighted + cur) / (old_wt + 1.0)
        weighted = np.where(mix, blended, np.where(~have & valid, cur, weighted))
        old_wt = np.where(have & valid, old_wt + 1.0, old_wt)
        out[t] = weighted
    return out


def Abs(x):
    return np.abs(x)


def Sign(x):
    return np.sign(x)


def Log(x):
    with np.errstate(all="ignore"):
        return np.log(x)


def Power(x, y):
    with np.errstate(all="ignore"):
        return np.power(x, y)


def Add(x, y):
    return x + y


def Sub(x, y):
    return x - y


def Mul(x, y):
    return x * y


def Div(x, y):
    with np.errstate(all="ignore"):
        return x / y


def Greater(x, y):
    return np.maximum(x, y)


def Less(x, y):
    return np.minimum(x, y)


def Gt(x, y):
    return _f32(np.greater(x, y))


def Ge(x, y):
    return _f32(np.greater_equal(x, y))


def Lt(x, y):
    return _f32(np.less(x, y))


def Le(x, y):
    return _f32(np.less_equal(x, y))


def Eq(x, y):
    return _f32(np.equal(x, y))


def Ne(x, y):
    return _f32(np.not_equal(x, y))


def And(x, y):
    return _f32(_truthy(x) & _truthy(y))


def Or(x, y):
    return _f32(_truthy(x) | _truthy(y))


def Not(x):
    return _f32(~_truthy(x))


def If(cond, x, y):
    return _f32(np.where(_truthy(cond), x, y))


def Cross(x, y):
    x, y = np.broadcast_arrays(_f32(x), _f32(y))
    out = np.zeros(x.shape, dtype=np.float32)
    out[1:] = (x[1:] > y[1:]) & (x[:-1] <= y[:-1])
    return out


def CrossDown(x, y):
    x, y = np.broadcast_arrays(_f32(x), _f32(y))
    out = np.zeros(x.shape, dtype=np.float32)
    out[1:] = (x[1:] < y[1:]) & (x[:-1] >= y[:-1])
    return out


def CSRank(x):
    x = _f32(x).astype(np.float64)
    valid = ~np.isnan(x)
    out = np.full(x.shape, np.nan)
    for t in range(x.shape[0]):
        cols = np.flatnonzero(valid[t])
        if cols.size == 0:
            continue
        values = x[t, cols]
        order = np.argsort(values, kind="mergesort")
        ranks = np.empty(cols.size)
        sorted_values = values[order]
        start = 0
        while start < cols.size:
            end = start
            while end + 1 < cols.size and sorted_values[end + 1] == sorted_values[start]:
                end += 1
            ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
            start = end + 1
        out[t, cols] = ranks / cols.size
    return _f32(out)


def CSDemean(x):
    x = _f32(x).astype(np.float64)
    with np.errstate(all="ignore"):
        return _f32(x - np.nanmean(x, axis=1, keepdims=True))


def CSZScore(x):
    x = _f32(x).astype(np.float64)
    with np.errstate(all="ignore"):
        d = x - np.nanmean(x, axis=1, keepdims=True)
        n = np.sum(~np.isnan(x), axis=1, keepdims=True)
        scale = np.sqrt(np.nansum(d * d, axis=1, keepdims=True) / (n - 1))
        return _f32(np.where((n > 1) & (scale > 0), d / scale, np.nan))


def _pad(x, n):
    # window slots before the instrument's first day (its first close), as the engine
    # counts positions from max(first day, t - n + 1)
    n = x.shape[0] if n == 0 else int(n)
    life = ~np.isnan(np.asarray(globals().get("close", x), dtype=np.float64))
    first = np.where(life.any(axis=0), life.argmax(axis=0), 0)
    return np.maximum(first[None, :] + n - 1 - np.arange(x.shape[0])[:, None], 0)[..., None]


def _moments(x, n):
    w = _windows(_clean(x), n)
    c = _count(x, n).astype(np.float64)
    with np.errstate(all="ignore"):
        d = w - (np.nansum(w, axis=-1) / c)[..., None]
        b = np.nansum(d * d, axis=-1) / c
        ok = (np.fmax.reduce(w, axis=-1) != np.fmin.reduce(w, axis=-1)) & (b > 1e-14)
    return d, c, b, ok


def Skew(x, n):
    d, c, b, ok = _moments(x, n)
    with np.errstate(all="ignore"):
        out = np.sqrt(c * (c - 1.0)) * (np.nansum(d**3, axis=-1) / c) / ((c - 2.0) * b * np.sqrt(b))
    return _f32(np.where(ok & (c >= 3), out, np.nan))


def Kurt(x, n):
    d, c, b, ok = _moments(x, n)
    with np.errstate(all="ignore"):
        k = (c * c - 1.0) * (np.nansum(d**4, axis=-1) / c) / (b * b) - 3.0 * (c - 1.0) ** 2
        out = k / ((c - 2.0) * (c - 3.0))
    return _f32(np.where(ok & (c >= 4), out, np.nan))


def _extreme_position(w, pad):
    valid = ~np.isnan(w)
    first = np.argmax(np.where(valid, w, -np.inf), axis=-1)
    return _f32(np.where(valid.any(axis=-1), first - pad[..., 0] + 1.0, np.nan))


def IdxMax(x, n):
    return _extreme_position(_windows(_clean(x), n), _pad(x, n))


def IdxMin(x, n):
    return _extreme_position(-_windows(_clean(x), n), _pad(x, n))


def Quantile(x, n, q):
    s = np.sort(_windows(_clean(x), n), axis=-1)
    c = _count(x, n)
    pos = q * np.maximum(c - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    below = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0]
    above = np.take_along_axis(s, np.minimum(lo + 1, s.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    out = np.where(pos == lo, below, below + (above - below) * (pos - lo))
    return _f32(np.where(c > 0, out, np.nan))


def Mad(x, n):
    w = _windows(_clean(x), n)
    c = _count(x, n)
    with np.errstate(all="ignore"):
        m = np.nansum(w, axis=-1) / c
        return _f32(np.where(c > 0, np.nansum(np.abs(w - m[..., None]), axis=-1) / c, np.nan))


def Rank(x, n):
    w = _windows(_clean(x), n)
    today = _clean(x)[..., None]
    less = np.sum(w < today, axis=-1)
    equal = np.sum(w == today, axis=-1)
    c = _count(x, n)
    with np.errstate(all="ignore"):
        out = (less + (equal + 1) / 2.0) / c
    return _f32(np.where(~np.isnan(today[..., 0]) & (c > 0), out, np.nan))


def WMA(x, n):
    w = _windows(_clean(x), n)
    k = np.arange(1.0, w.shape[-1] + 1.0) - _pad(x, n)
    valid = ~np.isnan(w)
    num = np.sum(np.where(valid, w * k, 0.0), axis=-1)
    den = np.sum(np.where(valid, k, 0.0), axis=-1)
    with np.errstate(all="ignore"):
        return _f32(np.where(den > 0, num / den, np.nan))


def _regress(x, n):
    w = _windows(_clean(x), n)
    valid = ~np.isnan(w)
    c = valid.sum(axis=-1)
    pos = np.arange(w.shape[-1], dtype=np.float64)
    with np.errstate(all="ignore"):
        mt = np.sum(np.where(valid, pos, 0.0), axis=-1) / c
        my = np.nansum(w, axis=-1) / c
        dt = np.where(valid, pos - mt[..., None], 0.0)
        dy = np.where(valid, w - my[..., None], 0.0)
        sxx, sxy, syy = (dt * dt).sum(-1), (dt * dy).sum(-1), (dy * dy).sum(-1)
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
    return w.shape[-1] - 1 - mt, my, c, slope, sxx, sxy, syy


def Slope(x, n):
    _lag, _my, c, slope, _sxx, _sxy, _syy = _regress(x, n)
    return _f32(np.where(c > 0, slope, np.nan))


def Rsquare(x, n):
    _lag, _my, c, _slope, sxx, sxy, syy = _regress(x, n)
    with np.errstate(all="ignore"):
        flat = (c >= 2) & (np.sqrt(np.maximum(syy, 0.0) / (c - 1)) <= 2e-5)
        den = sxx * syy
        out = np.where(den > 0, sxy * sxy / den, np.nan)
    return _f32(np.where(flat | (c == 0), np.nan, out))


def Resi(x, n):
    lag, my, _c, slope, _sxx, _sxy, _syy = _regress(x, n)
    return _f32(_clean(x) - (my + slope * lag))


def _pairs(x, y, n):
    a, b = _windows(_clean(x), n), _windows(_clean(y), n)
    both = ~np.isnan(a) & ~np.isnan(b)
    c = both.sum(axis=-1)
    with np.errstate(all="ignore"):
        da = np.where(both, a - (np.where(both, a, 0.0).sum(-1) / c)[..., None], 0.0)
        db = np.where(both, b - (np.where(both, b, 0.0).sum(-1) / c)[..., None], 0.0)
    pa, pb = np.where(both, a, np.nan), np.where(both, b, np.nan)
    flat_a = np.fmax.reduce(pa, axis=-1) == np.fmin.reduce(pa, axis=-1)
    flat_b = np.fmax.reduce(pb, axis=-1) == np.fmin.reduce(pb, axis=-1)
    sxy = np.where(flat_a | flat_b, 0.0, (da * db).sum(-1))
    sxx = np.where(flat_a, 0.0, (da * da).sum(-1))
    syy = np.where(flat_b, 0.0, (db * db).sum(-1))
    return c, sxx, syy, sxy


def Cov(x, y, n):
    c, _sxx, _syy, sxy = _pairs(x, y, n)
    with np.errstate(all="ignore"):
        return _f32(np.where(c >= 2, sxy / (c - 1), np.nan))


def Corr(x, y, n):
    c, sxx, syy, sxy = _pairs(x, y, n)
    # Qlib's flat mask: either input's own rolling std (its valid days) at most 2e-5
    own = [_count(v, n) for v in (x, y)]
    flat = np.zeros(c.shape, dtype=bool)
    for v, k in zip((x, y), own):
        flat |= (k >= 2) & ~(np.nan_to_num(Std(v, n).astype(np.float64), nan=0.0) > 2e-5)
    with np.errstate(all="ignore"):
        den = np.sqrt(sxx * syy)
        out = np.where(den > 0, sxy / den, np.nan)
    return _f32(np.where((c >= 2) & ~flat, out, np.nan))


def Neutralize(x, group, size):
    arrays = np.broadcast_arrays(_f32(x), _f32(group), _f32(size))
    x, g, s = (np.asarray(v, dtype=np.float64) for v in arrays)
    out = np.full(x.shape, np.nan)
    for t in range(x.shape[0]):
        cols = np.flatnonzero(np.isfinite(x[t]) & np.isfinite(g[t]) & np.isfinite(s[t]))
        if cols.size == 0:
            continue
        _codes, inv = np.unique(g[t, cols], return_inverse=True)
        cnt = np.bincount(inv)
        dx = x[t, cols] - (np.bincount(inv, x[t, cols]) / cnt)[inv]
        ds = s[t, cols] - (np.bincount(inv, s[t, cols]) / cnt)[inv]
        sss = np.sum(ds * ds)
        raw = np.sum(s[t, cols] * s[t, cols])
        beta = np.sum(dx * ds) / sss if sss > 1e-12 * raw and sss > 0 else 0.0
        out[t, cols] = dx - beta * ds
    return _f32(out)


def _target_weights(x):
    w = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0)
    w = np.clip(w, 0.0, None)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        return np.where(total > 0, w / total, 0.0)
"""
_HELPERS = {f.name: f for f in ast.parse(HELPERS_SOURCE).body if isinstance(f, ast.FunctionDef)}
_PRIVATE_DEPS = {"_f32", "_clean", "_windows", "_count", "_truthy"}
_DEPENDS: dict[str, set[str]] = {
    "Delta": {"Ref"},
    "Skew": {"_moments"},
    "Kurt": {"_moments"},
    "IdxMax": {"_extreme_position", "_pad"},
    "IdxMin": {"_extreme_position", "_pad"},
    "WMA": {"_pad"},
    "Slope": {"_regress"},
    "Rsquare": {"_regress"},
    "Resi": {"_regress"},
    "Cov": {"_pairs"},
    "Corr": {"_pairs", "Std"},
}
SUPPORTED_OPERATORS = frozenset(n for n in _HELPERS if n[0].isupper())
_WINDOWED = frozenset(
    {"EMA", "Ref", "Mean", "Sum", "Std", "Var", "Max", "Min", "Med", "Count", "Delta", "Skew",
     "Kurt", "IdxMax", "IdxMin", "Quantile", "Mad", "Rank", "Slope", "Rsquare", "Resi", "WMA",
     "Corr", "Cov"}
)  # fmt: skip


def _literal(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    return None


_RESERVED = set(keyword.kwlist) | {"np", "dates", "entries", "exits", "weights", "scores"}


class UnsupportedPython(ValueError):
    """The graph uses operators the generated Python has no helper for."""

    def __init__(self, blocks: dict[str, str]) -> None:
        listed = ", ".join(f"{n} ({op})" for n, op in list(blocks.items())[:10])
        super().__init__(f"no Python helper for: {listed}; the graph still compiles to a spec")
        self.blocks = blocks


@dataclass(frozen=True)
class PythonStrategy:
    """Generated code plus the code strategy's knobs (a ``CodeStrategy`` body) and the
    spec's ``indicators`` the code reads as inputs (empty when it reads none)."""

    code: str
    strategy: dict[str, Any]
    indicators: dict[str, Any] = field(default_factory=dict)


def _name(nid: str, taken: set[str]) -> str:
    base = "v_" + re.sub(r"\W", "_", nid)
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


class _Emitter:
    def __init__(self, c: Checked, factors: Mapping[str, str] | None) -> None:
        self.c = c
        self.factors = factors or {}
        self.names: dict[str, str] = {}
        self.taken: set[str] = set()
        self.body: list[ast.stmt] = []
        self.used: set[str] = set()
        self.unsupported: dict[str, str] = {}
        self.params = {k: f"p_{k}" for k in c.graph.parameters}
        self.trees: dict[expr.Node, ast.expr] = {}
        self.writer = _Writer(c, factors)

    def call(self, op: str, args: list[ast.expr], where: str) -> ast.expr:
        if op not in SUPPORTED_OPERATORS:
            self.unsupported[where] = op
        elif op in _WINDOWED and _literal(args[-2 if op == "Quantile" else -1]) == 0:
            # window/span 0 is Qlib's expanding form over the instrument's life
            self.unsupported[where] = f"{op} with window 0 (expanding)"
        self.used.add(op)
        return ast.Call(func=ast.Name(op, ast.Load()), args=args, keywords=[])

    def param(self, value: Any, raw: Any) -> ast.expr:
        if isinstance(raw, ParamRef):
            ref: ast.expr = ast.Name(self.params[raw.ref], ast.Load())
            return ast.UnaryOp(ast.USub(), ref) if raw.negate else ref
        return ast.Constant(float(value))

    def field(self, name: str) -> ast.expr:
        source: ast.expr
        if name in _RESERVED or not name.isidentifier():
            key = ast.Constant(name)
            glb = ast.Call(ast.Name("globals", ast.Load()), [], [])
            source = ast.Subscript(glb, key, ast.Load())
        else:
            source = ast.Name(name, ast.Load())
        self.used.add("_f32")
        return ast.Call(ast.Name("_f32", ast.Load()), [source], [])

    def tree(self, node: expr.Node, where: str) -> ast.expr:
        """An expression tree (from an expression or saved-factor block) as calls."""
        if isinstance(node, Field):
            return self.field(node.name)
        if isinstance(node, Const):
            return ast.Constant(node.value)
        assert isinstance(node, Call)
        args = [self.tree(a, where) for a in node.args]
        args += [ast.Constant(p) for p in node.params]
        return self.call(node.op, args, where)

    def node(self, nid: str, port: str = "out") -> ast.expr:
        key = nid if port == "out" else f"{nid}.{port}"
        if key in self.names:
            return ast.Name(self.names[key], ast.Load())
        c = self.c
        node, t = c.nodes[nid], c.types[nid]
        value: ast.expr
        if "indicator" in t.extra:
            # the run adds the spec's indicator outputs to the inputs, as fields
            value = self.field(self.writer.indicator(nid, port)[1:])
        elif t.type == "field":
            value = self.field(str(c.value(node, "name")))
        elif t.type == "const":
            return self.param(c.value(node, "value"), node.params.get("value"))
        elif t.type in ("expr", "factor"):
            if t.type == "expr":
                text = str(c.value(node, "expression"))
            else:
                text = self.factors[str(c.value(node, "factor_id"))]
            parsed = expr.parse(substitute(text, dict(c.graph.parameters)))
            value = self.tree(parsed, nid)
        else:
            op = str(t.extra["operator"])
            args = []
            for in_port in t.inputs:
                src = c.source(nid, in_port.name)
                assert src is not None
                args.append(self.node(*src))
            args += [self.param(c.value(node, p.name), node.params.get(p.name)) for p in t.params]
            value = self.call(op, args, nid)
        name = _name(key, self.taken)
        self.names[key] = name
        self.body.append(ast.Assign([ast.Name(name, ast.Store())], value))
        return ast.Name(name, ast.Load())

    def input(self, nid: str, port: str) -> ast.expr:
        src = self.c.source(nid, port)
        assert src is not None
        return self.node(*src)


def _assign(name: str, value: ast.expr) -> ast.stmt:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _helper_call(name: str, arg: ast.expr) -> ast.expr:
    return ast.Call(ast.Name(name, ast.Load()), [arg], [])


def graph_python(graph: Graph, factors: Mapping[str, str] | None = None) -> PythonStrategy:
    """``graph`` as a code strategy: readable Python and the strategy's knobs."""
    compiled = compile_graph(graph, factors)
    c, _ = checked_graph(graph, factors)
    out = c.output
    assert out is not None
    em = _Emitter(c, factors)
    s = compiled.body["strategy"]
    tail: list[ast.stmt] = []
    knobs: dict[str, Any] = {"kind": "code"}
    if s["kind"] == "signals":
        entry = em.input(c.source(out, "entry")[0], "when")  # type: ignore[index]
        exit_ = em.input(c.source(out, "exit")[0], "when")  # type: ignore[index]
        tail += [
            _assign("entries", _helper_call("_truthy", entry)),
            _assign("exits", _helper_call("_truthy", exit_)),
        ]
        em.used.add("_truthy")
        knobs.update({k: s[k] for k in ("sizing", "max_holdings") if k in s})
    elif s["kind"] == "scores":
        score = em.input(c.source(out, "select")[0], "score")  # type: ignore[index]
        as64 = ast.Call(
            ast.Attribute(score, "astype", ast.Load()),
            [ast.Attribute(ast.Name("np", ast.Load()), "float64", ast.Load())],
            [],
        )
        tail.append(_assign("scores", as64))
        knobs.update(top_k=s["top_k"], n_drop=s["n_drop"], rebalance=s["rebalance"])
        select = c.source(out, "select")[0]  # type: ignore[index]
        if s["hold_thresh"] != 1 or s["risk_degree"] != 0.95:
            # the code path's top-k has Qlib's defaults for these two knobs
            em.unsupported[select] = "select.top_k with hold_thresh or risk_degree changed"
    else:
        weight = em.input(c.source(out, "weights")[0], "weight")  # type: ignore[index]
        if s["normalize"] == "sum":
            weight = _helper_call("_target_weights", weight)
            em.used.add("_target_weights")
        tail.append(_assign("weights", weight))
        knobs["rebalance"] = s["rebalance"]
    if em.unsupported:
        raise UnsupportedPython(em.unsupported)
    wanted = set(em.used)
    for op in list(wanted):
        wanted |= _DEPENDS.get(op, set())
    if wanted & (SUPPORTED_OPERATORS | {"_target_weights"}):
        wanted |= _PRIVATE_DEPS
    helpers = [f for name, f in _HELPERS.items() if name in wanted]
    doc = ast.Expr(ast.Constant(f"Strategy {graph.name!r}, generated from a builder graph."))
    params = [_assign(em.params[k], ast.Constant(float(v))) for k, v in graph.parameters.items()]
    module = ast.Module([doc, *helpers, *params, *em.body, *tail], type_ignores=[])
    code = ast.unparse(ast.fix_missing_locations(module)) + "\n"
    indicators = compiled.body.get("indicators", {})
    return PythonStrategy(code=code, strategy={**knobs, "code": code}, indicators=indicators)
