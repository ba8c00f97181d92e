"""Speed without drift: ``run_batch`` over a crossover grid equals each pair's own
``engine.run`` to the bit (threads or not), the per-column signals kernel equals the
general one, and sub-expressions kept in a batch's cache give the same values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.engine.backtest._simkit import bdays

from quantlab import engine
from quantlab.engine import expr
from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.crossings import CrossingOutputs, Crossings
from quantlab.engine.backtest.enums import PortfolioMode, PriceMode, SizingMode
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals
from quantlab.engine.data import Panel
from quantlab.engine.spec import RunSpec, apply_variant

ENTRY = "Cross(Mean($close, {fast}), Mean($close, {slow}))"
EXIT = "CrossDown(Mean($close, {fast}), Mean($close, {slow}))"
PAIRS = [(f, s) for f in (3, 5, 10) for s in (12, 20) if f < s]


def _panel(n: int = 24, t_len: int = 320, seed: int = 3) -> Panel:
    """Seeded random walks with gaps: a late listing, a suspension, zero-volume days."""
    rng = np.random.default_rng(seed)
    close = np.round(15 * np.exp(np.cumsum(rng.normal(0.0003, 0.025, (t_len, n)), axis=0)), 2)
    open_ = np.round(close * np.exp(rng.normal(0, 0.01, (t_len, n))), 2)
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    volume = rng.lognormal(12, 1, (t_len, n))
    volume[rng.random((t_len, n)) < 0.02] = 0.0
    for a in (close, open_, high, low, volume):
        a[:40, 1] = np.nan  # listed late
        a[100:110, 2] = np.nan  # suspended
    codes = [f"{600000 + j:06d}" for j in range(n)]
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return Panel.from_arrays(bdays("2021-01-04", t_len), codes, fields)


def _spec(preset: str, portfolio: str, sizing: dict[str, Any]) -> RunSpec:
    return RunSpec.model_validate(
        {
            "dataset_id": "synthetic",
            "initial_capital": 50_000,
            "preset": preset,
            "costs": {"commission_rate": 0.0007},
            "execution": {"portfolio": portfolio},
            "parameters": {"fast": 5, "slow": 20},
            "strategy": {"kind": "signals", "entry": ENTRY, "exit": EXIT, "sizing": sizing},
        }
    )


def _same(got: engine.RunResult, want: engine.RunResult) -> None:
    assert got.metrics == want.metrics
    assert got.summary == want.summary
    pd.testing.assert_frame_equal(got.series, want.series, check_exact=True)
    a, b = got.simulation, want.simulation
    for name in ("equity", "cash", "positions"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in vars(a.trades):
        np.testing.assert_array_equal(getattr(a.trades, name), getattr(b.trades, name))
    for name in vars(a.rejections):
        np.testing.assert_array_equal(getattr(a.rejections, name), getattr(b.rejections, name))


@pytest.mark.parametrize(
    ("preset", "portfolio", "sizing"),
    [
        ("rules_off", "per_column", {"mode": "fixed_fraction", "fraction": 1.0}),
        ("cn_a_share", "per_column", {"mode": "fixed_fraction", "fraction": 0.5}),
        ("cn_a_share", "shared", {"mode": "equal"}),
    ],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_every_pair_of_a_batch_equals_its_single_run(
    preset: str, portfolio: str, sizing: dict[str, Any], workers: int
) -> None:
    panel = _panel()
    spec = _spec(preset, portfolio, sizing)
    variants = [{"fast": f, "slow": s} for f, s in PAIRS]
    batch = list(engine.run_batch(spec, variants, panel, workers=workers))
    assert [r.spec.parameters for r in batch] == variants
    assert len({r.metrics["total_return"] for r in batch}) == len(variants)  # pairs differ
    assert sum(len(r.trades) for r in batch) > 100
    for variant, got in zip(variants, batch, strict=True):
        # a batch without diagnostics runs lean: its metrics and series come from the sums
        # the kernel adds up day by day; equity, cash and positions are replayed when read
        assert got.state.lean and got.state.positions.size == 0
        assert not got.simulation.daily.held
        # crossover variants read their crossings from the shared moving averages (the
        # column kernel) or build the boolean panels from them (the shared portfolio)
        assert isinstance(got.outputs, CrossingOutputs)
        single = engine.run(apply_variant(spec, variant), panel, diagnostics=False)
        _same(got, single)
        assert got.simulation.daily.held
        assert list(got.outputs) == list(single.outputs)
        for path, values in single.outputs.items():
            np.testing.assert_array_equal(got.outputs[path], values)
            assert got.outputs[path].dtype == values.dtype


def test_a_batch_keeps_results_in_order_and_raises_at_the_bad_variant() -> None:
    panel = _panel(n=6, t_len=120)
    spec = _spec("rules_off", "per_column", {"mode": "fixed_fraction", "fraction": 1.0})
    variants = [{"fast": 3, "slow": 12}, {"fast": 5, "slow": 20},
                {"/strategy/entry": "Mean($nope, 3) > 1"}, {"fast": 10, "slow": 20}]  # fmt: skip
    results = engine.run_batch(spec, variants, panel, workers=2)
    assert next(results).spec.parameters == {"fast": 3, "slow": 12}
    assert next(results).spec.parameters == {"fast": 5, "slow": 20}
    with pytest.raises(engine.SpecError, match="unknown field"):
        next(results)


def _signals(panel: Panel, seed: int) -> Signals:
    rng = np.random.default_rng(seed)
    shape = panel.shape
    return Signals(rng.random(shape) < 0.08, rng.random(shape) < 0.08)


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # cn_a_share: lots, T+1, price limits, stamp tax, minimum commission
        {"execution__price": PriceMode.CLOSE, "sizing__mode": SizingMode.FIXED_FRACTION,
         "sizing__fraction": 0.3},
        {"sizing__mode": SizingMode.EQUAL, "sizing__max_holdings": 1},
        {"sizing__mode": SizingMode.FIXED_AMOUNT, "sizing__amount": 4_000.0,
         "sizing__per_stock_cap": 0.2},
        {"sizing__mode": SizingMode.VOL_TARGET, "sizing__vol_target": 0.15},
        {"execution__price": PriceMode.NEXT_VWAP, "rules__lot_size": 0.0,
         "costs__slippage_value": 0.002},
    ],
)  # fmt: skip
def test_the_column_kernel_equals_the_general_kernel(overrides: dict[str, Any]) -> None:
    panel = _panel(n=12, t_len=260, seed=11)
    config = BacktestConfig().replace(
        execution__portfolio=PortfolioMode.PER_COLUMN, execution__init_cash=30_000.0,
        **overrides,
    )  # fmt: skip
    fast = Simulator(panel, _signals(panel, 5), config)
    assert fast._columns
    slow = Simulator(panel, _signals(panel, 5), config)
    slow._columns = False
    a, b = fast.run(chunk_days=37), slow.run(chunk_days=37)
    assert len(a.trades) > 50
    for name in ("equity", "cash", "positions"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in vars(a.trades):
        np.testing.assert_array_equal(getattr(a.trades, name), getattr(b.trades, name))
    for name in vars(a.rejections):
        np.testing.assert_array_equal(getattr(a.rejections, name), getattr(b.rejections, name))


def test_a_shared_portfolio_or_stops_take_the_general_kernel() -> None:
    panel = _panel(n=4, t_len=60)
    shared = BacktestConfig()
    assert not Simulator(panel, _signals(panel, 1), shared)._columns
    stops = shared.replace(
        execution__portfolio=PortfolioMode.PER_COLUMN,
        execution__stop_loss="percent",
        execution__stop_loss_value=0.05,
    )
    assert not Simulator(panel, _signals(panel, 1), stops)._columns


def test_kept_sub_expressions_give_the_values_of_a_fresh_evaluation() -> None:
    panel = _panel(n=8, t_len=200)
    panel = Panel.from_arrays(panel.calendar, list(panel.instruments), dict(panel.fields),
                              meta={"version_key": "kept"})  # fmt: skip
    texts = ["Cross(Mean($close, 5), Mean($close, 20))", "Mean($close, 5) / Mean($close, 20)",
             "Mean($close, 5)", "CSRank(Std($close, 10))", "Std($close, 10) * 2"]  # fmt: skip
    keep = expr.ExprCache(2**26, intermediates=True)
    first = expr.evaluate(texts[:2], panel, cache=keep)
    assert len(keep) > 2  # the moving averages are kept, not only the two roots
    later = expr.evaluate(texts, panel, cache=keep)  # roots that were sub-expressions
    fresh = expr.evaluate(texts, panel, cache=None)
    for text in texts:
        np.testing.assert_array_equal(later[text], fresh[text])
    for text in texts[:2]:
        np.testing.assert_array_equal(first[text], fresh[text])
    # hand check: a 5-day mean of the first listed column on day 10
    j = 0
    want = np.float32(np.mean(np.float32(panel["close"][6:11, j])))
    assert later["Mean($close, 5)"][10, j] == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("portfolio", ["per_column", "shared"])
def test_metrics_without_the_weights_matrix_equal_those_with_it(portfolio: str) -> None:
    # diagnostics off sums each day's weights as it builds them; on, it keeps the (T, N)
    # weights for the diagnostics: the metrics must not tell the two apart
    panel = _panel(n=10, t_len=200)
    spec = apply_variant(_spec("cn_a_share", portfolio, {"mode": "equal"}), {"fast": 3})
    lean = engine.run(spec, panel, diagnostics=False)
    full = engine.run(spec, panel, diagnostics=True)
    assert lean.metrics == full.metrics
    assert lean.metrics["turnover"] > 0 and lean.metrics["exposure"] > 0
    # by hand from the weights: turnover = mean_t sum_i |w_t - w_t-1| / 2 * 252
    w = full.simulation.positions_weight()
    step = np.abs(np.diff(w, axis=0, prepend=0.0)).sum(axis=1)
    assert lean.metrics["turnover"] == pytest.approx(step.mean() / 2 * 252, rel=1e-12)
    assert lean.metrics["net_exposure"] == pytest.approx(w.sum(axis=1).mean(), rel=1e-12)


def test_diagnostic_kernels_equal_the_numpy_expressions_they_replace() -> None:
    from quantlab.engine.backtest import diagnostics as diag
    from quantlab.engine.backtest import metrics as m
    from quantlab.engine.backtest.diagnostics_nb import (
        bootstrap_sharpes,
        concentration,
        contribution_totals_nb,
    )

    rng = np.random.default_rng(1)
    for n in (8, 37, 130, 700):
        r = rng.normal(0, 0.01, n)
        drawn, replayed = np.random.default_rng(n), np.random.default_rng(n)
        null = (r - r.mean())[drawn.integers(0, n, size=(50, n))]
        want = null.mean(axis=1) / null.std(axis=1, ddof=1) * np.sqrt(252)
        np.testing.assert_array_equal(bootstrap_sharpes(r - r.mean(), 50, replayed, 252), want)
        assert replayed.bit_generator.state == drawn.bit_generator.state  # the same draws
        w = np.abs(rng.normal(size=(n, 23)))
        w[rng.random(w.shape) < 0.3] = 0.0
        w[3], w[5, 2] = 0.0, np.nan
        a = np.abs(m.nan_to_zero(w))
        gross = a.sum(axis=1)
        held = gross > 0
        got_gross, got_hhi = concentration(w)
        np.testing.assert_array_equal(got_gross, gross)
        np.testing.assert_array_equal(got_hhi, ((a[held] / gross[held, None]) ** 2).sum(axis=1))
        close = np.cumprod(1 + rng.normal(0, 0.02, (n, 23)), axis=0)
        close[2, 1], close[4, 3] = np.nan, 0.0  # a gap and a zero price (an infinite return)
        with np.errstate(all="ignore"):
            ret = np.vstack([np.zeros((1, 23)), close[1:] / close[:-1] - 1.0])
            want_tot = np.nansum(diag.contributions_from_weights(w, ret), axis=0)
        np.testing.assert_array_equal(contribution_totals_nb(w, close), want_tot)
    # by hand: one name at weight 0.5 then 1.0; returns +10 % then -5 %
    w = np.array([[0.5], [1.0], [0.0]])
    close = np.array([[10.0], [11.0], [10.45]])
    assert contribution_totals_nb(w, close)[0] == pytest.approx(0.5 * 0.1 + 1.0 * -0.05)
    gross, hhi = concentration(np.array([[0.25, 0.75], [0.0, 0.0]]))
    assert gross.tolist() == [1.0, 0.0] and hhi.tolist() == [0.625]


def test_without_price_limits_no_limit_arrays_are_built_and_fills_are_unchanged() -> None:
    panel = _panel(n=6, t_len=150)
    signals = _signals(panel, 2)
    off = BacktestConfig().replace(rules__price_limits=False)
    sim = Simulator(panel, signals, off)
    assert sim.mkt[1].shape == (0, 0) and sim.mkt[2].shape == (0, 0)
    # the same run with explicit infinite limit prices: the arrays the kernel used to read
    inf = np.full(panel.shape, np.inf)
    fields = {**panel.fields, "up_limit": inf, "down_limit": -inf}
    limited = Panel.from_arrays(panel.calendar, list(panel.instruments), fields)
    on = BacktestConfig()
    a, b = sim.run(), Simulator(limited, signals, on.replace(rules__price_limits=True)).run()
    assert len(a.trades) > 20
    np.testing.assert_array_equal(a.equity, b.equity)
    np.testing.assert_array_equal(a.trades.price, b.trades.price)


@pytest.mark.parametrize("portfolio", ["per_column", "shared"])
def test_crossings_of_a_sub_universe_equal_the_compiled_signals(portfolio: str) -> None:
    # the traded columns are a subset of the evaluated panel's (a benchmark, a universe in
    # another order, a late listing among them): the crossings read the right columns
    panel = _panel(n=10, t_len=220)
    names = [str(s) for s in panel.instruments]
    spec = _spec("cn_a_share", portfolio, {"mode": "fixed_fraction", "fraction": 0.5})
    spec = apply_variant(spec, {"/universe": [names[5], names[1], names[7], names[2]],
                                "/benchmark": names[0]})  # fmt: skip
    variants = [{"fast": f, "slow": s} for f, s in PAIRS[:3]]
    batch = list(engine.run_batch(spec, variants, panel, workers=1))
    assert batch[0].simulation.instruments.tolist() == [names[5], names[1], names[7], names[2]]
    for variant, got in zip(variants, batch, strict=True):
        single = engine.run(apply_variant(spec, variant), panel, diagnostics=False)
        assert len(single.trades) > 5
        _same(got, single)
        for path, values in single.outputs.items():
            np.testing.assert_array_equal(got.outputs[path], values)


def test_crossings_as_panels_equal_the_compiled_signals_by_hand() -> None:
    # Cross(a, b) on one instrument listed on row 1: no signal on its first day, NaN-free
    a = np.asfortranarray([[np.nan, 1.0, 2.0, 3.0, 1.0, 2.0]], dtype=np.float32)
    b = np.full((1, 6), 1.5, dtype=np.float32, order="F")
    first, last, cols = (np.array([v], dtype=np.int64) for v in (1, 5, 0))
    up = Crossings(((a, b), (a, b)), (True, False), first, last, cols, lo=0).signals()
    assert up.entries[:, 0].tolist() == [False, False, True, False, False, True]
    assert up.exits[:, 0].tolist() == [False, False, False, False, True, False]
    late = Crossings(((a, b), (a, b)), (True, False), first, last, cols, lo=3)
    assert late.signal(0)[:, 0].tolist() == [False, False, True]
    np.testing.assert_array_equal(late.values(0)[:, 0], np.array([0, 0, 1], np.float32))
