"""Moving-average crossover on independent per-column portfolios: one run or a whole grid.

This is the fast path for parameter sweeps (vectorbt's ``from_signals`` model, rules off).
For market rules, lots and shared cash use :class:`~quantlab.engine.backtest.simulator.Simulator`
with ``PortfolioMode.PER_COLUMN`` or ``SHARED`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quantlab.engine.backtest.crossover_nb import ma_cross_grid_nb, ma_cross_nb
from quantlab.engine.spec import DEFAULT_CAPITAL


@dataclass(frozen=True)
class CrossoverResult:
    """Per column: ``final_value`` (currency), ``orders`` (count), ``max_drawdown`` (fraction, ≥ 0);
    ``equity`` ``(T, N)`` when requested (NaN on bars without a price)."""

    final_value: np.ndarray
    orders: np.ndarray
    max_drawdown: np.ndarray
    equity: np.ndarray | None


@dataclass(frozen=True)
class CrossoverGrid:
    """Per (pair, column): ``(P, N)`` arrays; ``fast``/``slow`` list the P window pairs."""

    fast: np.ndarray
    slow: np.ndarray
    final_value: np.ndarray
    orders: np.ndarray
    max_drawdown: np.ndarray


def ma_crossover(
    close: np.ndarray,
    fast: int,
    slow: int,
    init_cash: float = DEFAULT_CAPITAL,
    fees: float = 0.0,
    slippage: float = 0.0,
    keep_equity: bool = True,
) -> CrossoverResult:
    """Dual simple-moving-average crossover on each column of ``close`` ``(T, N)``."""
    a = _columns(close)
    if fast < 1 or slow < 1:
        raise ValueError("windows must be positive")
    equity = np.empty(a.shape, order="F") if keep_equity else np.empty((0, a.shape[1]))
    final, orders, dd = ma_cross_nb(a, int(fast), int(slow), init_cash, fees, slippage, equity)
    return CrossoverResult(final, orders, dd, equity if keep_equity else None)


def window_pairs(fast: Sequence[int], slow: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """All ``(f, s)`` with ``f`` from ``fast``, ``s`` from ``slow`` and ``f < s``, fast-major."""
    pairs = [(f, s) for f in fast for s in slow if f < s]
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


def ma_crossover_grid(
    close: np.ndarray,
    fast: Sequence[int],
    slow: Sequence[int],
    init_cash: float = DEFAULT_CAPITAL,
    fees: float = 0.0,
    slippage: float = 0.0,
) -> CrossoverGrid:
    """Every ``fast < slow`` window pair on every column, without per-pair arrays in memory."""
    a = _columns(close)
    fasts, slows = window_pairs(fast, slow)
    if (fasts < 1).any():
        raise ValueError("windows must be positive")
    final, orders, dd = ma_cross_grid_nb(a, fasts, slows, init_cash, fees, slippage)
    return CrossoverGrid(fasts, slows, final, orders, dd)


def _columns(close: np.ndarray) -> np.ndarray:
    a = np.asarray(close, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    # Each column is walked top to bottom: instrument-major memory keeps it contiguous.
    return np.asfortranarray(a)
