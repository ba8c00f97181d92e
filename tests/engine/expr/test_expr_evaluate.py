"""Evaluation: shared sub-expressions, the cache, start independence, feature sets."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.expr import (
    ExprCache,
    ExprError,
    evaluate,
    get_feature_set,
    lookback,
    parse,
)
from quantlab.engine.expr.ast import walk

# the module (its name is shadowed by the function in the package)
evaluate_module = sys.modules["quantlab.engine.expr.evaluate"]


def _random_panel(seed: int = 3, t: int = 200, n: int = 8, version: str | None = None) -> Panel:
    rng = np.random.default_rng(seed)
    close = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (t, n)), axis=0))
    fields = {
        "close": close,
        "open": close * (1 + rng.normal(0, 0.01, (t, n))),
        "high": close * (1 + rng.uniform(0, 0.03, (t, n))),
        "low": close * (1 - rng.uniform(0, 0.03, (t, n))),
        "vwap": close * (1 + rng.normal(0, 0.005, (t, n))),
        "volume": rng.lognormal(12, 0.5, (t, n)),
    }
    for f in fields.values():
        f[:40, 0] = np.nan  # born later
        f[100:104, 1] = np.nan  # suspended
        f[150:, 2] = np.nan  # delisted
    meta = {} if version is None else {"version_key": version}
    return Panel.from_arrays(
        np.datetime64("2020-01-01") + np.arange(t), [f"S{i}" for i in range(n)], fields, meta
    )


def test_shared_subexpressions_are_one_node_and_give_the_same_numbers() -> None:
    p = _random_panel()
    a, b = "Mean($close, 5) / $close", "Std($close, 5) + Mean($close,5)"
    together = evaluate([a, b], p, cache=None)
    alone = {e: evaluate(e, p, cache=None)[e] for e in (a, b)}
    for e in (a, b):
        np.testing.assert_array_equal(together[e], alone[e])
    nodes = set(walk(parse(a))) | set(walk(parse(b)))
    # $close, Mean, Div, Std, Add: the two Means are one node
    assert len(nodes) == 5
    # Alpha158 has 158 roots but far fewer distinct rolling computations than a naive count
    feats = [parse(e) for _, e in get_feature_set("Alpha158")]
    distinct = set().union(*(walk(f) for f in feats))
    assert len([n for n in distinct if str(n).startswith("Ref($close,1)")]) == 1


def test_results_do_not_depend_on_the_query_start() -> None:
    p = _random_panel()
    exprs = [e for _, e in get_feature_set("Alpha158") if "vwap" not in e] + [
        "Cross($close, Mean($close, 5))",
        "Rank($close, 10)",
        "Mad($close, 10)",
        "WMA($close, 10)",
        "Delta($close, 3)",
        "Kurt($close, 20)",
    ]
    full = evaluate(exprs, p, cache=None)
    start = 90
    for e in exprs:
        cut = p.select(start=p.calendar[start - lookback(e)])
        part = evaluate(e, cut, cache=None)[e]
        np.testing.assert_array_equal(part[lookback(e) :], full[e][start:], err_msg=e)


def test_threads_split_the_instruments_and_give_the_same_arrays(monkeypatch) -> None:
    monkeypatch.setattr(evaluate_module, "SPLIT_CELLS", 0)  # split even this small panel
    p = _random_panel(n=9)
    exprs = [e for _, e in get_feature_set("Alpha158")] + [
        "Cross(Mean($close, 5), Mean($close, 20))",
        "CrossDown(Mean($close, 5), Mean($close, 20))",
        "Quantile($close, 10, 0.2) - Med($close, 10)",
        "Log($volume / 0) + 1",  # +-inf into windowed kernels
        "Sum(Log($volume / 0), 5)",
        "$close",
        "CSRank($close) + Mean($close, 3)",  # looks across instruments: one thread
    ]
    one = evaluate(exprs, p, cache=None)
    for threads in (2, 3, 20):
        split = evaluate(exprs, p, cache=None, threads=threads)
        for e in exprs:
            assert split[e].tobytes() == one[e].tobytes(), e
            assert split[e].flags.f_contiguous and split[e].dtype == np.float32


def test_cross_and_crossdown_of_the_same_inputs_computed_together_equal_alone() -> None:
    p = _random_panel()
    up, down = "Cross(Mean($close, 3), $open)", "CrossDown(Mean($close, 3), $open)"
    together = evaluate([up, down, f"{up} - {down}"], p, cache=None)
    for e in (up, down):
        alone = evaluate(e, p, cache=None)[e]
        assert together[e].tobytes() == alone.tobytes()
    np.testing.assert_array_equal(together[f"{up} - {down}"], together[up] - together[down])
    assert np.nansum(together[up]) > 0 and np.nansum(together[down]) > 0
    # the sibling is kept with the sub-expressions too: a later evaluation finds it (the
    # only lookup that misses is the new expression's own)
    cache = ExprCache(intermediates=True)
    v = _random_panel(version="v1")
    evaluate([f"{up} + 1", f"{down} + 1"], v, cache=cache)
    misses = cache.misses
    evaluate(f"{down} * 2", v, cache=cache)
    assert cache.misses == misses + 1


def test_outside_life_is_nan_even_for_constant_and_comparison_results() -> None:
    p = _random_panel()
    out = evaluate(["$close > 0", "Not($close)", "If($close > 0, 1, 2)", "1 + 2"], p, cache=None)
    for arr in out.values():
        assert np.isnan(arr[:40, 0]).all() and np.isnan(arr[150:, 2]).all()
        assert not np.isnan(arr[40:, 0]).any()
    assert (out["1 + 2"][40:, 0] == 3).all()
    # a suspension day is in life: comparisons give 0 there, not NaN
    assert (out["$close > 0"][100:104, 1] == 0).all()


def test_cache_is_keyed_by_version_and_shape_and_bounded() -> None:
    cache = ExprCache(max_bytes=10 * 200 * 8 * 4)
    p = _random_panel(version="v1")
    first = evaluate("Mean($close, 5)", p, cache=cache)["Mean($close, 5)"]
    again = evaluate("Mean(  $close,5 )", p, cache=cache)["Mean(  $close,5 )"]
    assert again is first and cache.hits == 1
    assert not first.flags.writeable
    # same version, other rows: a different entry, not a wrong hit
    sub = p.select(start=p.calendar[10])
    part = evaluate("Mean($close, 5)", sub, cache=cache)["Mean($close, 5)"]
    assert part.shape == (190, 8) and cache.hits == 1
    # another version of the data is another key
    other = _random_panel(seed=4, version="v2")
    evaluate("Mean($close, 5)", other, cache=cache)
    assert cache.hits == 1 and len(cache) == 3
    # no version key: nothing stored
    evaluate("Mean($close, 6)", _random_panel(), cache=cache)
    assert len(cache) == 3
    # byte bound: ten arrays fit, the oldest go first
    evaluate([f"Mean($close, {w})" for w in range(7, 20)], p, cache=cache)
    assert cache.nbytes <= cache.max_bytes and len(cache) == 10


def test_evaluate_validates_fields_and_lookahead() -> None:
    p = _random_panel()
    with pytest.raises(ExprError) as info:
        evaluate("Mean($amount, 5)", p, cache=None)
    assert info.value.kind == "unknown_field" and info.value.position == 5
    with pytest.raises(ExprError) as info:
        evaluate(get_feature_set("Alpha158", include_label=True)[-1][1], p, cache=None)
    assert info.value.kind == "lookahead"
    label = evaluate("Ref($close, -2)/Ref($close, -1) - 1", p, allow_future=True, cache=None)
    arr = next(iter(label.values()))
    c = p["close"].astype(np.float32)
    np.testing.assert_allclose(arr[50, 0], c[52, 0] / c[51, 0] - 1, rtol=1e-6)
    assert np.isnan(arr[-2:, 3]).all() and np.isnan(arr[148:150, 2]).all()


def test_feature_sets() -> None:
    a158 = get_feature_set("Alpha158")
    a360 = get_feature_set("Alpha360", include_label=True)
    assert len(a158) == 158 and len({n for n, _ in a158}) == 158
    assert a158[0] == ("KMID", "($close-$open)/$open")
    assert ("RSV5", "($close-Min($low, 5))/(Max($high, 5)-Min($low, 5)+1e-12)") in a158
    assert len(a360) == 361 and a360[-1] == ("LABEL0", "Ref($close, -2)/Ref($close, -1) - 1")
    with pytest.raises(KeyError):
        get_feature_set("Alpha101")
    loader = pytest.importorskip("qlib.contrib.data.loader")
    fields, names = loader.Alpha158DL.get_feature_config()
    assert [n for n, _ in a158] == names and [e for _, e in a158] == fields
    fields, names = loader.Alpha360DL.get_feature_config()
    assert [n for n, _ in a360[:-1]] == names and [e for _, e in a360[:-1]] == fields
