"""Backtest engine benchmark: our kernels against vectorbt and backtrader, same process, same data.

    .venv/bin/python benchmarks/backtest.py            # full size: 500 symbols × 2,520 days
    .venv/bin/python benchmarks/backtest.py --quick    # 100 symbols, smoke run

W1  dual MA 10/30, each symbol its own portfolio, rules off (vectorbt's model); also the
    user's path: ``quantlab.engine.run`` with the strategy as factor-language expressions
    (``Cross(Mean($close,10), Mean($close,30))``), metrics and diagnostics included.
W2  grid fast 5..50 step 5 × slow 20..200 step 20 (fast < slow), 90 pairs × every symbol;
    also ``quantlab.engine.run_batch`` over the same 90 pairs (expressions with {fast}/{slow}
    parameters, shared expression cache, metrics per pair, variants on one thread per CPU),
    and over the first 30 pairs to show its memory does not grow with the grid.
W3  one shared-cash portfolio, top-50 by a score, monthly rebalancing, all A-share rules on.

Final values are compared only like for like: the fused kernel against vectorbt, and the
general Simulator against the fused kernel given the same crossings (vectorbt's: the fast MA
crosses above after having been below, both MAs over full windows, from the same running
sums), which agree to float rounding. ``engine.run`` and ``run_batch`` are not compared with
the fused kernel: their expressions follow Qlib's semantics (``Mean`` over the valid values
so far, ``min_periods=1``, and ``Cross`` = above today and at or below yesterday), so they
trade in the warm-up the kernel skips and their rolling means round differently at near-ties,
which flips a crossing now and then; the sizing is the same (all cash, fee included), the
signals are not, and the final values differ by whole percents.

Every timing is the best of a few repeats after a warm-up call (Numba compilation excluded on
both sides), printed with the CPU seconds of that repeat (``time.process_time``, all threads)
and the 1-minute load average: the machine may be shared. Peak memory is the largest
resident-set growth seen by a 5 ms sampler thread.
"""

from __future__ import annotations

import argparse
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psutil

from quantlab import engine
from quantlab.engine import runner
from quantlab.engine.backtest.config import BacktestConfig, rules_off
from quantlab.engine.backtest.crossover import (
    CrossoverGrid,
    ma_crossover,
    ma_crossover_grid,
    window_pairs,
)
from quantlab.engine.backtest.enums import PortfolioMode, Rebalance, SizingMode
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals, TopkDropout
from quantlab.engine.data import Panel

FEES = 0.001
FAST = range(5, 55, 5)
SLOW = range(20, 220, 20)


def synthetic(n: int, t_len: int, seed: int = 42) -> Panel:
    """Seeded random-walk OHLCV for ``n`` A-share-like codes (volume in shares)."""
    rng = np.random.default_rng(seed)
    close = 20 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (t_len, n)), axis=0))
    close = np.round(close, 2)
    open_ = np.round(close * np.exp(rng.normal(0, 0.008, (t_len, n))), 2)
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, (t_len, n)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, (t_len, n)))
    volume = rng.lognormal(13, 1, (t_len, n))
    volume[rng.random((t_len, n)) < 0.01] = 0.0
    days = np.arange(np.datetime64("2010-01-04"), np.datetime64("2010-01-04") + 2 * t_len)
    cal = days[np.is_busday(days)][:t_len]
    codes = [f"{(600000 if j % 4 else 300000) + j:06d}" for j in range(n)]
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return Panel.from_arrays(cal, codes, fields)


class PeakRSS:
    """Largest RSS growth over the baseline while the block runs (sampled every 5 ms)."""

    def __enter__(self) -> PeakRSS:
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


class Seconds(float):
    """Wall seconds that also carry the process's CPU seconds over the same span (all
    threads): on a shared machine the CPU figure moves less with the others' load."""

    cpu: float = math.nan


def timed(fn: Callable[[], Any]) -> tuple[Seconds, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    wall = Seconds(time.perf_counter() - t0)
    wall.cpu = time.process_time() - c0
    return wall, out


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[Seconds, Any]:
    best, out = Seconds(np.inf), None
    for _ in range(repeats):
        t, out = timed(fn)
        best = min(best, t)
    return best, out


def line(label: str, seconds: float, extra: str = "") -> None:
    cpu = getattr(seconds, "cpu", math.nan)
    used = f"cpu {cpu:7.3f} s" if math.isfinite(cpu) else " " * 13
    print(f"  {label:<52s} {seconds:9.3f} s  {used}  load {os.getloadavg()[0]:4.1f}  {extra}")


def vbt_dual_ma(vbt: Any, close: pd.DataFrame, fast: Any, slow: Any) -> np.ndarray:
    """vectorbt's idiomatic pipeline: MA indicators → crossings → from_signals → final value."""
    f = vbt.MA.run(close, fast, short_name="fast")
    s = vbt.MA.run(close, slow, short_name="slow")
    entries = f.ma_crossed_above(s.ma.values)
    exits = f.ma_crossed_below(s.ma.values)
    price = np.tile(close.values, (1, entries.shape[1] // close.shape[1]))
    pf = vbt.Portfolio.from_signals(price, entries.values, exits.values, fees=FEES, init_cash=100.0)
    return pf.final_value().values


def expr_spec(entry: str, exit_: str, **parameters: float) -> engine.RunSpec:
    """W1 as a run spec: per-symbol cash, rules off, the benchmark's fee, all-in entries."""
    return engine.RunSpec.model_validate(
        {
            "dataset_id": "synthetic",
            "initial_capital": 10_000,
            "preset": "rules_off",
            "costs": {"commission_rate": FEES},
            "execution": {"portfolio": "per_column"},
            "parameters": parameters,
            "strategy": {"kind": "signals", "entry": entry, "exit": exit_,
                         "sizing": {"mode": "fixed_fraction", "fraction": 1.0}},
        }
    )  # fmt: skip


W1_ENTRY = "Cross(Mean($close,10), Mean($close,30))"
W1_EXIT = "CrossDown(Mean($close,10), Mean($close,30))"


def w1_engine_run(panel: Panel) -> float:
    spec = expr_spec(W1_ENTRY, W1_EXIT)
    small = panel.select(instruments=list(panel.instruments[:3]))
    engine.run(spec, small)  # compile
    t, res = best_of(lambda: engine.run(spec, panel), 5)
    found = f"(sharpe {res.metrics['sharpe_ratio']:.3f}, {len(res.diagnostics)} findings)"
    line("quantlab engine.run, expressions, metrics+diagnostics", t, found)
    t_m, _ = best_of(lambda: engine.run(spec, panel, diagnostics=False), 5)
    line("quantlab engine.run, expressions, metrics only", t_m)
    stages(spec, panel)
    print(f"  target ≤ 50 ms: {'PASS' if t <= 0.05 else 'FAIL'}   floor ≤ 0.15 s: "
          f"{'PASS' if t <= 0.15 else 'FAIL'}")  # fmt: skip
    return t


def stages(spec: engine.RunSpec, panel: Panel) -> None:
    """Where ``engine.run``'s time goes: the best of 5 of each stage."""
    t_prep, prep = best_of(lambda: runner.prepare(spec, panel), 5)
    days = len(prep.simulator.panel.calendar)  # one chunk, as engine.run without progress
    t_sim, state = best_of(lambda: runner.simulate(prep, chunk_days=days), 5)
    t_fin, _ = best_of(lambda: runner.finish(prep, state), 5)
    print(f"  stages: cut+compile+market arrays {t_prep * 1000:.0f} ms, simulation kernel "
          f"{t_sim * 1000:.0f} ms, metrics+diagnostics {t_fin * 1000:.0f} ms")  # fmt: skip


def w1(panel: Panel, vbt: Any, bt: Any, bt_symbols: int) -> None:
    close = panel["close"]
    df = pd.DataFrame(close)
    print(f"W1  dual MA 10/30, {close.shape[1]} symbols × {close.shape[0]} days, per-symbol cash")
    ma_crossover(close[:100, :2], 10, 30, init_cash=100.0, fees=FEES)  # compile
    ours_t, ours = best_of(lambda: ma_crossover(close, 10, 30, init_cash=100.0, fees=FEES), 5)
    line("quantlab fused kernel (with equity curves)", ours_t)
    w1_engine_run(panel)
    entries, exits = vbt_crossings(close, 10, 30)
    cfg = rules_off().replace(
        costs__commission_rate=FEES,
        execution__init_cash=100.0,
        execution__portfolio=PortfolioMode.PER_COLUMN,
        sizing__mode=SizingMode.FIXED_FRACTION,
        sizing__fraction=1.0,  # all cash, the fee included: vectorbt's size=inf
    )
    sim_t, sim = best_of(lambda: Simulator(panel, Signals(entries, exits), cfg).run(), 3)
    line("quantlab general Simulator, per-column mode", sim_t, "(signals given)")
    diff = np.nanmax(np.abs(sim.equity[-1] / ours.final_value - 1.0))
    print(f"  Simulator vs fused kernel final values, same crossings: max relative difference "
          f"{diff:.1e}, equal to 1e-9: {diff <= 1e-9}")  # fmt: skip
    if vbt is not None:
        vbt_dual_ma(vbt, df.iloc[:200, :2], 10, 30)  # compile
        vbt_t, vbt_final = best_of(lambda: vbt_dual_ma(vbt, df, 10, 30), 2)
        line("vectorbt MA.run + from_signals + final_value", vbt_t)
        same = np.allclose(vbt_final, ours.final_value, rtol=1e-9)
        print(f"  final values equal to vectorbt's: {same}")
        ratio = vbt_t / ours_t
        verdict = "PASS" if ratio >= 3 else "FAIL"
        print(f"  speed-up vs vectorbt: {ratio:.1f}x   floor ≥ 3x: {verdict}")
    if bt is not None:
        sub = close[:, :bt_symbols]
        bt_t = backtrader_dual_ma(bt, sub, panel.calendar)
        est = bt_t * close.shape[1] / bt_symbols
        line(f"backtrader on {bt_symbols} symbols (measured)", bt_t)
        line(f"backtrader for {close.shape[1]} symbols (linear extrapolation)", est)
        print(f"  speed-up vs backtrader (extrapolated): {est / ours_t:.0f}x")


def sma(a: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average per column, NaN before a full window, from running sums: the
    fused kernel's (and vectorbt's) arithmetic, so near-ties round the same way."""
    cs = np.cumsum(a, axis=0)
    out = np.full(a.shape, np.nan)
    out[window - 1] = cs[window - 1] / window
    out[window:] = (cs[window:] - cs[:-window]) / window
    return out


def vbt_crossings(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """vectorbt's ``ma_crossed_above``/``_below`` (no NaN in ``close``): a cross needs the
    opposite side seen since the MAs became valid, so nothing fires on the first valid day."""
    f, s = sma(close, fast), sma(close, slow)

    def before(a: np.ndarray) -> np.ndarray:
        return np.vstack([np.zeros((1, a.shape[1]), bool), a[:-1]])

    above, below = f > s, f < s
    entries = above & ~before(above) & before(np.maximum.accumulate(below, axis=0))
    exits = below & ~before(below) & before(np.maximum.accumulate(above, axis=0))
    return entries, exits


def backtrader_dual_ma(bt: Any, close: np.ndarray, calendar: np.ndarray) -> float:
    class SmaCross(bt.Strategy):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

        def next(self) -> None:
            if not self.position and self.cross > 0:
                self.order_target_percent(target=0.99)
            elif self.position and self.cross < 0:
                self.close()

    index = pd.DatetimeIndex(calendar.astype("datetime64[ns]"))
    t0 = time.perf_counter()
    for j in range(close.shape[1]):
        c = close[:, j]
        frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": 1e6}, index)
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame))
        cerebro.addstrategy(SmaCross)
        cerebro.broker.setcash(100.0)
        cerebro.broker.setcommission(commission=FEES)
        cerebro.run()
    return time.perf_counter() - t0


def w2(panel: Panel, vbt: Any, vbt_symbols: int, vbt_chunk: int) -> None:
    close = panel["close"]
    fasts, slows = window_pairs(FAST, SLOW)
    n_pairs = len(fasts)
    print(f"W2  grid of {n_pairs} (fast, slow) pairs × {close.shape[1]} symbols")
    ma_crossover_grid(close[:300, :2], [5], [20], init_cash=100.0, fees=FEES)  # compile
    for pairs in (FAST[:5], FAST):

        def run_grid(p: range = pairs) -> CrossoverGrid:
            return ma_crossover_grid(close, p, SLOW, init_cash=100.0, fees=FEES)

        with PeakRSS() as mem:
            t, grid = best_of(run_grid, 2)
        line(f"quantlab fused grid, {len(grid.fast)} pairs", t, f"peak +{mem.mib:.0f} MiB")
    ours_t = t
    w2_run_batch(panel, fasts, slows)
    if vbt is None:
        return
    df = pd.DataFrame(close[:, :vbt_symbols])
    vbt_dual_ma(vbt, df.iloc[:300, :2], [5, 10], [20, 20])  # compile
    with PeakRSS() as mem:
        vbt_t, finals = timed(lambda: [
            vbt_dual_ma(vbt, df, list(fasts[k : k + vbt_chunk]), list(slows[k : k + vbt_chunk]))
            for k in range(0, n_pairs, vbt_chunk)
        ])  # fmt: skip
    est = vbt_t * close.shape[1] / vbt_symbols
    line(f"vectorbt, {vbt_symbols} symbols, chunks of {vbt_chunk} pairs", vbt_t,
         f"peak +{mem.mib:.0f} MiB")  # fmt: skip
    line(f"vectorbt for {close.shape[1]} symbols (linear extrapolation)", est)
    vbt_final = np.concatenate(finals).reshape(n_pairs, vbt_symbols)
    same = np.allclose(vbt_final, grid.final_value[:, :vbt_symbols], rtol=1e-9)
    print(f"  final values equal to vectorbt's on the subset: {same}")
    ratio = est / ours_t
    print(f"  speed-up vs vectorbt: {ratio:.1f}x   floor ≥ 8x: {'PASS' if ratio >= 8 else 'FAIL'}")


def w2_run_batch(panel: Panel, fasts: np.ndarray, slows: np.ndarray) -> None:
    entry = "Cross(Mean($close,{fast}), Mean($close,{slow}))"
    exit_ = "CrossDown(Mean($close,{fast}), Mean($close,{slow}))"
    spec = expr_spec(entry, exit_, fast=10, slow=30)
    variants = [{"fast": int(f), "slow": int(s)} for f, s in zip(fasts, slows, strict=True)]
    small = panel.select(instruments=list(panel.instruments[:3]))
    list(engine.run_batch(spec, variants[:2], small))  # compile

    def sweep(some: list[dict[str, int]]) -> None:
        for _ in engine.run_batch(spec, some, panel):
            pass  # each result goes before the next arrives

    for some in (variants[:30], variants):  # memory flat in the number of pairs
        with PeakRSS() as mem:
            t, _ = best_of(lambda s=some: sweep(s), 1)
        line(f"quantlab engine.run_batch, {len(some)} pairs, metrics each", t,
             f"peak +{mem.mib:.0f} MiB")  # fmt: skip
    prep = runner.prepare(spec, panel)
    t_kernel, _ = best_of(lambda: runner.simulate(prep), 3)
    line(
        f"  engine.run's kernel (arrays, panels), {len(variants)} × one run",
        t_kernel * len(variants),
    )
    print(f"  floor ≤ 2 s: {'PASS' if t <= 2.0 else 'FAIL'}")


def w3(panel: Panel) -> None:
    t_len, n = panel.shape
    print(f"W3  shared cash, top-50 monthly, A-share rules on, {n} symbols × {t_len} days")
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(t_len, n))
    strategy = TopkDropout(scores, topk=50, n_drop=5, rebalance=Rebalance.MONTHLY)
    config = BacktestConfig()  # the cn_a_share preset: T+1, limits, lots, costs, stamp tax
    Simulator(panel.select(instruments=list(panel.instruments[:5])), strategy_small(strategy, 5),
              config).run()  # fmt: skip  # compile
    with PeakRSS() as mem:
        t, res = best_of(lambda: Simulator(panel, strategy, config).run(), 3)
    line("quantlab Simulator (preparation + run)", t, f"peak +{mem.mib:.0f} MiB")
    print(f"  trades {len(res.trades)}, rejected {len(res.rejections)}, "
          f"final equity {res.equity[-1, 0]:,.0f}")  # fmt: skip
    ok = t < 1.0 and mem.mib < 1024
    print(f"  floor < 1 s and < 1 GiB: {'PASS' if ok else 'FAIL'}")


def strategy_small(s: TopkDropout, n: int) -> TopkDropout:
    return TopkDropout(s.scores[:, :n], topk=2, n_drop=1, rebalance=s.rebalance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 symbols, no backtrader")
    parser.add_argument("--no-peers", action="store_true", help="skip vectorbt and backtrader")
    args = parser.parse_args()
    n = 100 if args.quick else 500
    panel = synthetic(n, 2520)
    vbt: Any = None
    bt: Any = None
    if not args.no_peers:
        import vectorbt

        vbt = vectorbt
        try:
            import backtrader

            bt = backtrader
        except ImportError:  # the bench extra's; `make bench` installs it
            print("backtrader is not installed: its W1 figure is skipped")
    print(f"data: seeded synthetic, {n} symbols × 2520 days; cpu count {psutil.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    w1(panel, vbt, None if args.quick else bt, bt_symbols=10)
    w2(panel, vbt, vbt_symbols=10 if args.quick else 50, vbt_chunk=15)
    w3(panel)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
