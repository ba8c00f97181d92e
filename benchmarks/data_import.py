"""Import and load speed of the market-data engine, next to a plain pandas baseline.

Run: .venv/bin/python benchmarks/data_import.py [--excel-rows 100000] [--repeat 3]

Prints, in one run: end-to-end CSV import (inspect + read + validate + write) of a
1,000,000-row long CSV (500 symbols x 2,000 days) against ``pandas.read_csv`` +
``DataFrame.to_parquet``; the same for an Excel file of ``--excel-rows`` rows against
``pandas.read_excel`` + ``to_parquet``; and the time to load a 500 x 2,520 x 6-field
panel from a stored version against ``pandas.read_parquet`` + ``pivot``.
Floors: CSV import within 2x the baseline and under 6 s; panel load under 0.3 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from quantlab.engine.data.inspect import inspect_file
from quantlab.engine.data.readers import read_file
from quantlab.engine.data.storage import load_panel, write_version
from quantlab.engine.data.validate import validate_frame

FIELDS = ["open", "high", "low", "close", "volume", "amount"]


def _frame(n_symbols: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2010-01-04", periods=n_days)
    close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_days, n_symbols)), axis=0))
    frame = pd.DataFrame(
        {
            "date": np.repeat(days.strftime("%Y-%m-%d").to_numpy(), n_symbols),
            "symbol": np.tile([f"{i:06d}.SZ" for i in range(n_symbols)], n_days),
        }
    )
    c = close.ravel()
    frame["open"] = (c * rng.uniform(0.99, 1.01, c.size)).round(4)
    frame["high"] = (np.maximum(c, frame["open"]) * 1.01).round(4)
    frame["low"] = (np.minimum(c, frame["open"]) * 0.99).round(4)
    frame["close"] = c.round(4)
    frame["volume"] = rng.integers(0, 10_000_000, c.size)
    frame["amount"] = (frame["volume"] * c).round(2)
    return frame


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _import(path: Path, out: Path) -> None:
    inspect_file(path)
    result = read_file(path)
    report = validate_frame(result.frame, unparsable=result.unparsable)
    assert not report.fatal, report.to_dict()
    write_version(result.frame, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--excel-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv_path = root / "long.csv"
        _frame(500, 2000).to_csv(csv_path, index=False)
        print(f"CSV: {csv_path.stat().st_size / 1e6:.1f} MB, 1,000,000 rows")
        base_out = root / "base.parquet"
        base = _best(lambda: pd.read_csv(csv_path).to_parquet(base_out), args.repeat)
        ours = _best(lambda: _import(csv_path, root / "v_csv"), args.repeat)
        verdict = "OK" if ours <= 2 * base and ours < 6 else "MISSED"
        print(f"  pandas read_csv + to_parquet : {base:6.2f} s")
        print(f"  quantlab import (end to end) : {ours:6.2f} s  ({ours / base:.2f}x) {verdict}")

        if args.excel_rows:
            n_sym = 50
            xl = root / "long.xlsx"
            _frame(n_sym, args.excel_rows // n_sym, seed=1).to_excel(
                xl, index=False, engine="xlsxwriter"
            )
            print(f"Excel: {xl.stat().st_size / 1e6:.1f} MB, {args.excel_rows:,} rows")
            base_x = _best(
                lambda: pd.read_excel(xl, engine="openpyxl").to_parquet(root / "bx.parquet"), 1
            )
            ours_x = _best(lambda: _import(xl, root / "v_xlsx"), 1)
            print(f"  pandas read_excel + to_parquet: {base_x:6.2f} s")
            print(f"  quantlab import (end to end)  : {ours_x:6.2f} s  ({ours_x / base_x:.2f}x)")

        big = _frame(500, 2520, seed=2)
        big["date"] = pd.to_datetime(big["date"])
        write_version(big, root / "v_panel")
        big.to_parquet(root / "panel_base.parquet")
        load = _best(lambda: load_panel(root / "v_panel", cache=None), args.repeat)

        def pivot() -> None:
            df = pd.read_parquet(root / "panel_base.parquet")
            for f in FIELDS:
                df.pivot(index="date", columns="symbol", values=f).to_numpy()

        base_p = _best(pivot, args.repeat)
        cached = _best(lambda: load_panel(root / "v_panel"), args.repeat)
        print("Panel 500 x 2,520 x 6 fields:")
        print(f"  pandas read_parquet + pivot   : {base_p:6.3f} s")
        print(
            f"  quantlab load_panel (no cache): {load:6.3f} s  {'OK' if load < 0.3 else 'MISSED'}"
        )
        print(f"  quantlab load_panel (cached)  : {cached * 1e3:6.3f} ms")


if __name__ == "__main__":
    main()
