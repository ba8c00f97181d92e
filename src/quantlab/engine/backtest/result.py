"""What a simulation returns: equity, cash, positions, trades, rejected orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from quantlab.engine.backtest.rows_nb import position_weight_sums, weight_nb
from quantlab.engine.backtest.simulate_nb import (
    RJ_DAY,
    RJ_REASON,
    RJ_SIDE,
    RJ_SYMBOL,
    TR_ADJ_PRICE,
    TR_COMMISSION,
    TR_DAY,
    TR_HOLD,
    TR_PNL,
    TR_PRICE,
    TR_QTY,
    TR_SIDE,
    TR_SLIPPAGE,
    TR_SYMBOL,
    TR_TAX,
)
from quantlab.engine.backtest.state import SUM_CASH, SUM_EQUITY, SUM_STEP


@dataclass(frozen=True)
class Trades:
    """Filled orders, in fill order. All arrays have one entry per trade.

    ``symbol`` and ``day`` index the instruments and calendar; ``side`` is +1 buy / −1 sell;
    ``price`` is the fill price after slippage; ``commission``, ``tax`` and ``slippage`` are
    currency amounts (slippage = |fill − quoted| × quantity); ``pnl`` is realised on sells,
    net of buy and sell costs (0 on buys); ``holding_days`` counts trading days since entry.
    Prices and quantities are the traded (raw) ones; ``adjusted_price`` is the fill on the
    data's adjusted basis (price x adjustment factor; equal to ``price`` for raw data).
    """

    symbol: np.ndarray
    day: np.ndarray
    side: np.ndarray
    price: np.ndarray
    quantity: np.ndarray
    commission: np.ndarray
    tax: np.ndarray
    slippage: np.ndarray
    pnl: np.ndarray
    holding_days: np.ndarray
    adjusted_price: np.ndarray

    @classmethod
    def from_records(cls, ints: np.ndarray, floats: np.ndarray) -> Trades:
        """Build from the kernel's record buffers (already trimmed to filled rows)."""
        return cls(
            symbol=ints[:, TR_SYMBOL].copy(),
            day=ints[:, TR_DAY].copy(),
            side=ints[:, TR_SIDE].astype(np.int8),
            price=floats[:, TR_PRICE].copy(),
            quantity=floats[:, TR_QTY].copy(),
            commission=floats[:, TR_COMMISSION].copy(),
            tax=floats[:, TR_TAX].copy(),
            slippage=floats[:, TR_SLIPPAGE].copy(),
            pnl=floats[:, TR_PNL].copy(),
            holding_days=ints[:, TR_HOLD].copy(),
            adjusted_price=floats[:, TR_ADJ_PRICE].copy(),
        )

    def __len__(self) -> int:
        return int(self.symbol.shape[0])


@dataclass(frozen=True)
class Rejections:
    """Orders (or parts of orders) not filled, with an ``enums.RejectReason`` code each."""

    day: np.ndarray
    symbol: np.ndarray
    side: np.ndarray
    quantity: np.ndarray
    reason: np.ndarray

    @classmethod
    def from_records(cls, ints: np.ndarray, qty: np.ndarray) -> Rejections:
        """Build from the kernel's record buffers (already trimmed to filled rows)."""
        return cls(
            day=ints[:, RJ_DAY].copy(),
            symbol=ints[:, RJ_SYMBOL].copy(),
            side=ints[:, RJ_SIDE].astype(np.int8),
            quantity=qty.copy(),
            reason=ints[:, RJ_REASON].astype(np.int16),
        )

    def __len__(self) -> int:
        return int(self.day.shape[0])


class DailyArrays:
    """A run's ``(T, G)`` equity and cash and ``(T, N)`` positions, held or, for a lean run
    (the variants of a batch), simulated again on first use: same inputs, same kernel,
    the same numbers. A lean run's ``sums`` (``state.SUM_*`` rows, ``(5, T)``) are what
    the metrics read of them."""

    def __init__(
        self,
        arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        *,
        replay: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
        sums: np.ndarray | None = None,
    ) -> None:
        if (arrays is None) == (replay is None):
            raise ValueError("give the arrays or a replay, one of the two")
        self._arrays = arrays
        self._replay = replay
        self.sums = sums

    @property
    def held(self) -> bool:
        """True once the arrays exist (given, or replayed)."""
        return self._arrays is not None

    def get(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Equity, cash and positions (replayed once, then kept)."""
        if self._arrays is None:
            assert self._replay is not None
            self._arrays = self._replay()
            self._replay = None
        return self._arrays


@dataclass(frozen=True)
class BacktestResult:
    """Outputs of a run over ``T`` days and ``N`` instruments in ``G`` cash groups.

    ``equity`` and ``cash`` are ``(T, G)`` in currency at each day's close (G = 1 for a shared
    portfolio, G = N for independent per-column portfolios); days not simulated (a cancelled
    run) are NaN and ``incomplete`` is True. ``positions`` holds share quantities ``(T, N)``;
    values and weights are derived on request to keep memory at one float per cell.
    The three are held by ``daily`` (a lean run's are simulated again when first read).
    ``benchmark`` is the benchmark close rescaled to the initial capital, when given.
    With adjusted data ``close`` and ``positions`` are raw (traded) prices and shares and
    ``factor`` the adjustment factor (adjusted = raw x factor); None for raw data.
    """

    calendar: np.ndarray
    instruments: np.ndarray
    daily: DailyArrays
    close: np.ndarray
    trades: Trades
    rejections: Rejections
    benchmark: np.ndarray | None
    incomplete: bool
    days_run: int
    marks: np.ndarray | None = field(default=None, repr=False, compare=False)
    factor: np.ndarray | None = None

    @property
    def equity(self) -> np.ndarray:
        """Equity per cash group at each close ``(T, G)``."""
        return self.daily.get()[0]

    @property
    def cash(self) -> np.ndarray:
        """Cash per cash group at each close ``(T, G)``."""
        return self.daily.get()[1]

    @property
    def positions(self) -> np.ndarray:
        """Share quantities ``(T, N)``."""
        return self.daily.get()[2]

    @property
    def adjusted_close(self) -> np.ndarray:
        """Closes on the adjusted basis (continuous through splits), for asset returns."""
        return self.close if self.factor is None else self.close * self.factor

    @property
    def total_equity(self) -> np.ndarray:
        """Equity summed over cash groups ``(T,)``."""
        sums = self.daily.sums
        return self.equity.sum(axis=1) if sums is None else sums[SUM_EQUITY]

    @property
    def total_cash(self) -> np.ndarray:
        """Cash summed over cash groups ``(T,)``."""
        sums = self.daily.sums
        return self.cash.sum(axis=1) if sums is None else sums[SUM_CASH]

    def weight_sums(self, n: int) -> np.ndarray:
        """``rows_nb.position_weight_sums`` of the first ``n`` days ``(3, n)``: the weights'
        one-way step, gross and net sums (a lean run summed them as it went)."""
        sums = self.daily.sums
        if sums is not None:
            return sums[SUM_STEP:, :n]
        return position_weight_sums(self.positions[:n], self.last_close()[:n], self.equity[:n])

    def last_close(self) -> np.ndarray:
        """The close carried forward over missing days ``(T, N)`` (NaN before the first);
        ``marks`` when the simulator passed them (variants of a batch share one array)."""
        return ffill_nb(self.close) if self.marks is None else self.marks

    def positions_value(self) -> np.ndarray:
        """Market value per day and instrument ``(T, N)``, at the last known close."""
        return np.nan_to_num(self.positions * self.last_close(), nan=0.0)

    def positions_weight(self) -> np.ndarray:
        """Position value over its group's equity ``(T, N)`` (shared portfolio: total equity);
        0 where that equity is not positive."""
        return weights_nb(self.positions, self.last_close(), self.equity)


@njit(cache=True, nogil=True)
def ffill_nb(a):
    """Each column's last non-NaN value carried forward (NaN before the first)."""
    t_len, n = a.shape
    out = np.empty((t_len, n))
    last = np.full(n, np.nan)
    for t in range(t_len):
        for i in range(n):
            v = a[t, i]
            if v == v:
                last[i] = v
            out[t, i] = last[i]
    return out


@njit(cache=True, nogil=True)
def weights_nb(positions, marks, equity):
    """``nan_to_num(positions * marks) / equity`` where the equity (of the column's group:
    one column = the whole portfolio) is positive, else 0; element by element, in one pass."""
    t_len, n = positions.shape
    shared = equity.shape[1] == 1
    top = np.finfo(np.float64).max
    out = np.empty((t_len, n))
    for t in range(t_len):
        for i in range(n):
            out[t, i] = weight_nb(positions, marks, equity, t, i, shared, top)
    return out
