"""Optimiser benchmark: the engine's search driver against vectorbt's chunked sweep, same
process, same data; and Optuna TPE throughput with Optuna's own share of the time.

    .venv/bin/python benchmarks/optimise.py            # full size
    .venv/bin/python benchmarks/optimise.py --quick    # 100 symbols, 60 TPE trials

W2  the 90-pair dual-MA grid (fast 5..50 step 5 × slow 20..200 step 20, fast < slow) on
    500 seeded synthetic symbols × 2,520 days as one grid study through
    ``quantlab.engine.optimise.grid_search`` (chunks through ``engine.run_batch``, metrics
    per trial, trials streamed to a callback), memory measured; vectorbt's chunked sweep of
    the same grid on a subset of symbols, extrapolated linearly (as benchmarks/backtest.py).
    The floor of issue 16 (3 s) is for the whole API path, POST to completed; the API path
    is not measured here (the /api/studies domain has not landed).
TPE 500 trials of the low-volatility top-k template (window, top_k, n_drop) on 300 × 1,500,
    seeded; trials per second (floor 40/s) and Optuna's own time per trial.

Timings are single runs after a warm-up (Numba compilation excluded); on a shared 2-core
machine they are noisy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import psutil
from backtest import FAST, SLOW, PeakRSS, expr_spec, line, synthetic, vbt_dual_ma

from quantlab.engine.backtest.crossover import window_pairs
from quantlab.engine.library import TEMPLATES, Constraint
from quantlab.engine.library.examples import template_spec
from quantlab.engine.optimise import Dimension, Goal, Space, grid_search, tpe_search
from quantlab.engine.optimise.space import space_from_params


def w2(n: int, vbt_symbols: int, vbt_chunk: int, with_vbt: bool) -> None:
    panel = synthetic(n, 2520)
    entry = "Cross(Mean($close,{fast}), Mean($close,{slow}))"
    exit_ = "CrossDown(Mean($close,{fast}), Mean($close,{slow}))"
    spec = expr_spec(entry, exit_, fast=10, slow=30)
    space = Space((Dimension("fast", low=5, high=50, step=5),
                   Dimension("slow", low=20, high=200, step=20)),
                  (Constraint(left="fast", op="<", right="slow"),))  # fmt: skip
    fasts, slows = window_pairs(FAST, SLOW)
    goal = Goal.parse(["sharpe"])
    print(f"W2  grid study of {len(fasts)} pairs on {n} symbols × 2520 days")
    small = panel.select(instruments=list(panel.instruments[:3]))
    grid_search(spec, Space((Dimension("fast", choices=(5,)), Dimension("slow", choices=(20,)))),
                small, goal)  # fmt: skip  # compile
    finals: list[float] = []
    pairs: list[tuple[int, int]] = []

    def keep(trial: object) -> None:
        pairs.append((trial.params["fast"], trial.params["slow"]))  # type: ignore[attr-defined]
        finals.append(trial.metrics["total_return"])  # type: ignore[attr-defined]

    t0 = time.perf_counter()
    with PeakRSS() as mem:
        out = grid_search(spec, space, panel, goal, on_trial=keep)
    t = time.perf_counter() - t0
    assert out.n_trials == len(fasts) and sorted(pairs) == sorted(zip(fasts, slows, strict=True))
    line(f"quantlab grid_search, {out.n_trials} trials (metrics each)", t,
         f"peak +{mem.mib:.0f} MiB")  # fmt: skip
    print(f"  {out.n_trials / t:.1f} trials/s; best {out.best.params if out.best else None}")
    if not with_vbt:
        return
    import vectorbt as vbt

    close = panel["close"]
    df = pd.DataFrame(close[:, :vbt_symbols])
    vbt_dual_ma(vbt, df.iloc[:300, :2], [5, 10], [20, 20])  # compile
    t0 = time.perf_counter()
    with PeakRSS() as vmem:
        for k in range(0, len(fasts), vbt_chunk):
            vbt_dual_ma(vbt, df, list(fasts[k : k + vbt_chunk]), list(slows[k : k + vbt_chunk]))
    vbt_t = time.perf_counter() - t0
    est = vbt_t * n / vbt_symbols
    line(f"vectorbt, {vbt_symbols} symbols, chunks of {vbt_chunk} pairs (final values only)",
         vbt_t, f"peak +{vmem.mib:.0f} MiB")  # fmt: skip
    line(f"vectorbt for {n} symbols (linear extrapolation)", est)
    print(f"  ratio vectorbt / quantlab study: {est / t:.1f}x")


def tpe(n: int, t_len: int, trials: int, batch: int) -> None:
    panel = synthetic(n, t_len, seed=7)
    template = TEMPLATES["low_volatility"]
    spec = template_spec(template, "synthetic", preset="rules_off")
    space = space_from_params(template.parameters, template.constraints, {
        "window": {"min": 10, "max": 120}, "top_k": {"min": 5, "max": 50},
        "n_drop": {"min": 1, "max": 10}})  # fmt: skip
    goal = Goal.parse(["sharpe"])
    print(f"TPE {trials} trials, low-volatility top-k on {n} symbols × {t_len} days, "
          f"asked {batch} at a time")  # fmt: skip
    tpe_search(spec, space, panel.select(instruments=list(panel.instruments[:20])), goal,
               n_trials=2, seed=0, params=template.parameters)  # fmt: skip  # compile
    t0 = time.perf_counter()
    with PeakRSS() as mem:
        out = tpe_search(spec, space, panel, goal, n_trials=trials, seed=0, batch=batch,
                         params=template.parameters)  # fmt: skip
    t = time.perf_counter() - t0
    line(
        f"quantlab tpe_search, {out.n_trials} run (others pruned by constraints)",
        t,
        f"peak +{mem.mib:.0f} MiB",
    )
    rate = trials / t
    print(f"  {rate:.1f} trials/s (floor 40/s: {'PASS' if rate >= 40 else 'FAIL'}); "
          f"Optuna's own time {out.optuna_seconds:.2f} s = "
          f"{1000 * out.optuna_seconds / trials:.2f} ms/trial "
          f"({100 * out.optuna_seconds / t:.0f} % of the study)")  # fmt: skip
    print(f"  best {out.best.params if out.best else None}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 symbols, 60 TPE trials")
    parser.add_argument("--no-peers", action="store_true", help="skip vectorbt")
    parser.add_argument("--batch", type=int, default=8, help="TPE trials asked at a time")
    args = parser.parse_args()
    print(f"cpu count {psutil.cpu_count()}, load average {np.round(psutil.getloadavg(), 2)}")
    n = 100 if args.quick else 500
    w2(n, vbt_symbols=10 if args.quick else 50, vbt_chunk=15, with_vbt=not args.no_peers)
    tpe(100 if args.quick else 300, 1500, 60 if args.quick else 500, args.batch)


if __name__ == "__main__":
    main()
