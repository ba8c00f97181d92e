"""Alpha158 in quantlab and in Qlib on the same data, in the same run.

Usage::

    .venv/bin/python benchmarks/factors.py [--instruments 300] [--days 2000] [--skip-qlib]

Data: the real Qlib sample (``$QUANTLAB_REALDATA``, default ../shared/realdata) when
present (its 300 CSI 300 stocks, the last ``--days`` trading days), else a seeded
synthetic market written to a temporary Qlib folder, so both engines read the same bins.
VWAP0 is left out when there is no stored ``vwap`` field (the real sample has none, nor an
``amount`` to derive it from; Qlib could not read a derived one either).

Prints quantlab's time (single-threaded, numba kernels compiled beforehand on a tiny
panel so the figure is steady-state), Qlib's time (expression and dataset caches off,
one process), their ratio, and quantlab's peak memory (traced NumPy allocations plus the
process's peak RSS), each engine's CPU time (both run in this process, Qlib with
``kernels=1``; steadier than wall time on a shared machine). Floors: >= 10x faster
than Qlib, < 10 s, < 2 GB; aim >= 25x (issue 21).
On a shared machine run it a few times and quote ``uptime``'s load with each figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from quantlab.engine.data import Panel
from quantlab.engine.data.qlib_bin import read_qlib, write_qlib
from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api
from quantlab.engine.expr import evaluate, get_feature_set

REALDATA = Path(
    os.environ.get("QUANTLAB_REALDATA", Path(__file__).resolve().parents[2] / "shared" / "realdata")
)
FIELDS = ["open", "high", "low", "close", "volume", "vwap"]


def synthetic(n: int, t: int, seed: int = 0) -> Panel:
    """A seeded random market with late listings and suspensions."""
    rng = np.random.default_rng(seed)
    close = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (t, n)), axis=0))
    f = {
        "close": close,
        "open": close * (1 + rng.normal(0, 0.01, (t, n))),
        "high": close * (1 + rng.uniform(0, 0.03, (t, n))),
        "low": close * (1 - rng.uniform(0, 0.03, (t, n))),
        "vwap": close * (1 + rng.normal(0, 0.005, (t, n))),
        "volume": rng.lognormal(14, 0.6, (t, n)),
    }
    born = rng.integers(0, t // 4, n)
    for a in f.values():
        for j in range(n):
            a[: born[j], j] = np.nan
        a[rng.random((t, n)) < 0.01] = np.nan
    cal = np.datetime64("2012-01-04") + np.arange(t)
    return Panel.from_arrays(cal, [f"SH{600000 + j}" for j in range(n)], f)


def qlib_folder(args: argparse.Namespace, tmp: Path) -> tuple[Path, list[str]]:
    """A Qlib provider folder with lower-case symbol folders and the instruments to use."""
    src = REALDATA / "qlib" / "cn_data_csi300_sample"
    if src.exists() and not args.synthetic:
        root = lowercase_view(src, tmp / "real")
        names = sorted(p.name for p in (src / "features").iterdir())
        stocks = [s for s in names if s[:4] not in ("SH00", "SH51", "SZ39")][: args.instruments]
        return root, stocks
    root = tmp / "synthetic"
    panel = synthetic(args.instruments, args.days)
    write_qlib(panel, root)
    return root, list(panel.instruments)


def run_quantlab(root: Path, stocks: list[str], days: int) -> tuple[Panel, list[str], float]:
    probe = read_qlib(root, instruments=stocks[:2], fields=FIELDS[:5])
    has_vwap = "vwap" in read_qlib(root, instruments=stocks[:1]).fields
    feats = [e for _, e in get_feature_set("Alpha158") if has_vwap or "$vwap" not in e]
    start = probe.calendar[-days] if len(probe.calendar) >= days else None
    fields = FIELDS if has_vwap else FIELDS[:5]
    panel = read_qlib(root, instruments=stocks, fields=fields, start=start)
    evaluate(feats, panel.select(instruments=stocks[:2], start=panel.calendar[-80]), cache=None)
    tracemalloc.start()
    c0, t0 = time.process_time(), time.perf_counter()
    out = evaluate(feats, panel, cache=None)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finite = np.mean([np.isfinite(a).mean() for a in out.values()])
    print(
        f"data: {root.name}, {panel.shape[1]} instruments x {panel.shape[0]} days, "
        f"{len(feats)} features ({finite:.1%} finite)"
    )
    print(
        f"quantlab: {elapsed:8.2f} s   cpu {cpu:8.2f} s   peak traced {peak / 2**20:7.0f} MiB   "
        f"peak RSS {rss:7.0f} MiB"
    )
    return panel, feats, elapsed, cpu


def run_qlib(root: Path, stocks: list[str], panel: Panel, feats: list[str]) -> tuple[float, float]:
    d = qlib_data_api(root)
    c0, t0 = time.process_time(), time.perf_counter()
    df = d.features(
        stocks, feats, start_time=str(panel.calendar[0]), end_time=str(panel.calendar[-1])
    )
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"qlib:     {elapsed:8.2f} s   cpu {cpu:8.2f} s   "
        f"({df.shape[0]} rows x {df.shape[1]} features)"
    )
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=300)
    parser.add_argument("--days", type=int, default=2000)
    parser.add_argument("--synthetic", action="store_true", help="ignore the real sample")
    parser.add_argument("--skip-qlib", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, stocks = qlib_folder(args, Path(tmp))
        panel, feats, ours, ours_cpu = run_quantlab(root, stocks, args.days)
        if args.skip_qlib:
            return
        theirs, theirs_cpu = run_qlib(root, stocks, panel, feats)
        print(
            f"ratio:    quantlab is {theirs / ours:.1f}x faster than Qlib "
            f"(floor 10x, aim 25x; quantlab floor < 10 s, < 2 GB)"
        )
        # both run in this one process (Qlib with kernels=1): CPU time is the steadier
        # figure when other jobs share the machine
        print(f"cpu ratio: {theirs_cpu / ours_cpu:.1f}x")


if __name__ == "__main__":
    main()
