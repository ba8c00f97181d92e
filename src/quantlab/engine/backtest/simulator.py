"""The simulator API: prepare arrays once, then walk the calendar in resumable chunks.

>>> sim = Simulator(panel, TopkDropout(scores, topk=50, n_drop=5), cn_a_share())
>>> result = sim.run()                      # straight through
>>> state = sim.run_chunk(sim.initial_state(), 250)
>>> blob = state.to_bytes()                 # pause; later, maybe in another process:
>>> result = sim.run(SimState.from_bytes(blob))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from quantlab.engine.background import Background
from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.crossings import Crossings
from quantlab.engine.backtest.enums import (
    KIND_SIGNALS,
    KIND_TOPK,
    KIND_WEIGHTS,
    SIZING_CODES,
    SLIPPAGE_CODES,
    STOP_CODES,
    PortfolioMode,
    PriceMode,
    SizingMode,
    StopMode,
)
from quantlab.engine.backtest.market import (
    buy_exclusions,
    price_limits,
    stamp_tax_by_day,
    traded_panel,
)
from quantlab.engine.backtest.prep_nb import atr_nb, realised_vol_nb
from quantlab.engine.backtest.result import (
    BacktestResult,
    DailyArrays,
    Rejections,
    Trades,
    ffill_nb,
)
from quantlab.engine.backtest.rows_nb import pairwise_plan
from quantlab.engine.backtest.simulate_nb import (
    F_AMOUNT,
    F_COMM_MIN,
    F_COMM_RATE,
    F_FRACTION,
    F_LOT,
    F_MIN_VOLUME,
    F_RISK_DEGREE,
    F_SL_VALUE,
    F_SLIP_IMPACT,
    F_SLIP_VALUE,
    F_STOCK_CAP,
    F_TICK,
    F_TP_VALUE,
    F_VOL_TARGET,
    F_VOLUME_CAP,
    I_HOLD_THRESH,
    I_KIND,
    I_MAX_HOLDINGS,
    I_NDROP,
    I_OPEN_FILLS,
    I_SIZING,
    I_SL_MODE,
    I_SLIP_MODE,
    I_SUSPENSION,
    I_T_PLUS_1,
    I_TOPK,
    I_TP_MODE,
    N_FP,
    N_IP,
    REJECTS_PER_NAME_DAY,
    RJ_DAY,
    RJ_SIDE,
    TR_DAY,
    TR_SIDE,
    TRADES_PER_NAME_DAY,
    merge_records_nb,
    simulate_chunk_nb,
    simulate_columns_nb,
)
from quantlab.engine.backtest.state import N_SUMS, SimState
from quantlab.engine.backtest.strategies import Signals, Strategy, TargetWeights, rebalance_mask
from quantlab.engine.data import Panel

PERIODS_PER_YEAR = 252
# Days x instruments from which the column kernel runs on two threads (a column half each):
# a chunk large enough that the thread, the second record buffers and the merge are amortised
# (engine.run's single chunk of a large panel, not a progress-reporting run's 60-day ones).
SPLIT_CELLS = 500_000
_UNUSED = np.zeros((1, 1))  # an array the kernel never reads in this configuration
# An array the kernel tests for absence (limits, ATR, factor): (0, 0), never a real panel's
# shape. A one-row stand-in is a one-day run's shape, whose real factor would then be ignored.
_ABSENT = np.empty((0, 0))
_NO_PLAN = np.empty((0, 2), dtype=np.int64)
# The kernels' ``lean`` argument of a run that records the daily arrays (no sums columns).
_NOT_LEAN = (np.empty((N_SUMS, 0)), np.empty(0), _UNUSED, _NO_PLAN, _NO_PLAN, np.empty((3, 0)),
             np.empty(0), np.empty(1))  # fmt: skip


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# The column kernel's ``cross`` argument when it reads signal panels (no crossings).
_NO_SERIES = _read_only(np.zeros((2, 2), dtype=np.float32, order="F"))  # Crossings' layout
_NO_INDEX = np.empty(0, dtype=np.int64)
_NO_CROSS = (_NO_SERIES, _NO_SERIES, _NO_SERIES, _NO_SERIES, _NO_INDEX, _NO_INDEX, _NO_INDEX,
             np.zeros(5, dtype=np.int64))  # fmt: skip
_MARKET_ATTRS = ("history", "history_factor", "factor", "lag", "close", "_marks", "exec_px",
                 "open", "high", "low", "volume", "mkt")  # fmt: skip


@dataclass(frozen=True)
class Progress:
    """One finished chunk: the next day to run, the last simulated date, and its new trades."""

    day_index: int
    date: np.datetime64
    n_days: int
    trades: Trades

    @property
    def fraction(self) -> float:
        """Share of the calendar simulated so far (0–1)."""
        return self.day_index / self.n_days if self.n_days else 1.0


class Simulator:
    """Simulate one strategy on one panel under one configuration.

    The panel needs ``close``; ``open`` for NEXT_OPEN fills and gap-aware stops, ``high``/``low``
    for stops, ``volume`` (shares) for the suspension, liquidity and volume rules, ``vwap`` for
    NEXT_VWAP fills (else ``amount / volume`` when both exist; the close stands in where it
    is missing). See ``market`` for optional limit and flag fields. A panel that declares
    adjusted prices (``meta["price_basis"]``, see ``market``) is traded at raw prices
    (adjusted / factor) in raw shares: lots, the volume cap, commissions, taxes, price
    limits and the trade records use them; held shares follow the factor's changes, so
    equity follows the adjusted return path; trades also record the fill on the adjusted
    basis. Results are bit-identical for identical inputs, however
    the run is split into chunks.

    ``warmup`` leading rows of ``panel`` are history before the first simulated day: the
    market rules read them (the previous close of day 0's price limits, ATR and volatility
    windows) but they are not simulated; the strategy's arrays and ``benchmark`` cover the
    simulated rows only. :class:`~quantlab.engine.backtest.crossings.Crossings` signals are
    read as crossings by the per-column kernel and as their boolean panels otherwise.
    """

    def __init__(
        self,
        panel: Panel,
        strategy: Strategy | Crossings,
        config: BacktestConfig | None = None,
        benchmark: np.ndarray | None = None,
        warmup: int = 0,
        market: Simulator | None = None,
    ) -> None:
        self.warmup = int(warmup)
        if not 0 <= self.warmup < max(len(panel.calendar), 1):
            raise ValueError(f"warmup {warmup} leaves no day of the panel to simulate")
        self.adjusted_history = panel
        self.strategy = strategy
        self.config = config or BacktestConfig()
        self.benchmark = None if benchmark is None else np.asarray(benchmark, dtype=np.float64)
        if market is not None and market.shares_market(panel, self.config, self.warmup):
            self.panel: Panel = market.panel  # the variant of a batch: same data, same rules
            self._share_market(market)
        else:
            self.history, self.history_factor = traded_panel(panel)
            hist = self.history
            self.panel = hist.select(start=hist.calendar[self.warmup]) if self.warmup else hist
            factor = self.history_factor
            self.factor = None if factor is None else _c(factor[self.warmup :])
            self._prepare_market()
        self._prepare()

    def shares_market(self, panel: Panel, config: BacktestConfig, warmup: int) -> bool:
        """True when a simulator of ``panel`` under ``config`` from row ``warmup`` would build
        the same market arrays as this one (so it may take them: ``market=`` above)."""
        return self.adjusted_history is panel and self.warmup == warmup and self.config == config

    def _share_market(self, other: Simulator) -> None:
        for name in _MARKET_ATTRS:
            setattr(self, name, getattr(other, name))

    # -- preparation -------------------------------------------------------------------------

    def _prepare_market(self) -> None:
        """The arrays of the data and the market rules (shared by the variants of a batch)."""
        cfg, panel = self.config, self.panel
        hist, w = self.history, self.warmup
        t_len, n = panel.shape
        volume = panel.fields.get("volume")  # its row-major copy is made on a second thread
        volume_rows = None if volume is None else Background(_c, volume)  # (no GIL held)
        close = _c(panel["close"])
        ex = cfg.execution
        lag = 0 if ex.price == PriceMode.CLOSE else 1
        self.lag = lag
        if ex.price == PriceMode.CLOSE:
            exec_px = close
        elif ex.price == PriceMode.NEXT_OPEN:
            exec_px = _c(panel["open"])
        else:
            vwap = panel.fields.get("vwap")
            if vwap is None and "amount" in panel.fields and "volume" in panel.fields:
                # traded VWAP: amount (currency) over traded shares, after any adjustment
                with np.errstate(invalid="ignore", divide="ignore"):
                    vol = panel["volume"]
                    vwap = np.where(vol > 0, panel["amount"] / np.where(vol > 0, vol, 1.0), np.nan)
            exec_px = close if vwap is None else _c(np.where(np.isnan(vwap), panel["close"], vwap))
        self.close = close
        self._marks: list[np.ndarray] = []
        self.exec_px = exec_px
        self.open = self.high = self.low = _UNUSED  # the kernel reads them for stops only
        if (ex.stop_loss, ex.take_profit) != (StopMode.NONE, StopMode.NONE):
            self.open = _c(panel.fields.get("open", panel["close"]))
            self.high = _c(panel.fields.get("high", panel["close"]))
            self.low = _c(panel.fields.get("low", panel["close"]))
        self.volume = np.full((t_len, n), np.inf) if volume_rows is None else volume_rows.result()
        if cfg.rules.price_limits:
            up, down = (a[w:] for a in price_limits(hist, cfg.rules, self.history_factor))
        else:  # the kernel reads (0, 0) limits as none
            up = down = _ABSENT
        tax = stamp_tax_by_day(panel.calendar, cfg.costs.stamp_tax)
        stops_atr = StopMode.ATR in (ex.stop_loss, ex.take_profit)
        atr = _ABSENT
        adj = self.adjusted_history  # continuous prices: windows do not jump at splits
        if stops_atr:
            h_close = adj["close"]
            raw = atr_nb(_f(adj.fields.get("high", h_close)), _f(adj.fields.get("low", h_close)),
                         _f(h_close), ex.atr_window)  # fmt: skip
            atr = _c(_shift(raw, 1)[w:])  # known at the previous close: no look-ahead at entry
            if self.factor is not None:
                atr = _c(atr / self.factor)  # in today's traded price units
        self.mkt = (
            self.volume,
            _c(up),
            _c(down),
            _c(buy_exclusions(panel, cfg.rules)),
            panel.first.astype(np.int64),
            panel.last.astype(np.int64),
            tax,
            atr,
            _ABSENT if self.factor is None else self.factor,
        )

    def _prepare(self) -> None:
        """The strategy's arrays and the kernel's parameters."""
        cfg, panel, strat = self.config, self.panel, self.strategy
        adj, w, lag = self.adjusted_history, self.warmup, self.lag  # volatility: continuous prices
        ex = cfg.execution
        t_len, n = panel.shape
        self.entries = self.exits = np.zeros((1, 1), dtype=np.bool_)
        self.target = _UNUSED
        self.vol = _UNUSED
        self.cross = _NO_CROSS
        mask = np.ones(t_len, dtype=bool)
        ip = np.zeros(N_IP, dtype=np.int64)
        fp = np.zeros(N_FP)
        if isinstance(strat, Crossings):
            stops = (ex.stop_loss, ex.take_profit) != (StopMode.NONE, StopMode.NONE)
            if ex.portfolio == PortfolioMode.PER_COLUMN and not stops:  # the column kernel
                (a0, b0), (a1, b1) = strat.pairs
                meta = np.array([1, strat.lo, lag, strat.up[0], strat.up[1]], dtype=np.int64)
                self.cross = (a0, b0, a1, b1, strat.first, strat.last, strat.cols, meta)
            else:
                strat = strat.signals()
        if isinstance(strat, Signals | Crossings):
            ip[I_KIND] = KIND_SIGNALS
            if isinstance(strat, Signals):
                self.entries = _c(_shift(np.asarray(strat.entries, dtype=bool), lag))
                self.exits = _c(_shift(np.asarray(strat.exits, dtype=bool), lag))
            if cfg.sizing.mode == SizingMode.VOL_TARGET:
                vol = realised_vol_nb(_f(adj["close"]), cfg.sizing.vol_window, PERIODS_PER_YEAR)
                self.vol = _c(_shift(vol, lag)[w:])
        else:
            if isinstance(strat, TargetWeights):
                ip[I_KIND] = KIND_WEIGHTS
                arr, every = strat.weights, strat.rebalance
            else:
                if ex.portfolio == PortfolioMode.PER_COLUMN:
                    raise ValueError("top-k selection needs a shared-cash portfolio")
                ip[I_KIND] = KIND_TOPK
                ip[I_TOPK], ip[I_NDROP] = strat.topk, strat.n_drop
                ip[I_HOLD_THRESH] = strat.hold_thresh
                fp[F_RISK_DEGREE] = strat.risk_degree
                arr, every = strat.scores, strat.rebalance
            self.target = _c(_shift(np.asarray(arr, dtype=np.float64), lag))
            mask = _shift(rebalance_mask(panel.calendar, every), lag)
        for name, a in (("entries", self.entries), ("exits", self.exits), ("target", self.target)):
            if a.shape != (1, 1) and a.shape != (t_len, n):
                raise ValueError(f"{name} has shape {a.shape}, expected {(t_len, n)}")
        self.rebalance = mask.astype(np.bool_)
        c, r, sz = cfg.costs, cfg.rules, cfg.sizing
        fp[F_COMM_RATE], fp[F_COMM_MIN] = c.commission_rate, c.commission_min
        fp[F_SLIP_VALUE], fp[F_TICK] = c.slippage_value, c.tick_size
        fp[F_SLIP_IMPACT] = c.slippage_impact
        fp[F_LOT] = r.lot_size
        fp[F_MIN_VOLUME] = r.min_volume_lots * max(r.lot_size, 1.0)
        fp[F_VOLUME_CAP] = r.volume_cap
        fp[F_SL_VALUE], fp[F_TP_VALUE] = ex.stop_loss_value, ex.take_profit_value
        fp[F_FRACTION], fp[F_AMOUNT], fp[F_VOL_TARGET] = sz.fraction, sz.amount, sz.vol_target
        fp[F_STOCK_CAP] = sz.per_stock_cap
        ip[I_SLIP_MODE] = SLIPPAGE_CODES[c.slippage]
        ip[I_T_PLUS_1], ip[I_SUSPENSION] = int(r.t_plus_1), int(r.suspension)
        if ex.take_profit == StopMode.TRAILING:
            raise ValueError("a trailing level is a stop-loss only")
        ip[I_SL_MODE], ip[I_TP_MODE] = STOP_CODES[ex.stop_loss], STOP_CODES[ex.take_profit]
        ip[I_SIZING], ip[I_MAX_HOLDINGS] = SIZING_CODES[sz.mode], sz.max_holdings
        ip[I_OPEN_FILLS] = int(ex.price == PriceMode.NEXT_OPEN)
        self.fp, self.ip = fp, ip
        if ex.portfolio == PortfolioMode.PER_COLUMN:
            self.group = np.arange(n, dtype=np.int64)
            self.n_groups = n
        else:
            self.group = np.zeros(n, dtype=np.int64)
            self.n_groups = 1
        self._kernel_args = (
            self.exec_px, self.open, self.high, self.low, self.close, self.mkt,
            self.entries, self.exits, self.target, self.vol, self.rebalance,
            self.group, self.n_groups, self.fp, self.ip,
        )  # fmt: skip
        # independent columns trading signals without stops: the two-pass kernel (same result)
        self._columns = (
            ip[I_KIND] == KIND_SIGNALS
            and ex.portfolio == PortfolioMode.PER_COLUMN
            and ip[I_SL_MODE] == 0
            and ip[I_TP_MODE] == 0
        )

    # -- running ---------------------------------------------------------------------------

    def initial_state(self, lean: bool = False) -> SimState:
        """A flat portfolio with the configured initial cash in every cash group; ``lean``
        records the daily sums the metrics read instead of the daily arrays (see
        :class:`SimState`; the result replays the run if they are read)."""
        t_len, n = self.panel.shape
        return SimState.new(t_len, n, self.n_groups, self.config.execution.init_cash, lean)

    def _lean_args(self, state: SimState) -> tuple[np.ndarray, ...]:
        """The kernels' ``lean`` tuple for ``state`` (``simulate_nb._day_sums_nb``)."""
        if not state.lean:
            return _NOT_LEAN
        n = self.panel.shape[1]
        plan_n, plan_g = pairwise_plan(n), pairwise_plan(self.n_groups)
        stack = np.empty(max(plan_n.shape[0], plan_g.shape[0]) + 1)
        return (state.sums, state.prev_w, self.marks(), plan_n, plan_g, np.empty((3, n)),
                np.empty(self.n_groups), stack)  # fmt: skip

    def run_chunk(self, state: SimState, n_days: int) -> SimState:
        """Simulate up to ``n_days`` more days, updating ``state`` in place and returning it."""
        _, n = self.panel.shape
        end = min(state.t + max(int(n_days), 0), state.n_days)
        if self._columns and not state.lean and n >= 2 and (end - state.t) * n >= SPLIT_CELLS:
            self._run_halves(state, end)
            return state
        lean = self._lean_args(state)
        bought = np.zeros(n)
        while state.t < end:
            if self._columns:
                state.t = self._run_columns(state, state, end, 0, n, bought, lean)
                continue
            state.ensure_capacity(TRADES_PER_NAME_DAY * n * 8, REJECTS_PER_NAME_DAY * n * 8)
            args = self._kernel_args
            state.t = int(simulate_chunk_nb(state.t, end, *args, _portfolio(state, bought),
                                            _records(state), *_outputs(state), lean))  # fmt: skip
        return state

    def _run_columns(
        self, state: SimState, records: SimState, end: int, i0: int, i1: int,
        bought: np.ndarray, lean: tuple[np.ndarray, ...] = _NOT_LEAN,
    ) -> int:  # fmt: skip
        """Columns ``[i0, i1)`` of ``state`` from its day to ``end``, their records into
        ``records``' buffers (grown as needed); returns ``end``."""
        t, width = state.t, i1 - i0
        st = _portfolio(state, bought)
        while t < end:
            records.ensure_capacity(TRADES_PER_NAME_DAY * width * 8,
                                    REJECTS_PER_NAME_DAY * width * 8)  # fmt: skip
            t = int(simulate_columns_nb(
                t, end, i0, i1, self.exec_px, self.close, self.mkt, self.entries, self.exits,
                self.vol, self.fp, self.ip, st, _records(records), *_outputs(state), lean,
                self.cross,
            ))  # fmt: skip
        return t

    def _run_halves(self, state: SimState, end: int) -> None:
        """:meth:`run_chunk`'s column kernel on two threads (it releases the GIL), each
        column half into its own records, then interleaved in the one-thread order: the
        same state and records (each column's arithmetic is its own)."""
        n = self.panel.shape[1]
        mid = n // 2
        bought = np.zeros(n)
        right = SimState.new(0, n - mid, 1, 0.0)  # the right half's record buffers
        other = Background(self._run_columns, state, right, end, mid, n, bought)
        before = state.counts.copy()
        try:
            self._run_columns(state, state, end, 0, mid, bought)
        finally:  # the other half writes into the state until it is done
            other.result()
        n_tr, n_rj = int(before[0]), int(before[1])
        left_tr = (state.trades_i[n_tr : state.counts[0]].copy(),
                   state.trades_f[n_tr : state.counts[0]].copy())  # fmt: skip
        left_rj = (state.rejects_i[n_rj : state.counts[1]].copy(),
                   state.rejects_f[n_rj : state.counts[1]].copy())  # fmt: skip
        state.counts[:] = before
        state.ensure_capacity(len(left_tr[0]) + int(right.counts[0]),
                              len(left_rj[0]) + int(right.counts[1]))  # fmt: skip
        for (a_i, a_f), b_i, b_f, out_i, out_f, k, cols in (
            (left_tr, right.trades_i, right.trades_f, state.trades_i, state.trades_f, 0,
             (TR_DAY, TR_SIDE)),
            (left_rj, right.rejects_i, right.rejects_f, state.rejects_i, state.rejects_f, 1,
             (RJ_DAY, RJ_SIDE)),
        ):  # fmt: skip
            m, lo, b = len(a_i) + int(right.counts[k]), int(state.counts[k]), int(right.counts[k])
            merge_records_nb(a_i, _2d(a_f), b_i[:b], _2d(b_f[:b]), *cols, out_i[lo : lo + m],
                             _2d(out_f[lo : lo + m]))  # fmt: skip
            state.counts[k] = lo + m
        state.t = end

    def iter_run(self, state: SimState | None = None, chunk_days: int = 250) -> Iterator[Progress]:
        """Run chunk by chunk, yielding progress and the chunk's new trades after each one.

        Stop iterating to pause or cancel; the state passed in (or ``self.last_state``) holds
        everything needed to resume.
        """
        state = self.initial_state() if state is None else state
        self.last_state = state
        while not state.done:
            before = int(state.counts[0])
            self.run_chunk(state, chunk_days)
            after = int(state.counts[0])
            new = Trades.from_records(state.trades_i[before:after], state.trades_f[before:after])
            yield Progress(state.t, self.panel.calendar[state.t - 1], state.n_days, new)

    def run(
        self,
        state: SimState | None = None,
        chunk_days: int = 250,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> BacktestResult:
        """Run to the end (or until ``should_stop()`` says so) and return the result."""
        state = self.initial_state() if state is None else state
        for progress in self.iter_run(state, chunk_days):
            if on_progress is not None:
                on_progress(progress)
            if should_stop is not None and should_stop():
                state.cancelled = True
                break
        return self.result(state)

    def result(self, state: SimState, *, copy: bool = True) -> BacktestResult:
        """Package a state as a result; ``incomplete`` when days remain unsimulated.
        ``copy=False`` shares the state's daily arrays (for a finished state, which no
        chunk writes again)."""
        own = np.copy if copy or not state.done else np.asarray
        n_tr, n_rj = int(state.counts[0]), int(state.counts[1])
        bench = None
        if self.benchmark is not None:
            b = self.benchmark
            valid = np.flatnonzero(b > 0)
            base = b[valid[0]] if valid.size else np.nan
            bench = b / base * self.config.execution.init_cash * self.n_groups
        if state.lean:
            days = state.t
            daily = DailyArrays(replay=lambda: self._replay(days), sums=own(state.sums))
        else:
            daily = DailyArrays((own(state.equity), own(state.cash_hist), own(state.positions)))
        return BacktestResult(
            calendar=self.panel.calendar,
            instruments=self.panel.instruments,
            daily=daily,
            close=self.close,
            trades=Trades.from_records(state.trades_i[:n_tr], state.trades_f[:n_tr]),
            rejections=Rejections.from_records(state.rejects_i[:n_rj], state.rejects_f[:n_rj]),
            benchmark=bench,
            incomplete=not state.done,
            days_run=state.t,
            marks=self.marks(),
            factor=self.factor,
        )

    def _replay(self, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Equity, cash and positions of a lean run of ``days`` days: the run again,
        recording them (bit-identical: same inputs, same kernel)."""
        state = self.run_chunk(self.initial_state(), days)
        return state.equity, state.cash_hist, state.positions

    def marks(self) -> np.ndarray:
        """The close carried forward over missing days (once; shared with ``market=``)."""
        if not self._marks:
            self._marks.append(ffill_nb(self.close))
        return self._marks[0]


def _portfolio(state: SimState, bought: np.ndarray) -> tuple[np.ndarray, ...]:
    """The kernels' ``st`` tuple of ``state`` (``bought``: scratch of the day's buys)."""
    return (state.cash, state.qty, state.basis, state.avg_px, state.entry_day, state.peak,
            state.stop_atr, state.last_close, bought)  # fmt: skip


def _records(state: SimState) -> tuple[np.ndarray, ...]:
    """The kernels' ``rec`` tuple: ``state``'s record buffers and their counts."""
    return (state.trades_i, state.trades_f, state.rejects_i, state.rejects_f, state.counts)


def _outputs(state: SimState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return state.equity, state.cash_hist, state.positions


def _2d(a: np.ndarray) -> np.ndarray:
    """Float records as rows: a rejection's quantity as a one-column view."""
    return a if a.ndim == 2 else a.reshape(len(a), 1)


def _c(a: np.ndarray) -> np.ndarray:
    # The day loop reads one row (all instruments of a day) at a time.
    return np.ascontiguousarray(a)


def _f(a: np.ndarray) -> np.ndarray:
    return np.asfortranarray(a, dtype=np.float64)


def _shift(a: np.ndarray, lag: int) -> np.ndarray:
    """Shift rows down by ``lag`` (decision day → execution day); False/NaN fill."""
    if lag == 0:
        return a
    out = np.zeros_like(a) if a.dtype == np.bool_ else np.full_like(a, np.nan, dtype=np.float64)
    out[lag:] = a[:-lag]
    return out
