"""Serialisable simulation state: everything needed to continue a run in another process.

``to_bytes``/``from_bytes`` use NumPy's ``.npz`` container with ``allow_pickle=False``, so a
checkpoint holds only plain arrays and can be loaded safely.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields

import numpy as np

TRADE_INT_COLS = 4
TRADE_FLOAT_COLS = 7  # price, qty, commission, tax, slippage, pnl, adjusted price
REJECT_INT_COLS = 4
# Rows of a lean state's ``sums``: total equity, total cash, and the weights' one-way step,
# gross and net sums (``rows_nb.weight_row_sums``'s three rows).
SUM_EQUITY, SUM_CASH, SUM_STEP, SUM_GROSS, SUM_NET = 0, 1, 2, 3, 4
N_SUMS = 5


@dataclass
class SimState:
    """Portfolio state after ``t`` days, plus the outputs recorded so far.

    Per cash group (one for a shared portfolio): ``cash``. Per instrument: ``qty`` (shares),
    ``basis`` (cost of the open position including buy costs), ``avg_px`` (average fill price),
    ``entry_day``, ``peak`` (highest high since entry), ``stop_atr`` (ATR at entry),
    ``last_close``. Outputs: ``equity``/``cash_hist`` ``(T, G)``, ``positions`` ``(T, N)``
    quantities, and record buffers whose first ``counts`` rows are filled.

    A ``lean`` state (the variants of a batch, whose callers read metrics and returns)
    records no ``(T, G)`` or ``(T, N)`` array: those three have no rows, and ``sums``
    ``(N_SUMS, T)`` holds what the metrics read of them, day by day (the same arithmetic
    as summing the arrays); ``prev_w`` is the previous day's weights it needs.
    """

    t: int
    cash: np.ndarray
    qty: np.ndarray
    basis: np.ndarray
    avg_px: np.ndarray
    entry_day: np.ndarray
    peak: np.ndarray
    stop_atr: np.ndarray
    last_close: np.ndarray
    equity: np.ndarray
    cash_hist: np.ndarray
    positions: np.ndarray
    trades_i: np.ndarray
    trades_f: np.ndarray
    rejects_i: np.ndarray
    rejects_f: np.ndarray
    counts: np.ndarray  # [trades, rejects]
    cancelled: bool = False
    sums: np.ndarray = field(default_factory=lambda: np.empty((N_SUMS, 0)))
    prev_w: np.ndarray = field(default_factory=lambda: np.empty(0))

    @classmethod
    def new(
        cls, n_days: int, n_instruments: int, n_groups: int, init_cash: float, lean: bool = False
    ) -> SimState:
        """A flat portfolio before day 0 (``lean``: recording the daily sums only)."""
        n, g = n_instruments, n_groups
        cap = max(16, 4 * n)
        rows = 0 if lean else n_days
        return cls(
            t=0,
            cash=np.full(g, float(init_cash)),
            qty=np.zeros(n),
            basis=np.zeros(n),
            avg_px=np.zeros(n),
            entry_day=np.full(n, -1, dtype=np.int64),
            peak=np.zeros(n),
            stop_atr=np.full(n, np.nan),
            last_close=np.full(n, np.nan),
            equity=np.full((rows, g), np.nan),
            cash_hist=np.full((rows, g), np.nan),
            positions=np.zeros((rows, n)),
            trades_i=np.zeros((cap, TRADE_INT_COLS), dtype=np.int64),
            trades_f=np.zeros((cap, TRADE_FLOAT_COLS)),
            rejects_i=np.zeros((cap, REJECT_INT_COLS), dtype=np.int64),
            rejects_f=np.zeros(cap),
            counts=np.zeros(2, dtype=np.int64),
            sums=np.full((N_SUMS, n_days if lean else 0), np.nan),
            prev_w=np.zeros(n if lean else 0),
        )

    @property
    def lean(self) -> bool:
        """True when the state records the daily sums instead of the daily arrays."""
        return self.sums.shape[1] > 0

    @property
    def n_days(self) -> int:
        """Length of the calendar this state walks."""
        return int(self.sums.shape[1] if self.lean else self.equity.shape[0])

    @property
    def done(self) -> bool:
        """True when every day has been simulated."""
        return self.t >= self.n_days

    def ensure_capacity(self, trades: int, rejects: int) -> None:
        """Grow the record buffers (doubling) so they hold at least the given free rows."""
        n_tr, n_rj = int(self.counts[0]), int(self.counts[1])
        if n_tr + trades > self.trades_i.shape[0]:
            cap = max(2 * self.trades_i.shape[0], n_tr + trades)
            self.trades_i = _grow(self.trades_i, cap)
            self.trades_f = _grow(self.trades_f, cap)
        if n_rj + rejects > self.rejects_i.shape[0]:
            cap = max(2 * self.rejects_i.shape[0], n_rj + rejects)
            self.rejects_i = _grow(self.rejects_i, cap)
            self.rejects_f = _grow(self.rejects_f, cap)

    def to_bytes(self) -> bytes:
        """Checkpoint as ``.npz`` bytes (record buffers trimmed to their filled rows)."""
        arrays: dict[str, np.ndarray] = {}
        n_tr, n_rj = int(self.counts[0]), int(self.counts[1])
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("trades_i", "trades_f"):
                value = value[:n_tr]
            elif f.name in ("rejects_i", "rejects_f"):
                value = value[:n_rj]
            arrays[f.name] = np.asarray(value)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SimState:
        """Inverse of :meth:`to_bytes`; never unpickles."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            # a checkpoint from before lean states has no sums (nor needs any)
            values = {f.name: npz[f.name] for f in fields(cls) if f.name in npz}
        values["t"] = int(values["t"])
        values["cancelled"] = bool(values["cancelled"])
        tf = values["trades_f"]
        if tf.shape[1] < TRADE_FLOAT_COLS:  # a checkpoint from before adjusted prices
            extra = np.repeat(tf[:, :1], TRADE_FLOAT_COLS - tf.shape[1], axis=1)
            values["trades_f"] = np.hstack([tf, extra])
        state = cls(**values)
        state.ensure_capacity(16, 16)
        return state


def _grow(a: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
