"""Qlib's LightGBM Alpha158 workflow, in quantlab and in Qlib, same data, same process.

Usage::

    .venv/bin/python benchmarks/models.py [--threads 2] [--quick] [--skip-qlib]

The issue's workflow on the real CSI 300 Qlib sample (``$QUANTLAB_REALDATA``): the dated
``csi300`` membership, train 2010–2014, valid 2015–2016, test 2017-01-01..2020-08-01,
Alpha158 with its default processors (DropnaLabel, CSZScoreNorm of the label), LightGBM
with ``workflow_config_lightgbm_Alpha158.yaml``'s hyper-parameters, signal analysis, and
a top-k 50 / drop 5 backtest of the predictions against SH000300 (close deals, 0.05% /
0.15% costs, minimum 5, ±9.5% limits). ``--quick`` shortens every span (a smoke run);
``--skip-qlib`` runs quantlab alone (while iterating; the figures to report need Qlib).

Data quirks: the sample has no ``vwap`` field, so VWAP0 is NaN on both sides (Qlib reads a
missing field as NaN; quantlab fills it only for named feature sets). Prices are adjusted
(``raw x $factor``): quantlab reads ``$factor`` so its backtest sizes lots on raw shares, as
Qlib does. Volumes are raw shares, not divided by ``$factor`` (the panel says so); only
volume ratios enter Alpha158. ``change`` is in percent: the workflow does not read it, but
Qlib's backtest does, for its ``limit_threshold``, so as its workflow config runs it Qlib
takes any move of 0.095% for a limit and barely trades. Qlib's backtest is timed as
configured; its risk analysis is printed for that run and for a second, untimed one with
quantlab's limit, suspension and at-limit rules (``benchmarks/models_backtest.py``
compares the two backtests day by day, ``tests/engine/ml/test_qlib_backtest.py`` pins them).

Prints each stage side by side, wall seconds and CPU seconds of the process (all threads;
steadier than wall time on a shared machine) with the load average,
the agreement of predictions and IC figures, and quantlab's peak memory (RSS growth over the
baseline while its workflow runs, sampled every 5 ms, measured before Qlib is imported).
Floors from the issue: ≥ 5× end to end, ≥ 15× feature preparation, ≥ 20× backtest, < 2 GB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine" / "ml"))
from backtest import PeakRSS
from test_qlib_backtest import ALIGNED_LIMITS, qlib_topk_report, sample_panel

REALDATA = Path(
    os.environ.get("QUANTLAB_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata")
)
LGB_PARAMS = {
    "loss": "mse",
    "colsample_bytree": 0.8879,
    "learning_rate": 0.2,
    "subsample": 0.8789,
    "lambda_l1": 205.6999,
    "lambda_l2": 580.9768,
    "max_depth": 8,
    "num_leaves": 210,
}
FULL = {
    "train": ("2010-01-01", "2014-12-31"),
    "valid": ("2015-01-01", "2016-12-31"),
    "test": ("2017-01-01", "2020-08-01"),
}
QUICK = {
    "train": ("2014-01-01", "2014-12-31"),
    "valid": ("2015-01-01", "2015-06-30"),
    "test": ("2015-07-01", "2015-12-31"),
}
SEED = 7


class Laps:
    """Wall and CPU seconds (all threads of this process) of consecutive stages."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.restart()

    def restart(self) -> None:
        self._t, self._c = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        self.wall[name] = time.perf_counter() - self._t
        self.cpu[name] = time.process_time() - self._c
        self.restart()


def workflow_config(spans: dict[str, tuple[str, str]], threads: int) -> Any:
    """The benchmark's LightGBM Alpha158 workflow on the CSI 300 sample, as Qlib's."""
    from quantlab.engine.ml import Segments, WorkflowConfig

    return WorkflowConfig(
        segments=Segments(spans["train"], spans["valid"], spans["test"]),
        universe="csi300",
        params=LGB_PARAMS,
        seed=SEED,
        threads=threads,
    )


def ours(src: Path, spans: dict[str, tuple[str, str]], threads: int) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    from quantlab.engine.data.qlib_bin import read_qlib
    from quantlab.engine.ml import backtest_predictions, run_workflow

    out: dict[str, Any] = {"stages": {"imports": time.perf_counter() - t0}}
    out["cpu"] = {"imports": time.process_time() - c0}
    with PeakRSS() as mem:
        t1, c1 = time.perf_counter(), time.process_time()
        lo = np.datetime64(spans["train"][0]) - np.timedelta64(120, "D")
        hi = np.datetime64(spans["test"][1]) + np.timedelta64(20, "D")
        fields = ["open", "high", "low", "close", "volume", "factor"]
        panel = read_qlib(src, instruments="csi300", fields=fields, start=lo, end=hi)
        panel = sample_panel(panel)
        bench = read_qlib(src, instruments=["SH000300"], fields=["close"], start=lo, end=hi)
        out["stages"]["load data"] = time.perf_counter() - t1
        out["cpu"]["load data"] = time.process_time() - c1
        res = run_workflow(panel, workflow_config(spans, threads), keep_dataset=True)
        for k in ("features", "processing", "training", "prediction", "signal"):
            out["stages"][k] = res.timings[k]
            out["cpu"][k] = res.cpu_timings[k]
        t2, c2 = time.perf_counter(), time.process_time()
        bt = backtest_predictions(
            panel,
            res.predictions,
            start=spans["test"][0],
            end=spans["test"][1],
            benchmark=bench["close"][:, 0],
        )
        out["stages"]["backtest"] = time.perf_counter() - t2
        out["cpu"]["backtest"] = time.process_time() - c2
    out["peak_mib"] = mem.mib
    out["result"], out["backtest"] = res, bt
    out["best_round"] = res.best_rounds[0]
    return out


def theirs(src: Path, spans: dict[str, tuple[str, str]], threads: int, tmp: Path) -> dict[str, Any]:
    clock = Laps()
    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    qlib_data_api(lowercase_view(src, tmp))
    from qlib.contrib.data.handler import Alpha158
    from qlib.contrib.eva.alpha import calc_ic
    from qlib.data.dataset import DatasetH
    from qlib.data.dataset.handler import DataHandlerLP
    from test_qlib_workflow import qlib_lgb_model

    lgb_model = qlib_lgb_model()
    clock.lap("imports")
    out: dict[str, Any] = {"stages": clock.wall, "cpu": clock.cpu}
    clock.restart()
    handler = Alpha158(
        instruments="csi300",
        start_time=spans["train"][0],
        end_time=spans["test"][1],
        fit_start_time=spans["train"][0],
        fit_end_time=spans["train"][1],
    )
    clock.lap("features")
    clock.restart()
    dataset = DatasetH(handler, segments=spans)
    clock.lap("processing")
    model = lgb_model(
        **LGB_PARAMS, seed=SEED, num_threads=threads, deterministic=True, force_col_wise=True
    )
    clock.restart()
    model.fit(dataset, verbose_eval=10_000)
    clock.lap("training")
    clock.restart()
    pred = model.predict(dataset)
    clock.lap("prediction")
    clock.restart()
    label = dataset.prepare("test", col_set="label", data_key=DataHandlerLP.DK_R).iloc[:, 0]
    ic, ric = calc_ic(pred, label.reindex(pred.index))
    out["signal"] = {
        "ic": ic.mean(),
        "icir": ic.mean() / ic.std(),
        "rank_ic": ric.mean(),
        "rank_icir": ric.mean() / ric.std(),
    }
    clock.lap("signal")
    out["pred"] = pred
    out["best_round"] = model.model.best_iteration
    clock.restart()
    try:
        from qlib.contrib.evaluate import risk_analysis

        report, _ = qlib_topk_report(pred, *spans["test"], 0.095)
        clock.lap("backtest")
        out["risk"] = {"as configured": qlib_risk(report, risk_analysis)}
        report, _ = qlib_topk_report(pred, *spans["test"], ALIGNED_LIMITS, forbid_all=False)
        out["risk"]["quantlab's rules"] = qlib_risk(report, risk_analysis)
    except Exception as exc:  # report and carry on: the other stages still compare
        out["risk"] = {"error": f"{type(exc).__name__}: {exc}"}
        if "backtest" not in clock.wall:
            clock.lap("backtest")
    return out


def qlib_risk(report: pd.DataFrame, risk_analysis: Any) -> dict[str, Any]:
    """Qlib's risk analysis of a backtest report's excess returns, with and without cost."""
    excess = report["return"] - report["bench"]
    return {
        "without_cost": risk_analysis(excess, freq="day")["risk"].to_dict(),
        "with_cost": risk_analysis(excess - report["cost"], freq="day")["risk"].to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-qlib", action="store_true")
    args = ap.parse_args()
    src = REALDATA / "qlib" / "cn_data_csi300_sample"
    spans = QUICK if args.quick else FULL
    print(f"segments {spans}, threads {args.threads}")
    a = ours(src, spans, args.threads)
    res, bt = a["result"], a["backtest"]
    # quantlab's figures first, so they survive a Qlib run that is stopped
    print("quantlab stages (s):", {k: round(v, 2) for k, v in a["stages"].items()})
    print("quantlab cpu (s):   ", {k: round(v, 2) for k, v in a["cpu"].items()})
    print(f"quantlab total {sum(a['stages'].values()):.2f} s, peak memory {a['peak_mib']:.0f} MiB")
    print(
        "quantlab signal:",
        {k: round(v, 4) for k, v in res.signal.summary().items() if k != "n_days"},
    )
    print("quantlab backtest:", bt.summary(), flush=True)
    b: dict[str, Any] | None = None
    if not args.skip_qlib:
        with tempfile.TemporaryDirectory() as tmp:
            b = theirs(src, spans, args.threads, Path(tmp))
    stages = ["imports", "features", "processing", "training", "prediction", "signal", "backtest"]
    head = f"{'quantlab s':>11s} {'Qlib s':>9s} {'ratio':>7s}"
    cpu_head = f"{'cpu ours':>11s} {'cpu Qlib':>9s} {'ratio':>7s}"
    print(f"\n{'stage':<12s} {head}   {cpu_head}")
    for s in [*stages, "load data"]:
        cells = []
        for key in ("stages", "cpu"):
            mine = a[key].get(s, 0.0)
            other = b[key].get(s) if b else None
            ratio = f"{other / mine:7.1f}" if other and mine > 0 else "      -"
            shown = other if other is not None else float("nan")
            cells.append(f"{mine:11.2f} {shown:9.2f} {ratio}")
        print(f"{s:<12s} {cells[0]}   {cells[1]}")
    print(f"load average {os.getloadavg()}")
    for key, label in (("stages", "wall"), ("cpu", "cpu")):
        tot_a = sum(a[key].values())
        print(f"{'total ' + label:<12s} {tot_a:11.2f}", end="")
        if not b:
            print()
            continue
        tot_b = sum(b[key].values())
        print(f" {tot_b:9.2f} {tot_b / tot_a:7.1f}")
        feat_a = a[key]["features"] + a[key]["load data"] + a[key]["processing"]
        feat_b = b[key]["features"] + b[key]["processing"]
        print(
            f"floors ({label}): end to end {tot_b / tot_a:.1f}x (>= 5), features "
            f"{feat_b / feat_a:.1f}x (>= 15), backtest "
            f"{b[key]['backtest'] / a[key]['backtest']:.1f}x (>= 20)"
        )
    print(f"quantlab peak memory: {a['peak_mib']:.0f} MiB (< 2048)")
    print(f"rows {res.n_rows}, best round quantlab {a['best_round']}", end="")
    print(f", Qlib {b['best_round']}" if b else "")
    print(
        "signal quantlab:",
        {k: round(v, 4) for k, v in res.signal.summary().items() if k != "n_days"},
    )
    if b:
        print("signal Qlib:    ", {k: round(float(v), 4) for k, v in b["signal"].items()})
        data = res.dataset
        test = data.rows(*spans["test"])
        idx = pd.MultiIndex.from_arrays(
            [
                pd.DatetimeIndex(data.calendar[data.day[test]]),
                list(data.instruments[data.inst[test]]),
            ]
        )
        mine = pd.Series(res.predictions[data.day[test], data.inst[test]], index=idx)
        other = b["pred"].copy()
        other.index = other.index.set_levels([s.upper() for s in other.index.levels[1]], level=1)
        both = pd.concat([mine, other.reindex(idx)], axis=1).dropna()
        print(f"prediction correlation {both.corr().iloc[0, 1]:.5f} over {len(both)} rows")
    print(
        "backtest quantlab:",
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in bt.summary().items()},
    )
    if b:
        for rules, risk in b["risk"].items():
            print(f"backtest Qlib ({rules}):", risk)


if __name__ == "__main__":
    main()
