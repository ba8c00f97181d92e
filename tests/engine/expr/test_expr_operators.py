"""Every operator against a hand-computed case, then against pandas on random data.

Tiny panel (see conftest): I0 = [1, 3, NaN, 2, 2, 5] over days 0-5 (NaN = suspension,
kept inside windows), I1 = [-, -, 4, 4, 4, 4] (born day 2, flat), I2 absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.expr import evaluate

NAN = np.nan

# expression -> (I0 over days 0-5, I1 over days 2-5)
HAND: dict[str, tuple[list[float], list[float]]] = {
    "Ref($close, 1)": ([NAN, 1, 3, NAN, 2, 2], [NAN, 4, 4, 4]),
    "Ref($close, 0)": ([1, 1, 1, 1, 1, 1], [4, 4, 4, 4]),
    "Delta($close, 1)": ([NAN, 2, NAN, NAN, 0, 3], [NAN, 0, 0, 0]),
    "Delta($close, 0)": ([0, 2, NAN, 1, 1, 4], [0, 0, 0, 0]),
    "Mean($close, 3)": ([1, 2, 2, 2.5, 2, 3], [4, 4, 4, 4]),
    "Mean($close, 0)": ([1, 2, 2, 2, 2, 13 / 5], [4, 4, 4, 4]),
    "Sum($close, 3)": ([1, 4, 4, 5, 4, 9], [4, 8, 12, 12]),
    "Count($close, 3)": ([1, 2, 2, 2, 2, 3], [1, 2, 3, 3]),
    "Std($close, 3)": ([NAN, 2**0.5, 2**0.5, 0.5**0.5, 0, 3**0.5], [NAN, 0, 0, 0]),
    "Var($close, 3)": ([NAN, 2, 2, 0.5, 0, 3], [NAN, 0, 0, 0]),
    "Max($close, 3)": ([1, 3, 3, 3, 2, 5], [4, 4, 4, 4]),
    "Min($close, 3)": ([1, 1, 1, 2, 2, 2], [4, 4, 4, 4]),
    "IdxMax($close, 3)": ([1, 2, 2, 1, 2, 3], [1, 1, 1, 1]),
    "IdxMin($close, 3)": ([1, 1, 1, 3, 2, 1], [1, 1, 1, 1]),
    "Med($close, 3)": ([1, 2, 2, 2.5, 2, 2], [4, 4, 4, 4]),
    "Quantile($close, 3, 0.8)": ([1, 2.6, 2.6, 2.8, 2, 3.8], [4, 4, 4, 4]),
    "Mad($close, 3)": ([0, 1, 1, 0.5, 0, 4 / 3], [0, 0, 0, 0]),
    "Rank($close, 3)": ([1, 1, NAN, 0.5, 0.75, 1], [1, 0.75, 2 / 3, 2 / 3]),
    "Slope($close, 3)": ([NAN, 2, 2, -0.5, 0, 1.5], [NAN, 0, 0, 0]),
    # flat windows (std <= 2e-5) are NaN, as Qlib masks them
    "Rsquare($close, 3)": ([NAN, 1, 1, 1, NAN, 0.75], [NAN, NAN, NAN, NAN]),
    "Resi($close, 3)": ([NAN, 0, NAN, 0, 0, 0.5], [NAN, 0, 0, 0]),
    # weights 1..k from the window start; Qlib's WMA would be these divided by k again
    "WMA($close, 3)": ([1, 7 / 3, 7 / 3, 9 / 4, 2, 3.5], [4, 4, 4, 4]),
    "EMA($close, 3)": ([1, 7 / 3, 7 / 3, 23 / 11, 55 / 27, 215 / 59], [4, 4, 4, 4]),
    # I1 is flat: skewness and kurtosis are undefined there (NaN, not 0 / -3)
    "Skew($close, 5)": ([NAN, NAN, NAN, 0, 0, 2**0.5], [NAN, NAN, NAN, NAN]),
    "Kurt($close, 5)": ([NAN, NAN, NAN, NAN, 1.5, 1.5], [NAN, NAN, NAN, NAN]),
    # one side flat over its own or the paired days -> NaN
    "Corr($close, $open, 3)": ([NAN, NAN, NAN, NAN, NAN, 0.5], [NAN, NAN, NAN, NAN]),
    "Cov($close, $open, 3)": ([NAN, 0, 0, 0, 0, 0.5], [NAN, 0, 0, 0]),
    "Abs($close - $open)": ([1, 1, NAN, 0, 1, 2], [0, 0, 0, 0]),
    "Sign($close - $open)": ([-1, 1, NAN, 0, -1, 1], [0, 0, 0, 0]),
    "Log($close - 1)": ([-np.inf, np.log(2), NAN, 0, 0, np.log(4)], [np.log(3)] * 4),
    "Power($close, 2)": ([1, 9, NAN, 4, 4, 25], [16] * 4),
    "$close / ($open - 2)": ([np.inf, np.inf, NAN, np.inf, 2, 5], [2] * 4),
    "Greater($close, $open)": ([2, 3, NAN, 2, 3, 5], [4] * 4),
    "Less($close, $open)": ([1, 2, NAN, 2, 2, 3], [4] * 4),
    "$close > $open": ([0, 1, 0, 0, 0, 1], [0] * 4),
    "$close >= $open": ([0, 1, 0, 1, 0, 1], [1] * 4),
    "$close < $open": ([1, 0, 0, 0, 1, 0], [0] * 4),
    "$close <= $open": ([1, 0, 0, 1, 1, 0], [1] * 4),
    "$close == $open": ([0, 0, 0, 1, 0, 0], [1] * 4),
    "$close != $open": ([1, 1, 1, 0, 1, 1], [0] * 4),
    "($close > 1) & ($open > 2)": ([0, 0, 0, 0, 1, 1], [1] * 4),
    "($close > 2) | ($open > 2)": ([0, 1, 0, 0, 1, 1], [1] * 4),
    "Not($close > 2)": ([1, 0, 1, 1, 1, 0], [0] * 4),
    "Not($close - 2)": ([0, 0, 1, 1, 1, 0], [0] * 4),
    "If($close > $open, $close, -$open)": ([-2, 3, -1, -2, -3, 5], [-4] * 4),
    "If($close - 2, 1, 0)": ([1, 1, 0, 0, 0, 1], [1] * 4),
    "Cross($close, $open)": ([0, 1, 0, 0, 0, 1], [0] * 4),
    "CrossDown($close, $open)": ([0, 0, 0, 0, 1, 0], [0] * 4),
}


@pytest.mark.parametrize("expr", list(HAND))
def test_hand_computed(tiny: Panel, expr: str) -> None:
    out = evaluate(expr, tiny, cache=None)[expr]
    assert out.dtype == np.float32 and out.shape == (6, 3) and out.flags.f_contiguous
    want0, want1 = HAND[expr]
    np.testing.assert_allclose(out[:, 0], want0, rtol=2e-6, atol=1e-6, equal_nan=True)
    # I1 does not exist before day 2: NaN there, and its 99s never enter a window
    assert np.isnan(out[:2, 1]).all()
    np.testing.assert_allclose(out[2:, 1], want1, rtol=2e-6, atol=1e-6, equal_nan=True)
    assert np.isnan(out[:, 2]).all()


def test_label_reads_the_future_within_life(tiny: Panel) -> None:
    expr = "Ref($close, -1)"
    out = evaluate(expr, tiny, allow_future=True, cache=None)[expr]
    np.testing.assert_array_equal(out[:, 0], [3, NAN, 2, 2, 5, NAN])
    np.testing.assert_array_equal(out[:, 1], [NAN, NAN, 4, 4, 4, NAN])


def test_cross_sectional_ops(panel_of) -> None:
    # day 0: I0=3, I1=1, I2=3, I3 NaN (exists), I4 absent (value 5 must be ignored)
    p = panel_of(
        {"close": [[3, 1], [1, 2], [3, 3], [NAN, 4], [5, 5]]}, first=[0, 0, 0, 0, 1], last=[1] * 5
    )
    out = evaluate(["CSRank($close)", "CSDemean($close)", "CSZScore($close)"], p, cache=None)
    np.testing.assert_allclose(out["CSRank($close)"][0], [2.5 / 3, 1 / 3, 2.5 / 3, NAN, NAN])
    np.testing.assert_allclose(out["CSRank($close)"][1], [1 / 5, 2 / 5, 3 / 5, 4 / 5, 1])
    np.testing.assert_allclose(
        out["CSDemean($close)"][0], [2 / 3, -4 / 3, 2 / 3, NAN, NAN], rtol=1e-6
    )
    sd = float(np.std([3, 1, 3], ddof=1))
    np.testing.assert_allclose(
        out["CSZScore($close)"][0], [2 / 3 / sd, -4 / 3 / sd, 2 / 3 / sd, NAN, NAN], rtol=1e-6
    )
    # against pandas' own cross-sectional rank on the second day
    ref = pd.Series([1.0, 2, 3, 4, 5]).rank(pct=True).to_numpy()
    np.testing.assert_allclose(out["CSRank($close)"][1], ref)


def test_ema_alpha_and_expanding(tiny: Panel) -> None:
    out = evaluate(["EMA($close, 0.5)", "EMA($close, 0)"], tiny, cache=None)
    # alpha 0.5 is span 3
    np.testing.assert_allclose(out["EMA($close, 0.5)"][:, 0], HAND["EMA($close, 3)"][0], rtol=1e-6)
    # Qlib's expanding EMA on day 1: a = 1 - 2/3, weights [a, 1] / (1 + a)
    a = 1 / 3
    assert out["EMA($close, 0)"][1, 0] == pytest.approx((a * 1 + 3) / (1 + a), rel=1e-6)
    # day 2 (NaN today): weights [a^2, a, 1] with a = 1/2; the NaN day adds weight, no value
    a = 0.5
    want = (a * a * 1 + a * 3) / (a * a + a + 1)
    assert out["EMA($close, 0)"][2, 0] == pytest.approx(want, rel=1e-6)


# --- independent reference: pandas rolling on random data with gaps -------------------

ROLLING_PANDAS = {
    "Mean": lambda r: r.mean(),
    "Sum": lambda r: r.sum(),
    "Std": lambda r: r.std(),
    "Var": lambda r: r.var(),
    "Skew": lambda r: r.skew(),
    "Kurt": lambda r: r.kurt(),
    "Max": lambda r: r.max(),
    "Min": lambda r: r.min(),
    "Med": lambda r: r.median(),
    "Count": lambda r: r.count(),
    "Rank": lambda r: r.rank(pct=True),
}


@pytest.fixture(scope="module")
def noisy() -> Panel:
    rng = np.random.default_rng(7)
    t, n = 120, 6
    close = 50 + np.cumsum(rng.normal(0, 1, (t, n)), axis=0)
    volume = rng.lognormal(10, 1, (t, n))
    close[rng.random((t, n)) < 0.1] = np.nan
    volume[rng.random((t, n)) < 0.1] = np.nan
    close[:30, 1] = np.nan
    volume[:30, 1] = np.nan
    close[:10, 2] = 3.0  # a flat stretch
    p = Panel.from_arrays(
        np.arange(t).astype("datetime64[D]"), list("ABCDEF"), {"close": close, "volume": volume}
    )
    return p


def _pandas_per_instrument(p: Panel, fn, *cols: str) -> np.ndarray:
    out = np.full(p.shape, np.nan)
    for j in range(p.shape[1]):
        f, l_ = p.first[j], p.last[j]
        series = [pd.Series(p[c][f : l_ + 1, j].astype(np.float32)) for c in cols]
        out[f : l_ + 1, j] = fn(*series)
    return out


def _flat_windows(p: Panel, window: int) -> np.ndarray:
    """True where a window's valid values are all equal (pandas-version independent)."""
    return _pandas_per_instrument(
        p,
        lambda s: s.rolling(window, min_periods=1).max() == s.rolling(window, 1).min(),
        "close",
    ).astype(bool)


@pytest.mark.parametrize("op", list(ROLLING_PANDAS))
@pytest.mark.parametrize("window", [5, 20])
def test_rolling_matches_pandas(noisy: Panel, op: str, window: int) -> None:
    expr = f"{op}($close, {window})"
    got = evaluate(expr, noisy, cache=None)[expr]
    want = _pandas_per_instrument(
        noisy, lambda s: ROLLING_PANDAS[op](s.rolling(window, min_periods=1)), "close"
    )
    if op in ("Skew", "Kurt"):
        # undefined on a flat window: NaN here whatever the installed pandas returns
        flat = _flat_windows(noisy, window)
        assert flat.any()
        want[flat] = np.nan
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-5, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("q", [0.2, 0.8])
def test_quantile_matches_pandas(noisy: Panel, q: float) -> None:
    expr = f"Quantile($close, 10, {q})"
    got = evaluate(expr, noisy, cache=None)[expr]
    want = _pandas_per_instrument(
        noisy, lambda s: s.rolling(10, min_periods=1).quantile(q), "close"
    )
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)


def test_expanding_matches_pandas(noisy: Panel) -> None:
    got = evaluate(["Mean($close, 0)", "Std($close, 0)", "Max($close, 0)"], noisy, cache=None)
    for op, fn in [("Mean", "mean"), ("Std", "std"), ("Max", "max")]:
        want = _pandas_per_instrument(
            noisy, lambda s, fn=fn: getattr(s.expanding(min_periods=1), fn)(), "close"
        )
        np.testing.assert_allclose(got[f"{op}($close, 0)"], want, rtol=2e-5, equal_nan=True)


def test_pair_rolling_matches_pandas(noisy: Panel) -> None:
    got = evaluate(["Corr($close, $volume, 10)", "Cov($close, $volume, 10)"], noisy, cache=None)
    cov = _pandas_per_instrument(
        noisy, lambda a, b: a.rolling(10, min_periods=1).cov(b), "close", "volume"
    )
    corr = _pandas_per_instrument(
        noisy, lambda a, b: a.rolling(10, min_periods=1).corr(b), "close", "volume"
    )
    flat = _pandas_per_instrument(
        noisy, lambda a: np.isclose(a.rolling(10, min_periods=1).std(), 0, atol=2e-5), "close"
    )
    corr[flat == 1] = np.nan  # Qlib's mask
    np.testing.assert_allclose(
        got["Cov($close, $volume, 10)"], cov, rtol=1e-4, atol=1e-6, equal_nan=True
    )
    np.testing.assert_allclose(
        got["Corr($close, $volume, 10)"], corr, rtol=1e-4, atol=1e-6, equal_nan=True
    )
    assert np.isnan(got["Corr($close, $volume, 10)"][:10, 2]).all()  # the flat stretch


def test_ema_matches_pandas_ewm(noisy: Panel) -> None:
    got = evaluate(["EMA($close, 10)", "EMA($close, 0.2)"], noisy, cache=None)
    span = _pandas_per_instrument(noisy, lambda s: s.ewm(span=10, min_periods=1).mean(), "close")
    alpha = _pandas_per_instrument(noisy, lambda s: s.ewm(alpha=0.2, min_periods=1).mean(), "close")
    np.testing.assert_allclose(got["EMA($close, 10)"], span, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(got["EMA($close, 0.2)"], alpha, rtol=1e-6, equal_nan=True)


def test_slope_matches_numpy_polyfit_with_gaps(noisy: Panel) -> None:
    got = evaluate(
        ["Slope($close, 10)", "Rsquare($close, 10)", "Resi($close, 10)"], noisy, cache=None
    )
    x = noisy["close"][:, 0].astype(np.float32).astype(np.float64)  # what the engine sees
    for t in range(15, 60):
        days = np.arange(t - 9, t + 1)
        ok = ~np.isnan(x[days])
        k, b = np.polyfit(days[ok], x[days][ok], 1)
        r = np.corrcoef(days[ok], x[days][ok])[0, 1]
        assert got["Slope($close, 10)"][t, 0] == pytest.approx(k, rel=1e-5)
        assert got["Rsquare($close, 10)"][t, 0] == pytest.approx(r * r, rel=1e-5)
        if ok[-1]:
            assert got["Resi($close, 10)"][t, 0] == pytest.approx(x[t] - (k * t + b), abs=1e-4)
        else:
            assert np.isnan(got["Resi($close, 10)"][t, 0])


def test_cross_kernels_match_numpy_on_edge_cases() -> None:
    """``cross_nb`` and ``crosses_nb`` against the definition, on ties, NaN, +-inf, late
    listings, a one-day life and an absent instrument."""
    from quantlab.engine.expr.cross_nb import cross_nb, crosses_nb

    rng = np.random.default_rng(4)
    n, t_len = 9, 70
    a = rng.integers(0, 4, (n, t_len)).astype(np.float32)  # small integers: many ties
    b = rng.integers(0, 4, (n, t_len)).astype(np.float32)
    a[rng.random(a.shape) < 0.1] = np.nan
    b[rng.random(b.shape) < 0.05] = np.inf
    a[rng.random(a.shape) < 0.05] = -np.inf
    first = np.array([0, 0, 5, 30, 69, -1, 10, 0, 3], dtype=np.int64)
    last = np.array([69, 40, 69, 30, 69, -1, 11, 1, 68], dtype=np.int64)
    for up in (True, False):
        want = np.full((n, t_len), np.nan, dtype=np.float32)
        now = a[:, 1:] > b[:, 1:] if up else a[:, 1:] < b[:, 1:]
        before = a[:, :-1] <= b[:, :-1] if up else a[:, :-1] >= b[:, :-1]
        for j in range(n):
            if first[j] >= 0:
                want[j, first[j]] = 0.0
                days = slice(first[j] + 1, last[j] + 1)
                want[j, days] = (now & before)[j, first[j] : last[j]]
        np.testing.assert_array_equal(cross_nb(a, b, first, last, up), want)
        np.testing.assert_array_equal(crosses_nb(a, b, first, last)[0 if up else 1], want)
