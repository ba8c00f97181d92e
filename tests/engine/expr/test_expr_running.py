"""The running-window kernels (Slope/Rsquare/Resi, Skew/Kurt) and Count with +-inf.

Hand-computed cases cross a rebuild of the running sums (every ``window`` days), hold NaN
inside windows and start after the first day of the panel (start of life); the random
cases compare with numpy's polyfit and scipy's bias-corrected moments over long series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantlab.engine.data import Panel
from quantlab.engine.expr import evaluate

NAN = np.nan
INF = np.inf

# I0 is born on day 1; day 3 is a suspension. Window 4: rebuilds on days 1 and 5.
SERIES = [[99, 2, 4, NAN, 8, 7, 7, 7, 7]]

HAND = {
    # day:          0    1    2    3    4     5       6     7     8
    "Slope($close, 4)": [NAN, NAN, 2, 2, 2, 8 / 7, -0.5, -0.3, 0],
    # collinear (1,2),(2,4),(4,8) -> 1; day 5: (48/9)^2 / (42/9 * 78/9); day 8 flat -> NaN
    "Rsquare($close, 4)": [NAN, NAN, 1, 1, 1, 64 / 91, 0.75, 0.6, NAN],
    # NaN today -> NaN; day 5: 7 - (19/3 + 8/7 * 4/3) = -6/7
    "Resi($close, 4)": [NAN, NAN, 0, NAN, 0, -6 / 7, 1 / 6, 0.2, 0],
}


def _skew(values: list[float]) -> float:
    """Adjusted Fisher-Pearson skewness written out: sqrt(n(n-1))/(n-2) * m3 / m2^1.5."""
    v = np.array(values, dtype=float)
    n, d = len(v), v - v.mean()
    m2, m3 = (d**2).mean(), (d**3).mean()
    return float(np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5)


def _kurt(values: list[float]) -> float:
    """Bias-corrected excess kurtosis written out (pandas' / Excel's formula)."""
    v = np.array(values, dtype=float)
    n, d = len(v), v - v.mean()
    m2, m4 = (d**2).mean(), (d**4).mean()
    return float(((n + 1) * m4 / m2**2 - 3 * (n - 1)) * (n - 1) / ((n - 2) * (n - 3)))


def test_hand_skew_formula() -> None:
    # 2, 4, 8: mean 14/3, deviations -8/3, -2/3, 10/3 -> m2 = 56/9, m3 = 160/27
    want = np.sqrt(6) * (160 / 27) / (56 / 9) ** 1.5
    assert _skew([2, 4, 8]) == pytest.approx(want, rel=1e-12)
    # 8, 7, 7, 7: deviations 0.75, -0.25 x3 -> m2 = 0.1875, m4 = 0.08203125
    want_k = (5 * 0.08203125 / 0.1875**2 - 9) * 3 / 2
    assert _kurt([8, 7, 7, 7]) == pytest.approx(want_k, rel=1e-12)


@pytest.fixture
def life(panel_of) -> Panel:
    return panel_of({"close": SERIES}, first=[1], last=[8])


@pytest.mark.parametrize("expr", list(HAND))
def test_regression_hand(life: Panel, expr: str) -> None:
    got = evaluate(expr, life, cache=None)[expr][:, 0]
    np.testing.assert_allclose(got, HAND[expr], rtol=1e-6, atol=1e-6, equal_nan=True)


def test_moments_hand(life: Panel) -> None:
    out = evaluate(["Skew($close, 4)", "Kurt($close, 5)"], life, cache=None)
    skew, kurt = out["Skew($close, 4)"][:, 0], out["Kurt($close, 5)"][:, 0]
    want_skew = [NAN, NAN, NAN, NAN, _skew([2, 4, 8]), _skew([4, 8, 7])]
    want_skew += [_skew([8, 7, 7]), _skew([8, 7, 7, 7]), NAN]  # day 8: 7, 7, 7, 7 is flat
    np.testing.assert_allclose(skew, want_skew, rtol=1e-5, equal_nan=True)
    # window 5 (Kurt's least): rebuilds on days 1 and 6
    want_kurt = [NAN] * 5 + [_kurt([2, 4, 8, 7]), _kurt([4, 8, 7, 7]), _kurt([8, 7, 7, 7])]
    want_kurt += [_kurt([8, 7, 7, 7, 7])]
    np.testing.assert_allclose(kurt, want_kurt, rtol=1e-5, equal_nan=True)


def test_flat_window_is_nan_also_when_expanding(panel_of) -> None:
    p = panel_of({"close": [[5, 5, 5, 5, 5, 6]]}, first=[0], last=[5])
    out = evaluate(["Skew($close, 0)", "Kurt($close, 0)", "Skew($close, 3)"], p, cache=None)
    assert np.isnan(out["Skew($close, 0)"][:5, 0]).all()
    assert np.isnan(out["Kurt($close, 0)"][:5, 0]).all()
    assert out["Skew($close, 0)"][5, 0] == pytest.approx(_skew([5, 5, 5, 5, 5, 6]), rel=1e-5)
    assert out["Kurt($close, 0)"][5, 0] == pytest.approx(_kurt([5, 5, 5, 5, 5, 6]), rel=1e-5)
    assert out["Skew($close, 3)"][5, 0] == pytest.approx(_skew([5, 5, 6]), rel=1e-5)


def test_infinity_in_a_regression_window(panel_of) -> None:
    p = panel_of({"close": [[1, 2, INF, 4, 5, 6, 7]]}, first=[0], last=[6])
    got = evaluate("Slope($close, 3)", p, cache=None)["Slope($close, 3)"][:, 0]
    # windows holding day 2's +inf are undefined; afterwards the slope is 1 again
    np.testing.assert_allclose(got, [NAN, 1, NAN, NAN, NAN, 1, 1], equal_nan=True)


def test_count_counts_infinity(panel_of) -> None:
    p = panel_of({"close": [[1, INF, NAN, -INF, 2]]}, first=[0], last=[4])
    got = evaluate(["Count($close, 3)", "Mean($close, 3)"], p, cache=None)
    np.testing.assert_array_equal(got["Count($close, 3)"][:, 0], [1, 2, 2, 2, 2])
    # other windowed ops still treat +-inf as missing (pandas' rolling does)
    np.testing.assert_array_equal(got["Mean($close, 3)"][:, 0], [1, 1, 1, NAN, 2])


# --- long random series: rebuilds, gaps, births, large offsets ---------------------------


@pytest.fixture(scope="module")
def long_panel() -> Panel:
    rng = np.random.default_rng(11)
    t, n = 400, 4
    close = np.empty((t, n))
    close[:, 0] = 50 + np.cumsum(rng.normal(0, 1, t))
    close[:, 1] = 1e4 + np.cumsum(rng.normal(0, 0.01, t))  # big level, tiny moves
    close[:, 2] = rng.lognormal(16, 1, t)  # volume-like magnitudes
    close[:, 3] = 20 + rng.normal(0, 1, t)
    close[rng.random((t, n)) < 0.08] = NAN
    close[:45, 3] = NAN  # born late
    close[200:270, 0] = 51.25  # a flat stretch longer than the window
    return Panel.from_arrays(np.arange(t).astype("datetime64[D]"), list("ABCD"), {"close": close})


def _per_window(p: Panel, window: int, fn) -> np.ndarray:
    x = p["close"].astype(np.float32).astype(np.float64)
    out = np.full(p.shape, NAN)
    for j in range(p.shape[1]):
        f, l_ = int(p.first[j]), int(p.last[j])
        for t in range(f, l_ + 1):
            days = np.arange(max(f, t - window + 1), t + 1)
            ok = ~np.isnan(x[days, j])
            out[t, j] = fn(days[ok], x[days[ok], j], x[t, j])
    return out


def _fit(days: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    k, b = np.polyfit(days.astype(float), y, 1)
    return k, b


@pytest.mark.parametrize("window", [5, 20, 60])
def test_regression_matches_polyfit(long_panel: Panel, window: int) -> None:
    names = [f"{op}($close, {window})" for op in ("Slope", "Rsquare", "Resi")]
    got = evaluate(names, long_panel, cache=None)

    def slope(d, y, _today):
        return _fit(d, y)[0] if len(y) >= 2 else NAN

    def rsq(d, y, _today):
        if len(y) < 2 or np.std(y, ddof=1) <= 2e-5:
            return NAN
        return np.corrcoef(d, y)[0, 1] ** 2

    def resi(d, y, today):
        if len(y) < 2 or np.isnan(today):
            return NAN
        k, b = _fit(d, y)
        return today - (k * d[-1] + b)

    level = np.nanmax(np.abs(long_panel["close"]), axis=0)  # per instrument
    for name, fn in zip(names, (slope, rsq, resi), strict=True):
        want = _per_window(long_panel, window, fn)
        for j in range(long_panel.shape[1]):
            # float32 results: relative 2e-5 as for Qlib, absolute scaled by the level
            atol = 1e-5 if name.startswith("Rsquare") else 1e-6 * level[j]
            np.testing.assert_allclose(
                got[name][:, j], want[:, j], rtol=2e-5, atol=atol, equal_nan=True, err_msg=name
            )


@pytest.mark.parametrize("window", [5, 20, 60])
def test_moments_match_scipy(long_panel: Panel, window: int) -> None:
    got = evaluate([f"Skew($close, {window})", f"Kurt($close, {window})"], long_panel, cache=None)

    def flat(y):
        return len(y) and y.max() == y.min()

    def sk(_d, y, _t):
        return NAN if len(y) < 3 or flat(y) else stats.skew(y, bias=False)

    def ku(_d, y, _t):
        return NAN if len(y) < 4 or flat(y) else stats.kurtosis(y, bias=False)

    want_s = _per_window(long_panel, window, sk)
    want_k = _per_window(long_panel, window, ku)
    flat_days = slice(200 + window - 1, 270)  # windows inside the flat stretch
    assert np.isnan(got[f"Skew($close, {window})"][flat_days, 0]).all()
    assert np.isnan(got[f"Kurt($close, {window})"][flat_days, 0]).all()
    np.testing.assert_allclose(
        got[f"Skew($close, {window})"], want_s, rtol=1e-4, atol=1e-5, equal_nan=True
    )
    np.testing.assert_allclose(
        got[f"Kurt($close, {window})"], want_k, rtol=1e-4, atol=1e-4, equal_nan=True
    )


@pytest.mark.realdata
def test_count_of_log_volume_change_matches_pandas_on_csi300(realdata: Path) -> None:
    from quantlab.engine.data.qlib_bin import read_qlib

    src = realdata / "qlib" / "cn_data_csi300_sample"
    stocks = sorted(
        p.name for p in (src / "features").iterdir() if p.name[:4] not in ("SH00", "SH51", "SZ39")
    )
    panel = read_qlib(src, instruments=stocks, fields=["volume"], start="2008-01-01")
    change = "Log($volume/Ref($volume, 1))"
    exprs = [change, f"Count({change}, 20)", f"Count({change}, 60)"]
    out = evaluate(exprs, panel, cache=None)
    x = out[change]
    assert np.isinf(x).sum() > 100  # volume going from or to 0 around suspensions
    for window in (20, 60):
        got = out[f"Count({change}, {window})"]
        want = np.full(panel.shape, NAN)
        for j in range(panel.shape[1]):
            f, l_ = int(panel.first[j]), int(panel.last[j])
            if f < 0:
                continue
            s = pd.Series(x[f : l_ + 1, j].astype(np.float64))
            want[f : l_ + 1, j] = s.rolling(window, min_periods=1).count()
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_order_statistics_computed_together_equal_alone_and_pandas(long_panel: Panel) -> None:
    exprs = [
        "Rank($close, 10)",
        "Quantile($close, 10, 0.2)",
        "Quantile($close, 10, 0.8)",
        "Med($close, 10)",
        "Quantile($close, 10, 0.5)",
        "Rank($close, 5)",
    ]
    together = evaluate(exprs, long_panel, cache=None)
    for e in exprs:
        alone = evaluate(e, long_panel, cache=None)[e]
        np.testing.assert_array_equal(together[e], alone, err_msg=e)
    x = long_panel["close"].astype(np.float32).astype(np.float64)
    for e, fn in [
        ("Rank($close, 10)", lambda r: r.rank(pct=True)),
        ("Quantile($close, 10, 0.8)", lambda r: r.quantile(0.8)),
        ("Med($close, 10)", lambda r: r.median()),
    ]:
        want = np.full(long_panel.shape, NAN)
        for j in range(long_panel.shape[1]):
            f, l_ = int(long_panel.first[j]), int(long_panel.last[j])
            want[f : l_ + 1, j] = fn(pd.Series(x[f : l_ + 1, j]).rolling(10, min_periods=1))
        if e.startswith("Rank"):
            want[np.isnan(x)] = NAN  # today missing: no rank
        np.testing.assert_allclose(together[e], want, rtol=1e-6, equal_nan=True, err_msg=e)


@pytest.mark.parametrize("window", [0, 3, 10])
def test_families_computed_together_equal_alone(long_panel: Panel, window: int) -> None:
    # one pass serves Max and IdxMax (Min and IdxMin, the regression's three outputs)
    # of the same input and window; each must equal its own evaluation
    x = "$close/Ref($close, 1)"  # holds +-inf where close was 0 the day before
    exprs = [
        f"{op}({arg}, {window})"
        for arg in ("$close", x)
        for op in ("Max", "IdxMax", "Min", "IdxMin", "Slope", "Rsquare", "Resi")
    ] + [f"IdxMax($close, {window + 2})", f"Slope($close, {window + 2})"]
    p = Panel.from_arrays(
        long_panel.calendar,
        list(long_panel.instruments),
        {"close": np.where(np.arange(400)[:, None] % 97 == 5, 0.0, long_panel["close"])},
    )
    together = evaluate(exprs, p, cache=None)
    assert np.isinf(evaluate(x, p, cache=None)[x]).any()
    for e in exprs:
        alone = evaluate(e, p, cache=None)[e]
        np.testing.assert_array_equal(together[e], alone, err_msg=e)
        assert np.isfinite(alone).any(), e  # (an expanding window holding +-inf is NaN)


@pytest.mark.parametrize("window", [0, 5, 20])
def test_pair_windows_with_one_sided_gaps_match_float64(window: int) -> None:
    # long stretches where both inputs are valid (the own sums ride on the paired ones),
    # then days missing on one side only, a spread collapsing 1e8-fold (the paired sums
    # are re-added) and a flat stretch of one input (Qlib's mask)
    rng = np.random.default_rng(5)
    t = 360
    x = 50 + np.cumsum(rng.normal(0, 1, (t, 3)), axis=0)
    y = 10 + rng.normal(0, 1, (t, 3))
    x[150:360:7, 0] = NAN
    y[200:360:11, 0] = NAN
    y[100:, 1] = 10 + rng.normal(0, 1e-7, t - 100).round(9)
    x[240:300, 2] = 42.0
    x[np.arange(t) % 13 == 3, 2] = NAN
    y[np.arange(t) % 17 == 4, 2] = NAN
    fields = {"close": x, "open": y}
    p = Panel.from_arrays(np.arange(t).astype("datetime64[D]"), list("ABC"), fields)
    got = evaluate(
        [f"Corr($close, $open, {window})", f"Cov($close, $open, {window})"], p, cache=None
    )
    a = x.astype(np.float32).astype(np.float64)
    b = y.astype(np.float32).astype(np.float64)
    corr = np.full((t, 3), NAN)
    cov = np.full((t, 3), NAN)
    for j in range(3):
        for d in range(t):
            days = np.arange(max(0, d - window + 1) if window else 0, d + 1)
            xa, yb = a[days, j], b[days, j]
            both = ~np.isnan(xa) & ~np.isnan(yb)
            if both.sum() < 2:
                continue
            cov[d, j] = np.cov(xa[both], yb[both])[0, 1]
            own = [v[~np.isnan(v)] for v in (xa, yb)]
            if any(len(v) >= 2 and np.std(v, ddof=1) <= 2e-5 for v in own):
                continue  # Qlib's flat mask, on each input's own valid values
            corr[d, j] = np.corrcoef(xa[both], yb[both])[0, 1]
    if window:  # windows inside C's flat stretch
        assert np.isnan(got[f"Corr($close, $open, {window})"][260:300, 2]).all()
    np.testing.assert_allclose(
        got[f"Cov($close, $open, {window})"], cov, rtol=1e-4, atol=1e-9, equal_nan=True
    )
    np.testing.assert_allclose(
        got[f"Corr($close, $open, {window})"], corr, rtol=1e-4, atol=1e-5, equal_nan=True
    )


@pytest.mark.parametrize("window", [0, 1, 2, 5, 7])
def test_extremes_match_a_scan_of_each_window(window: int) -> None:
    # ties (the earlier day wins, -0.0 and 0.0 included), NaN runs longer than the window,
    # +-inf, a flat life, a late birth, a life shorter than the window, one never born
    from quantlab.engine.expr.rolling_nb import extremes_nb

    rng = np.random.default_rng(9)
    t = 60
    x = rng.integers(-3, 4, (6, t)).astype(np.float32)  # small integers: many ties
    x[0, 10:20] = NAN
    x[0, 30] = np.inf
    x[0, 41] = -np.inf
    x[1, rng.random(t) < 0.3] = NAN
    x[2, :] = 4.0  # flat
    x[3, ::3] = -0.0
    x[3, 1::3] = 0.0
    first = np.array([0, 0, 0, 5, 50, -1], dtype=np.int64)
    last = np.array([59, 59, 59, 59, 53, -1], dtype=np.int64)
    for want_max in (True, False):
        values, index = extremes_nb(x, first, last, window, want_max, True, True)
        for j in range(6):
            for d in range(t):
                f, l_ = first[j], last[j]
                want_v, want_i = NAN, NAN
                if f >= 0 and f <= d <= l_:
                    lo = f if window == 0 else max(f, d - window + 1)
                    w = x[j, lo : d + 1].astype(np.float64)
                    ok = np.flatnonzero(~np.isnan(w))
                    if len(ok):
                        best = w[ok].max() if want_max else w[ok].min()
                        at = ok[np.flatnonzero(w[ok] == best)[0]]  # first occurrence
                        want_v, want_i = w[at], at + 1
                np.testing.assert_array_equal(values[j, d], want_v, err_msg=f"{j} {d}")
                np.testing.assert_array_equal(index[j, d], want_i, err_msg=f"{j} {d}")
                if want_v == 0:  # the sign of zero is the first occurrence's
                    assert np.signbit(values[j, d]) == np.signbit(want_v), (j, d)


# --- numerically hard windows: large levels, moves of a few float32 steps, gaps, flats ----


@pytest.fixture(scope="module")
def hard_panel() -> Panel:
    """Prices whose moves are a few float32 steps of their level: 1e4 (step 2**-10), 100
    (step 2**-17, so a window's std is below Qlib's 2e-5 flat test) and 1e6 (step 1/16),
    with NaN gaps, a late birth and flat stretches longer than the windows."""
    rng = np.random.default_rng(23)
    t = 300
    steps = rng.integers(-2, 3, (t, 3)).cumsum(axis=0).astype(np.float64)
    close = np.empty((t, 3))
    close[:, 0] = 1e4 + steps[:, 0] * 2.0**-10
    close[:, 1] = 100 + np.abs(steps[:, 1]) % 3 * 2.0**-17
    close[:, 2] = 1e6 + steps[:, 2] / 16
    close[rng.random((t, 3)) < 0.1] = NAN
    close[120:190, 0] = close[119, 0] if not np.isnan(close[119, 0]) else 1e4
    close[200:260, 2] = 1e6
    close[:30, 1] = NAN  # born late
    assert np.array_equal(close, close.astype(np.float32).astype(np.float64), equal_nan=True)
    return Panel.from_arrays(np.arange(t).astype("datetime64[D]"), list("XYZ"), {"close": close})


@pytest.mark.parametrize("window", [5, 20, 60])
def test_hard_windows_match_float64_references(hard_panel: Panel, window: int) -> None:
    ops = ("Slope", "Rsquare", "Resi", "Skew", "Kurt")
    names = [f"{op}($close, {window})" for op in ops] + [f"Quantile($close, {window}, 0.8)"]
    got = evaluate(names, hard_panel, cache=None)

    def flat(y):
        return len(y) == 0 or y.max() == y.min()

    def slope(d, y, _t):
        return _fit(d, y - y.mean())[0] if len(y) >= 2 else NAN

    def rsq(d, y, _t):
        if len(y) < 2 or np.std(y, ddof=1) <= 2e-5:
            return NAN  # Qlib's flat-window rule
        return np.corrcoef(d, y)[0, 1] ** 2

    def resi(d, y, today):
        if len(y) < 2 or np.isnan(today):
            return NAN
        k, b = _fit(d, y - y[0])  # centred: polyfit keeps its digits
        return (today - y[0]) - (k * d[-1] + b)

    def sk(_d, y, _t):
        return NAN if len(y) < 3 or flat(y) else stats.skew(y, bias=False)

    def ku(_d, y, _t):
        return NAN if len(y) < 4 or flat(y) else stats.kurtosis(y, bias=False)

    def q80(_d, y, _t):
        return pd.Series(y).quantile(0.8) if len(y) else NAN

    step = np.array([2.0**-10, 2.0**-17, 1 / 16])  # each instrument's float32 step
    for name, fn in zip(names, (slope, rsq, resi, sk, ku, q80), strict=True):
        want = _per_window(hard_panel, window, fn)
        g = got[name]
        # defined exactly where the reference is (flat windows NaN, Rsquare's 2e-5 rule)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(want), err_msg=name)
        for j in range(3):
            if name.startswith(("Slope", "Resi")):
                atol = 1e-3 * step[j]  # a thousandth of one price step
            elif name.startswith("Quantile"):
                atol = 0.0
            else:
                atol = 1e-4
            np.testing.assert_allclose(
                g[:, j], want[:, j], rtol=2e-5 if atol else 1e-7, atol=atol, equal_nan=True,
                err_msg=f"{name} {'XYZ'[j]}",
            )  # fmt: skip
    # the flat stretches: undefined moments and R^2, zero slope, a quantile equal to the price
    inside = slice(120 + window - 1, 190)
    for op in ("Rsquare", "Skew", "Kurt"):
        assert np.isnan(got[f"{op}($close, {window})"][inside, 0]).all(), op
    assert (got[f"Slope($close, {window})"][inside, 0] == 0).all()
