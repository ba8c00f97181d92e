"""The top-k backtest of one set of predictions in quantlab and in Qlib, compared day by day.

Usage::

    .venv/bin/python benchmarks/models_backtest.py [--threads 2] [--quick] [--scores FILE]

Trains quantlab's LightGBM Alpha158 workflow as ``benchmarks/models.py`` does (or loads its
predictions from ``--scores``, an ``.npy`` file this script writes when it is missing), then
trades the same predictions with quantlab's :func:`backtest_predictions` and with Qlib's
``backtest_daily`` + ``TopkDropoutStrategy`` (top 50, drop 5, deal at the close, 0.05% /
0.15% costs with a minimum of 5, 100,000,000 of cash, benchmark SH000300). The panel is
read with ``$factor`` so quantlab sizes lots on raw shares, as Qlib does. Qlib runs four
times, each aligning one more of its rules with quantlab's:

1. as its workflow config runs it (``limit_threshold=0.095``): Qlib reads the limit from
   the data's ``$change``, which this sample stores in percent (0.62 for a 0.62% move), so
   a rise of 0.095% already counts as limit-up: about 88% of stock-days cannot be bought
   (after a rise) or sold (after a fall);
2. the ±9.5% limit from the closes (``$close / Ref($close, 1) - 1``), as quantlab computes
   it (limit prices from the previous close);
3. also no trade on a day without volume: the sample keeps a suspended stock's close with
   zero volume, and Qlib takes a stock for suspended only when its close is NaN;
4. also ``forbid_all_trade_at_limit=False``: by default Qlib's TopkDropout does not trade a
   stock at either limit (it does not buy at the down limit); quantlab blocks only the side
   that cannot fill.

For each it prints the daily series side by side (mean, annualised ×238 as Qlib's
``risk_analysis``, correlation, mean absolute difference) of the portfolio return before
costs, the benchmark return and the costs, and Qlib's risk analysis of the excess returns.
What remains after step 4 is tie-breaking: the model's predictions tie often, quantlab reads
them in float32 and orders ties by instrument, Qlib by pandas' sort
(``tests/engine/ml/test_qlib_backtest.py`` shows identical holdings without ties).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine" / "ml"))
from models import FULL, QUICK, REALDATA, workflow_config
from test_qlib_backtest import ALIGNED_LIMITS, qlib_topk_report, sample_panel

from quantlab.engine.ml import (
    backtest_predictions,
    risk_analysis,
    run_workflow,
)
from quantlab.engine.ml.backtest import QLIB_PERIODS

#: Qlib's ``limit_threshold`` from the closes (buy blocked, sell blocked), without the
#: volume condition of :data:`ALIGNED_LIMITS`.
CLOSE_LIMITS = tuple(
    e.removeprefix("Or(").removesuffix(", Eq($volume, 0))") for e in ALIGNED_LIMITS
)


def load(src: Path, spans: dict[str, tuple[str, str]]) -> tuple[Any, np.ndarray]:
    from quantlab.engine.data.qlib_bin import read_qlib

    lo = np.datetime64(spans["train"][0]) - np.timedelta64(120, "D")
    hi = np.datetime64(spans["test"][1]) + np.timedelta64(20, "D")
    fields = ["open", "high", "low", "close", "volume", "factor"]
    panel = sample_panel(read_qlib(src, instruments="csi300", fields=fields, start=lo, end=hi))
    bench = read_qlib(src, instruments=["SH000300"], fields=["close"], start=lo, end=hi)
    assert np.array_equal(bench.calendar, panel.calendar)
    return panel, bench["close"][:, 0]


def predictions(panel: Any, spans: dict[str, tuple[str, str]], threads: int) -> np.ndarray:
    return run_workflow(panel, workflow_config(spans, threads)).predictions


def compare(name: str, ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    print(f"\n{name}: {len(ours['return'])} days")
    print(f"  {'series':<22s} {'mean/day ours':>14s} {'Qlib':>11s} {'x238 ours':>10s} "
          f"{'Qlib':>8s} {'corr':>7s} {'mean |diff|':>12s}")  # fmt: skip
    for key in ("return", "bench", "cost", "excess with cost"):
        a, b = ours[key], theirs[key]
        corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
        print(
            f"  {key:<22s} {a.mean():14.6f} {b.mean():11.6f} {a.mean() * QLIB_PERIODS:10.4f} "
            f"{b.mean() * QLIB_PERIODS:8.4f} {corr:7.4f} {np.abs(a - b).mean():12.2e}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scores", type=Path, help="predictions (.npy) to reuse or write")
    args = ap.parse_args()
    src = REALDATA / "qlib" / "cn_data_csi300_sample"
    spans = QUICK if args.quick else FULL
    panel, bench = load(src, spans)
    if args.scores is not None and args.scores.exists():
        scores = np.load(args.scores)
    else:
        scores = predictions(panel, spans, args.threads)
        if args.scores is not None:
            np.save(args.scores, scores)
    bt = backtest_predictions(
        panel, scores, start=spans["test"][0], end=spans["test"][1], benchmark=bench
    )
    ours = {
        "return": bt.returns + bt.costs,  # Qlib's "return" is before costs
        "bench": bt.benchmark_returns,
        "cost": bt.costs,
        "excess with cost": bt.returns - bt.benchmark_returns,
    }
    print("quantlab:", {k: round(v, 4) for k, v in bt.summary().items()})

    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    with tempfile.TemporaryDirectory() as tmp:
        qlib_data_api(lowercase_view(src, tmp))
        runs = (
            ("1. Qlib as configured (limit from $change)", 0.095, True),
            ("2. limit from the closes", CLOSE_LIMITS, True),
            ("3. and no trade without volume", ALIGNED_LIMITS, True),
            ("4. and forbid_all_trade_at_limit=False", ALIGNED_LIMITS, False),
        )
        day, inst = np.nonzero(~np.isnan(scores))
        index = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex(panel.calendar[day]), list(panel.instruments[inst])],
            names=["datetime", "instrument"],
        )
        signal = pd.Series(scores[day, inst], index=index)
        for name, limits, forbid_all in runs:
            report, _ = qlib_topk_report(signal, *spans["test"], limits, forbid_all)
            days = pd.DatetimeIndex(report.index).values.astype("datetime64[D]")
            assert np.array_equal(days, bt.dates), "Qlib's report covers other days"
            theirs = {k: report[k].to_numpy() for k in ("return", "bench", "cost")}
            r = theirs["return"]
            theirs["excess with cost"] = theirs["return"] - theirs["bench"] - theirs["cost"]
            compare(name, ours, theirs)
            w, wo = risk_analysis(theirs["excess with cost"]), risk_analysis(r - theirs["bench"])
            print(
                f"  Qlib excess return with cost {w['annualized_return']:.4f} (IR "
                f"{w['information_ratio']:.3f}, max drawdown {w['max_drawdown']:.4f}), "
                f"without cost {wo['annualized_return']:.4f}"
            )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
