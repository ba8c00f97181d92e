"""Daily IC + Rank IC of one factor on a 300 x 2,000 panel: quantlab against its peers.

Floor (issue 7): IC and Rank IC together under 0.2 s. The peers, timed in the same run on
the same arrays: pandas row-wise ``corrwith`` and Qlib's ``calc_ic`` (groupby per day),
when pyqlib (the ``bench`` extra) is installed. Best of ``--repeat`` runs, JIT warmed up.

    .venv/bin/python benchmarks/factor_ic.py [--days 300] [--instruments 2000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from quantlab.engine.factors.analysis import forward_returns, information_coefficients

FLOOR_SECONDS = 0.2


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--instruments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shape = (args.days, args.instruments)
    close = np.asfortranarray(20 * np.exp(np.cumsum(rng.normal(0, 0.02, shape), axis=0)))
    factor = np.asfortranarray(rng.normal(size=shape))
    factor[rng.random(shape) < 0.05] = np.nan
    fwd = forward_returns(close, 1)

    def ours() -> tuple[np.ndarray, np.ndarray]:
        return information_coefficients(factor, fwd)

    ours()  # compile / load the numba cache
    ic, ric = ours()
    t_ours = best_of(ours, args.repeat)

    f_df, r_df = pd.DataFrame(factor), pd.DataFrame(fwd)

    def pandas_rowwise() -> tuple[pd.Series, pd.Series]:
        return f_df.corrwith(r_df, axis=1), f_df.corrwith(r_df, axis=1, method="spearman")

    p_ic, p_ric = pandas_rowwise()
    t_pandas = best_of(pandas_rowwise, max(1, args.repeat // 2))
    assert np.allclose(ic, p_ic.to_numpy(), equal_nan=True)
    assert np.allclose(ric, p_ric.to_numpy(), equal_nan=True)

    rows = [("quantlab (numba)", t_ours), ("pandas corrwith(axis=1)", t_pandas)]
    try:
        from qlib.contrib.eva.alpha import calc_ic
    except ImportError:
        calc_ic = None
    if calc_ic is not None:
        index = pd.MultiIndex.from_product(
            [pd.RangeIndex(args.days, name="datetime"), pd.RangeIndex(args.instruments)]
        )
        pred, label = pd.Series(factor.ravel(), index), pd.Series(fwd.ravel(), index)
        _, q_ric = calc_ic(pred, label)
        assert np.allclose(ric, q_ric.to_numpy(), equal_nan=True)
        rows.append(("qlib calc_ic (groupby)", best_of(lambda: calc_ic(pred, label), 1)))

    print(f"IC + Rank IC, {args.days} days x {args.instruments} instruments, best of runs")
    for name, seconds in rows:
        print(f"  {name:<26} {seconds * 1000:9.1f} ms   {seconds / t_ours:6.1f}x ours")
    verdict = "meets" if t_ours < FLOOR_SECONDS else "MISSES"
    print(f"  floor {FLOOR_SECONDS * 1000:.0f} ms: quantlab {verdict} it")


if __name__ == "__main__":
    main()
