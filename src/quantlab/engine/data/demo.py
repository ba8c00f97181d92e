"""A deterministic synthetic market for demos and tests (no real data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantlab.engine.data.frame import DATE, SYMBOL

__all__ = ["INDEX_SYMBOL", "demo_frame"]

INDEX_SYMBOL = "DEMO.IDX"


def demo_frame(
    n_symbols: int = 300, n_days: int = 756, seed: int = 42, start: str = "2020-01-02"
) -> pd.DataFrame:
    """A seeded A-share-like long frame: prices, volume, suspensions, limits, ST, listings.

    Returns ``date, symbol, open, high, low, close, volume, amount, factor, st, limit``
    (``st`` 0/1, ``limit`` +1 limit-up, -1 limit-down, 0 otherwise; listing dates in
    ``frame.attrs["listing"]``) for ``n_symbols`` stocks over ``n_days``
    weekdays plus an equal-weight index ``DEMO.IDX``. Log returns are a market factor
    plus idiosyncratic noise (daily vol about 2%), clipped to the ±10% limit (±5% for ST
    names), fat-tailed so limit-up/down days occur; about 1% of stock-days are suspensions (zero
    volume, prices at the previous close); a fifth of the stocks list after the start
    (no rows before). Volume is lognormal around a per-stock level, amount = volume x
    the average price. The same arguments always give the same frame.
    """
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, periods=n_days)
    t, n = n_days, n_symbols
    symbols = np.array([f"{600000 + i:06d}.SH" if i % 2 else f"{i:06d}.SZ" for i in range(n)])
    st = rng.random(n) < 0.05
    limit = np.where(st, 0.05, 0.10)
    market = rng.normal(0.0003, 0.012, t)
    beta = rng.uniform(0.6, 1.4, n)
    # Student-t noise: fat tails put about 1% of days at a price limit, as in A-shares
    rets = market[:, None] * beta + 0.012 * rng.standard_t(3, (t, n))
    rets = np.clip(rets, np.log1p(-limit), np.log1p(limit))
    at_limit = np.where(rets >= np.log1p(limit) - 1e-12, 1.0, 0.0)
    at_limit[rets <= np.log1p(-limit) + 1e-12] = -1.0
    suspended = rng.random((t, n)) < 0.01
    rets[suspended] = 0.0
    at_limit[suspended] = 0.0
    close = rng.lognormal(2.5, 0.8, n) * np.exp(np.cumsum(rets, axis=0))
    prev = np.vstack([close[:1] / np.exp(rets[:1]), close[:-1]])
    gap = np.exp(rng.normal(0, 0.004, (t, n)))
    open_ = np.clip(prev * gap, prev * (1 - limit), prev * (1 + limit))
    spread = np.abs(rng.normal(0, 0.01, (t, n)))
    high = np.minimum(np.maximum(open_, close) * (1 + spread), prev * (1 + limit))
    low = np.maximum(np.minimum(open_, close) * (1 - spread), prev * (1 - limit))
    volume = np.round(rng.lognormal(13, 1, n) * rng.lognormal(0, 0.4, (t, n)), -2)
    for arr in (open_, high, low):
        arr[suspended] = prev[suspended]
    close[suspended] = prev[suspended]
    volume[suspended] = 0.0
    listing = np.where(rng.random(n) < 0.2, rng.integers(1, t // 2, n), 0)
    alive = np.arange(t)[:, None] >= listing[None, :]
    factor = np.cumprod(np.where(rng.random((t, n)) < 0.002, 1.1, 1.0), axis=0)

    di, si = np.nonzero(alive.T)[1], np.nonzero(alive.T)[0]
    frame = pd.DataFrame(
        {
            DATE: days[di],
            SYMBOL: symbols[si],
            "open": open_[di, si].round(2),
            "high": high[di, si].round(2),
            "low": low[di, si].round(2),
            "close": close[di, si].round(2),
            "volume": volume[di, si],
            "amount": (volume * (open_ + high + low + close) / 4)[di, si].round(2),
            "factor": factor[di, si],
            "st": st[si].astype(float),
            "limit": at_limit[di, si],
        }
    )
    level = 1000 * np.exp(np.nancumsum(np.nanmean(np.where(alive, rets, np.nan), axis=1)))
    index = pd.DataFrame(
        {
            DATE: days,
            SYMBOL: INDEX_SYMBOL,
            "open": level,
            "high": level,
            "low": level,
            "close": level,
            "volume": np.nansum(np.where(alive, volume, 0), axis=1),
            "amount": np.nan,
            "factor": 1.0,
            "st": 0.0,
            "limit": 0.0,
        }
    )
    out = pd.concat([frame, index], ignore_index=True).sort_values(
        [SYMBOL, DATE], ignore_index=True
    )
    out.attrs["listing"] = {
        s: days[i].date().isoformat() for s, i in zip(symbols, listing, strict=True)
    }
    return out
