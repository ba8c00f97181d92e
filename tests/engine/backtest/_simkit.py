"""Small hand-built panels for simulator scenarios."""

from __future__ import annotations

import numpy as np

from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.enums import PriceMode
from quantlab.engine.data import Panel


def bdays(start: str, n: int) -> np.ndarray:
    """``n`` business days from ``start``."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + 3 * n + 7)
    return days[np.is_busday(days)][:n]


def make_panel(
    close,
    open_=None,
    high=None,
    low=None,
    volume=None,
    codes=("600000.SH",),
    start="2023-08-21",
    **extra,
) -> Panel:
    """Panel from ``(T,)`` or ``(T, N)`` lists; open/high/low default to close, volume to 1e6."""

    def arr(x, default):
        a = np.asarray(default if x is None else x, dtype=float)
        return a[:, None] if a.ndim == 1 else a

    c = arr(close, None)
    fields = {
        "close": c,
        "open": arr(open_, c),
        "high": arr(high, c),
        "low": arr(low, c),
        "volume": arr(volume, np.full(c.shape, 1e6)),
    }
    fields.update({k: arr(v, None) for k, v in extra.items()})
    return Panel.from_arrays(bdays(start, c.shape[0]), list(codes), fields)


def cfg(base: BacktestConfig | None = None, **kw) -> BacktestConfig:
    """``base`` (cn_a_share defaults) with ``section__field`` overrides; close fills by default."""
    kw.setdefault("execution__price", PriceMode.CLOSE)
    kw.setdefault("execution__init_cash", 100_000.0)
    return (base or BacktestConfig()).replace(**kw)


def flags(t_len: int, rows, n: int = 1, col: int = 0) -> np.ndarray:
    """Boolean ``(T, n)`` with True on ``rows`` of column ``col``."""
    out = np.zeros((t_len, n), dtype=bool)
    out[list(rows), col] = True
    return out
