"""Speed of the indicator catalog next to TA-Lib, pandas and vectorbt on the same panel.

Run: .venv/bin/python benchmarks/indicators.py [--tile 4] [--repeat 3] [--no-vectorbt]

The panel is the 157 CSI 300 stocks of the Qbot qfq set (2010-2020) on their union
calendar, so later listings and suspensions are NaN stretches, tiled ``--tile`` times
across instruments. For each indicator it prints the best of ``--repeat`` runs of:

* ``quantlab``: ``indicators.compute`` (skips each instrument's missing bars);
* ``talib loop``: TA-Lib called per instrument on that instrument's valid bars, the
  same semantics done by hand (for TDX-only formulas: the nearest TA-Lib function);
* ``pandas``: the formula with 2-D ``rolling``/``ewm`` over the NaN-holed panel (not
  the same gap semantics: a NaN in a window gives NaN rather than being skipped);
* ``vectorbt``: its built-in indicator where it has one (optional ``bench`` extra).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import talib

from quantlab.engine.data import Panel
from quantlab.engine.indicators import compute

REALDATA = Path(
    os.environ.get("QUANTLAB_REALDATA", Path(__file__).parents[2] / "shared" / "realdata")
)
QFQ = REALDATA / "cn" / "qbot_tushare_qfq_2010_2020"
FIELDS = ("open", "high", "low", "close", "volume")


def load_panel(tile: int) -> Panel:
    """The qfq set as a panel, instruments repeated ``tile`` times."""
    frames = {}
    for path in sorted(QFQ.glob("*.csv")):
        df = pd.read_csv(path, usecols=["trade_date", "open", "high", "low", "close", "vol"])
        df.index = pd.to_datetime(df["trade_date"].astype(str), format="%Y%m%d")
        frames[path.stem] = df.rename(columns={"vol": "volume"}).sort_index()
    calendar = sorted(set().union(*(df.index for df in frames.values())))
    codes = [f"{c}#{k}" for k in range(tile) for c in frames]
    fields = {
        f: np.tile(
            np.column_stack([df[f].reindex(calendar).to_numpy() for df in frames.values()]), tile
        )
        for f in FIELDS
    }
    return Panel.from_arrays(np.array(calendar, dtype="datetime64[D]"), codes, fields)


def best(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: numba cache load, vectorbt compilation
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def talib_loop(panel: Panel, func: Callable[..., object], inputs: tuple[str, ...], **kw: object):
    """TA-Lib per instrument on its valid bars, scattered back: the hand-written peer."""
    arrays = [panel.fields[f] for f in inputs]
    valid = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    out = np.full(panel.shape, np.nan)
    for j in range(panel.shape[1]):
        rows = np.flatnonzero(valid[:, j])
        if rows.size:
            res = func(*[np.ascontiguousarray(a[rows, j]) for a in arrays], **kw)
            out[rows, j] = res[0] if isinstance(res, tuple | list) else res
    return out


def pandas_cases(df: dict[str, pd.DataFrame]) -> dict[str, Callable[[], object]]:
    c, h, lo, v = df["close"], df["high"], df["low"], df["volume"]

    def macd() -> object:
        dif = c.ewm(span=12, adjust=False).mean() - c.ewm(span=26, adjust=False).mean()
        return 2 * (dif - dif.ewm(span=9, adjust=False).mean())

    def rsi() -> object:
        chg = c.diff()
        up = chg.clip(lower=0).ewm(alpha=1 / 6, adjust=False).mean()
        return up / chg.abs().ewm(alpha=1 / 6, adjust=False).mean()

    def kdj() -> object:
        ll = lo.rolling(9, min_periods=1).min()
        rsv = (c - ll) / (h.rolling(9, min_periods=1).max() - ll) * 100
        k = rsv.ewm(alpha=1 / 3, adjust=False).mean()
        return k.ewm(alpha=1 / 3, adjust=False).mean()

    def atr() -> object:
        pc = c.shift()
        tr = np.maximum(np.maximum(h - lo, (h - pc).abs()), (pc - lo).abs())
        return tr.rolling(14).mean()

    def obv() -> object:
        return (np.sign(c.diff()) * v).cumsum()

    return {
        "MA": lambda: c.rolling(20).mean(),
        "EMA": lambda: c.ewm(span=12, adjust=False).mean(),
        "MACD": macd,
        "RSI": rsi,
        "KDJ": kdj,
        "BOLL": lambda: c.rolling(20).mean() + 2 * c.rolling(20).std(ddof=0),
        "ATR": atr,
        "OBV": obv,
    }


def vectorbt_cases(df: dict[str, pd.DataFrame]) -> dict[str, Callable[[], object]]:
    import vectorbt as vbt

    c, h, lo, v = df["close"], df["high"], df["low"], df["volume"]
    return {
        "MA": lambda: vbt.MA.run(c, 20).ma,
        "EMA": lambda: vbt.MA.run(c, 12, ewm=True).ma,
        "MACD": lambda: vbt.MACD.run(c).hist,
        "RSI": lambda: vbt.RSI.run(c, 6).rsi,
        "KDJ": lambda: vbt.STOCH.run(h, lo, c, 9, 3).percent_d,
        "BOLL": lambda: vbt.BBANDS.run(c, 20).upper,
        "ATR": lambda: vbt.ATR.run(h, lo, c, 14).atr,
        "OBV": lambda: vbt.OBV.run(c, v).obv,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-vectorbt", action="store_true")
    args = parser.parse_args()

    panel = load_panel(args.tile)
    t, n = panel.shape
    missing = 1 - np.isfinite(panel.fields["close"]).mean()
    print(f"panel: {t} days x {n} instruments, {missing:.1%} missing close cells")

    talib_cases: dict[str, Callable[[], object]] = {
        "MA": lambda: talib_loop(panel, talib.SMA, ("close",), timeperiod=20),
        "EMA": lambda: talib_loop(panel, talib.EMA, ("close",), timeperiod=12),
        "MACD": lambda: talib_loop(panel, talib.MACD, ("close",)),
        "RSI": lambda: talib_loop(panel, talib.RSI, ("close",), timeperiod=6),
        "KDJ": lambda: talib_loop(panel, talib.STOCH, ("high", "low", "close"), fastk_period=9),
        "BOLL": lambda: talib_loop(panel, talib.BBANDS, ("close",), timeperiod=20),
        "ATR": lambda: talib_loop(panel, talib.ATR, ("high", "low", "close")),
        "OBV": lambda: talib_loop(panel, talib.OBV, ("close", "volume")),
    }
    frames = {f: pd.DataFrame(panel.fields[f]) for f in FIELDS}
    peers = {"talib loop": talib_cases, "pandas": pandas_cases(frames)}
    if not args.no_vectorbt:
        try:
            peers["vectorbt"] = vectorbt_cases(frames)
        except ImportError:
            print("vectorbt not installed (bench extra): skipped")

    header = f"{'indicator':<12}{'quantlab':>10}" + "".join(f"{p:>12}" for p in peers)
    print(f"{header}   (seconds, best of {args.repeat})")
    for name in talib_cases:
        ours = best(partial(compute, name, panel), args.repeat)
        row = f"{name:<12}{ours:>10.4f}"
        for cases in peers.values():
            row += f"{best(cases[name], args.repeat):>12.4f}"
        print(row)
    everything = best(
        lambda: [
            compute(s, panel) for s in ("MA", "EMA", "MACD", "RSI", "KDJ", "BOLL", "ATR", "OBV")
        ],
        1,
    )
    print(f"all eight through the catalog: {everything:.3f} s")


if __name__ == "__main__":
    main()
