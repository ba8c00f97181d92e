"""The engine's one entry point: a run spec plus a loaded panel to an analysed result.

>>> result = run(spec, panel, start=None, end=None)          # the spec's dates
>>> result.metrics["sharpe_ratio"], result.equity, result.monthly
>>> for r in run_batch(spec, [{"fast": 5}, {"fast": 10}], panel, start=None, end=None):
...     print(r.spec.parameters, r.metrics["sharpe_ratio"])

:func:`run` adds the spec's ``indicators`` as fields (computed on the whole panel), cuts the
panel to ``end``, keeps the warm-up history the expressions and the
market rules need before ``start`` (the panel passed in may start much earlier), compiles
the strategy (signals, scores, weights; code through the caller's ``code_runner``),
simulates in chunks, and computes metrics, diagnostics and the equity / drawdown / monthly
tables. Between chunks ``progress`` is called (return True to stop: the result is then
``incomplete``; raise to abandon the run, e.g. to pause after saving ``progress.state``),
and ``checkpoint`` receives the state to persist; ``state`` resumes a run from one.

:func:`run_batch` runs parameter variants of one spec on one panel: the panel is cut once
for the longest look-back, and every variant shares one bounded expression cache, so a
window evaluated for one variant is not evaluated again. Variants are documented in
:mod:`quantlab.engine.spec` (plain keys override ``parameters``, ``/json/pointer`` keys any
field). Results come one at a time (an iterator), so memory stays flat over a long grid.

Nothing here imports the web, database or platform layers.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from quantlab.engine import expr
from quantlab.engine.backtest.analysis import analyse
from quantlab.engine.backtest.compile import (
    CodeRunner,
    SpecError,
    compile_strategy,
    engine_config,
    lookback,
    n_parameters,
    point_in_time,
)
from quantlab.engine.backtest.config import BacktestConfig
from quantlab.engine.backtest.crossings import CrossingOutputs, Crossings, compile_crossings
from quantlab.engine.backtest.result import BacktestResult, Rejections, Trades
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.state import SimState
from quantlab.engine.backtest.strategies import Strategy
from quantlab.engine.data import Panel
from quantlab.engine.data.universe import StaticUniverseBias
from quantlab.engine.spec import CodeStrategy, RunSpec, apply_variant, indicator_defs

CHUNK_DAYS = 60  # trading days simulated between progress calls
BATCH_CACHE_BYTES = 256 * 2**20
MAX_BATCH_THREADS = 8
INDUSTRY_FIELD = "industry"
_batch_ids = itertools.count(1)

DateLike = date | np.datetime64 | str | None


@dataclass(frozen=True)
class RunProgress:
    """Where a run is: ``stage`` is ``compiling``, ``simulating`` or ``analysing``.

    While simulating, ``day_index`` days of ``n_days`` are done (the last one ``date``),
    ``trades`` holds the fills of the chunk just simulated and ``state`` the full state (to
    checkpoint before pausing)."""

    stage: str
    day_index: int = 0
    n_days: int = 0
    date: str | None = None
    trades: Trades | None = None
    state: SimState | None = None
    calendar: np.ndarray | None = None
    instruments: np.ndarray | None = None

    @property
    def fraction(self) -> float:
        """Share of the days simulated (0–1)."""
        return self.day_index / self.n_days if self.n_days else 0.0


ProgressFn = Callable[[RunProgress], bool | None]
CheckpointFn = Callable[[SimState], None]


@dataclass(frozen=True)
class RunResult:
    """An analysed run. Series are ``(T,)`` over the simulated days (``dates``); a run
    stopped early is ``incomplete`` and covers the days it simulated. ``outputs`` are the
    strategy's evaluated expressions over those days by spec path (float64; the float32
    values themselves for signals, whose truth is all the run reads)."""

    spec: RunSpec
    config: BacktestConfig
    simulation: BacktestResult
    series: pd.DataFrame
    metrics: dict[str, Any]
    summary: dict[str, Any]
    diagnostics: list[dict[str, Any]]
    warnings: list[str]
    state: SimState
    industries: dict[str, str]
    n_parameters: int | None = None
    outputs: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def dates(self) -> np.ndarray:
        """The simulated days (``datetime64[D]``)."""
        return self.simulation.calendar[: self.simulation.days_run]

    @property
    def equity(self) -> np.ndarray:
        """Total equity at each close."""
        return np.asarray(self.series["equity"].to_numpy(dtype=np.float64))

    @property
    def benchmark(self) -> np.ndarray | None:
        """The benchmark rescaled to the initial capital, or None."""
        b = self.simulation.benchmark
        return None if b is None else b[: self.simulation.days_run]

    @property
    def returns(self) -> np.ndarray:
        """Daily simple returns of total equity."""
        return np.asarray(self.series["returns"].to_numpy(dtype=np.float64))

    @property
    def drawdown(self) -> np.ndarray:
        """Daily drawdown (fractions, ≤ 0)."""
        return np.asarray(self.series["drawdown"].to_numpy(dtype=np.float64))

    @property
    def monthly(self) -> dict[str, list[float | None]]:
        """Monthly returns: year → 12 months (None where the month has no day)."""
        table: dict[str, list[float | None]] = self.metrics["monthly_returns"]
        return table

    @property
    def trades(self) -> Trades:
        """Every fill."""
        return self.simulation.trades

    @property
    def rejected(self) -> Rejections:
        """Every refused order."""
        return self.simulation.rejections

    @property
    def positions(self) -> np.ndarray:
        """Share quantities ``(T, N)``."""
        return self.simulation.positions[: self.simulation.days_run]

    @property
    def incomplete(self) -> bool:
        """True when days remain unsimulated (stopped or cancelled)."""
        return self.simulation.incomplete


@dataclass
class Prepared:
    """A compiled run, ready to simulate: what :func:`run` does before the first chunk."""

    spec: RunSpec
    config: BacktestConfig
    simulator: Simulator
    industries: dict[str, str]
    warnings: list[str]
    n_parameters: int | None
    outputs: Mapping[str, np.ndarray]
    universe_bias: StaticUniverseBias | None = None


def _day(value: DateLike) -> np.datetime64 | None:
    if value is None:
        return None
    return np.datetime64(str(value)[:10], "D")


def industries_of(panel: Panel) -> dict[str, str]:
    """Each instrument's last known industry code, when the panel has that field."""
    codes = panel.fields.get(INDUSTRY_FIELD)
    if codes is None:
        return {}
    out: dict[str, str] = {}
    for j, symbol in enumerate(panel.instruments):
        valid = codes[:, j][~np.isnan(codes[:, j])]
        if valid.size:
            value = float(valid[-1])
            out[str(symbol)] = str(int(value)) if value.is_integer() else str(value)
    return out


def _window(
    panel: Panel, start: DateLike, end: DateLike, back: int | None
) -> tuple[Panel, int, np.ndarray | None]:
    """``panel`` cut to ``end`` and to ``back`` rows before ``start``; the row of ``start``
    in the cut panel; the kept row range of the input (for aligning arrays)."""
    hi = len(panel.calendar)
    end_day = _day(end)
    if end_day is not None:
        hi = int(np.searchsorted(panel.calendar, end_day, side="right"))
    start_day = _day(start)
    first = 0 if start_day is None else int(np.searchsorted(panel.calendar, start_day))
    if first >= hi:
        raise SpecError(f"no trading day between {start} and {end} in the data")
    lo_row = 0 if back is None else max(0, first - back)
    rows = np.arange(lo_row, hi)
    if lo_row or hi < len(panel.calendar):
        panel = panel.select(start=panel.calendar[lo_row], end=panel.calendar[hi - 1])
    return panel, first - lo_row, rows


def _benchmark(
    spec: RunSpec, panel: Panel, benchmark: str | np.ndarray | None, rows: np.ndarray | None
) -> tuple[np.ndarray | None, str | None]:
    """The benchmark close over the cut panel's rows, forward-filled, and its symbol."""
    if isinstance(benchmark, np.ndarray):
        values = np.asarray(benchmark, dtype=np.float64)
        return _ffill(values if rows is None else values[rows]), None
    symbol = benchmark or spec.benchmark
    if not symbol:
        return None, None
    names = [str(s) for s in panel.instruments]
    if symbol not in names:
        raise SpecError(f"benchmark {symbol} is not in the data", {"unknown": [symbol]})
    return _ffill(np.asarray(panel["close"][:, names.index(symbol)], dtype=np.float64)), symbol


def _prepare(
    spec: RunSpec,
    panel: Panel,
    lo: int,
    bench: np.ndarray | None,
    bench_symbol: str | None,
    code_runner: CodeRunner | None,
    cache: expr.ExprCache | None,
    industries: Mapping[str, str] | None,
    batch: _Batch | None = None,
) -> Prepared:
    names = [str(s) for s in panel.instruments]
    warnings: list[str] = []
    if spec.universe == "all":
        traded = [s for s in names if s != bench_symbol]
    else:
        known = set(names)
        traded = [s for s in dict.fromkeys(spec.universe) if s in known]
        missing = [s for s in spec.universe if s not in known]
        if missing:
            warnings.append(
                f"{len(missing)} universe symbol(s) have no data in the window and were left "
                f"out: {', '.join(missing[:10])}"
            )
    if not traded:
        raise SpecError("no symbol of the universe has data in the window")
    traded, member, bias = point_in_time(spec, panel, lo, traded)
    pos = {s: i for i, s in enumerate(names)}
    cols = np.array([pos[s] for s in traded], dtype=np.int64)
    config = engine_config(spec)
    crossings = None
    if batch is not None and cache is not None and member is None:
        crossings = compile_crossings(spec, panel, lo, cols, cache)
    strategy: Strategy | Crossings
    outputs: Mapping[str, np.ndarray]
    if crossings is not None:  # a crossover variant: no boolean panels of its own
        strategy, outputs = crossings, CrossingOutputs(crossings)
    else:
        compiled = compile_strategy(spec, panel, lo, cols, code_runner, cache, member)
        strategy, outputs = compiled.strategy, compiled.outputs
    if len(traded) == len(names):
        history = panel
    elif batch is not None:
        history = batch.histories.get(tuple(traded)) or panel.select(instruments=traded)
        batch.histories[tuple(traded)] = history
    else:
        history = panel.select(instruments=traded)
    market = None if batch is None else batch.markets.get(id(history))
    sim = Simulator(history, strategy, config, None if bench is None else bench[lo:],
                    warmup=lo, market=market)  # fmt: skip
    if batch is not None and market is None:
        batch.markets[id(history)] = sim
    found = dict(industries) if industries is not None else industries_of(sim.panel)
    return Prepared(spec, config, sim, found, warnings, n_parameters(spec), outputs,
                    bias)  # fmt: skip


@dataclass
class _Batch:
    """What the variants of one batch share: the traded panels (by universe), per panel
    the first simulator, whose data and market-rule arrays the others reuse when their
    configuration is the same (only the strategy's arrays differ), and the size of the
    record buffers."""

    histories: dict[tuple[str, ...], Panel] = field(default_factory=dict)
    markets: dict[int, Simulator] = field(default_factory=dict)
    records: tuple[int, int] = (0, 0)  # the largest trade and rejection buffers so far


def prepare(
    spec: RunSpec,
    panel: Panel,
    *,
    start: DateLike = None,
    end: DateLike = None,
    benchmark: str | np.ndarray | None = None,
    code_runner: CodeRunner | None = None,
    cache: expr.ExprCache | None = None,
    industries: Mapping[str, str] | None = None,
) -> Prepared:
    """Cut the panel (warm-up kept), compile the strategy and build the simulator; the
    first half of :func:`run` (arguments as there)."""
    start = start if start is not None else spec.start
    end = end if end is not None else spec.end
    panel = _with_indicators(panel, indicator_defs(spec))
    cut, lo, rows = _window(panel, start, end, lookback(spec))
    bench, symbol = _benchmark(spec, cut, benchmark, rows)
    return _prepare(spec, cut, lo, bench, symbol, code_runner, cache, industries)


def simulate(
    prep: Prepared,
    *,
    state: SimState | bytes | None = None,
    progress: ProgressFn | None = None,
    checkpoint: CheckpointFn | None = None,
    chunk_days: int = CHUNK_DAYS,
) -> SimState:
    """Walk the calendar in chunks from ``state`` (or the start); see :func:`run`."""
    sim = prep.simulator
    if isinstance(state, bytes | bytearray):
        state = SimState.from_bytes(bytes(state))
    st = sim.initial_state() if state is None else state
    calendar, instruments = sim.panel.calendar, sim.panel.instruments
    while not st.done and not st.cancelled:
        before = int(st.counts[0])
        sim.run_chunk(st, chunk_days)
        after = int(st.counts[0])
        if checkpoint is not None:
            checkpoint(st)
        if progress is not None:
            new = Trades.from_records(st.trades_i[before:after], st.trades_f[before:after])
            info = RunProgress("simulating", st.t, st.n_days, str(calendar[st.t - 1]), new, st,
                               calendar, instruments)  # fmt: skip
            if progress(info) and not st.done:
                st.cancelled = True
    return st


def finish(prep: Prepared, state: SimState, *, diagnostics: bool = True) -> RunResult:
    """Metrics, diagnostics and tables of a simulated state; the last part of :func:`run`."""
    result = prep.simulator.result(state, copy=False)
    spec = prep.spec
    analysis = analyse(
        result,
        spec.initial_capital * prep.simulator.n_groups,
        seed=spec.seed,
        n_parameters=prep.n_parameters,
        industries=prep.industries,
        diagnostics=diagnostics,
        universe_bias=prep.universe_bias,
    )
    return RunResult(
        spec=spec,
        config=prep.config,
        simulation=result,
        series=analysis.series,
        metrics=analysis.metrics,
        summary=analysis.summary,
        diagnostics=analysis.findings,
        warnings=list(prep.warnings),
        state=state,
        industries=prep.industries,
        n_parameters=prep.n_parameters,
        outputs=prep.outputs,
    )


def run(
    spec: RunSpec,
    panel: Panel,
    *,
    start: DateLike = None,
    end: DateLike = None,
    benchmark: str | np.ndarray | None = None,
    progress: ProgressFn | None = None,
    checkpoint: CheckpointFn | None = None,
    code_runner: CodeRunner | None = None,
    state: SimState | bytes | None = None,
    chunk_days: int = CHUNK_DAYS,
    cache: expr.ExprCache | None = None,
    industries: Mapping[str, str] | None = None,
    diagnostics: bool = True,
) -> RunResult:
    """Run ``spec`` on ``panel`` from ``start`` to ``end`` and analyse the result.

    Parameters
    ----------
    spec : RunSpec
        The strategy and its run configuration (its ``dataset_*`` fields are not read).
    panel : Panel
        The data: the traded instruments (and the benchmark's), from any day before
        ``start`` (the history the expressions and rules need is kept) to at least ``end``.
    start, end : date-like or None
        First and last simulated day; None takes the spec's (and then the panel's) bounds.
    benchmark : str, numpy.ndarray or None
        A symbol of the panel, or closes aligned with ``panel.calendar``; None takes
        ``spec.benchmark``.
    progress : callable, optional
        Called with a :class:`RunProgress` at each stage and after each chunk; returning
        True stops the simulation (the result is ``incomplete``).
    checkpoint : callable, optional
        Called with the :class:`SimState` after each chunk (persist it to resume).
    code_runner : callable, optional
        ``(code, inputs) -> outputs`` for code strategies (the sandbox).
    state : SimState or bytes, optional
        A checkpoint to resume from.
    chunk_days : int
        Days simulated between progress calls (without ``progress`` or ``checkpoint``
        the run goes in one chunk: the result does not depend on the chunks).
    cache : ExprCache, optional
        Where evaluated expressions are kept (panels with ``meta["version_key"]``).
    industries : mapping, optional
        Instrument → industry code; default: the panel's ``industry`` field.
    diagnostics : bool
        False computes the metrics only.

    Returns
    -------
    RunResult

    Raises
    ------
    SpecError
        The spec cannot run on this data (bad expression, dates, symbols, configuration).
    """
    if progress is not None:
        progress(RunProgress("compiling"))
    prep = prepare(spec, panel, start=start, end=end, benchmark=benchmark,
                   code_runner=code_runner, cache=cache, industries=industries)  # fmt: skip
    if progress is None and checkpoint is None:  # nobody to tell between chunks: one chunk
        chunk_days = max(chunk_days, len(prep.simulator.panel.calendar))
    st = simulate(prep, state=state, progress=progress, checkpoint=checkpoint,
                  chunk_days=chunk_days)  # fmt: skip
    if progress is not None:
        sim = prep.simulator
        progress(RunProgress("analysing", st.t, st.n_days, str(sim.panel.calendar[st.t - 1])
                             if st.t else None, None, st))  # fmt: skip
    return finish(prep, st, diagnostics=diagnostics)


def run_batch(
    spec: RunSpec,
    variants: Iterable[Mapping[str, Any]],
    panel: Panel,
    *,
    start: DateLike = None,
    end: DateLike = None,
    benchmark: str | np.ndarray | None = None,
    code_runner: CodeRunner | None = None,
    diagnostics: bool = False,
    cache_bytes: int = BATCH_CACHE_BYTES,
    industries: Mapping[str, str] | None = None,
    workers: int | None = None,
) -> Iterator[RunResult]:
    """Run each variant of ``spec`` on ``panel``, yielding results in order.

    Parameters
    ----------
    spec : RunSpec
        The base spec.
    variants : iterable of mapping
        Overrides per run (see :func:`quantlab.engine.spec.apply_variant`); ``{}`` is the
        base spec itself.
    panel, start, end, benchmark, code_runner, industries
        As for :func:`run`.
    diagnostics : bool
        Diagnostic findings per run (off by default: a sweep wants metrics).
    cache_bytes : int
        Bound of the shared expression cache (sub-expressions included: the moving
        averages of a crossover grid are evaluated once per window, not once per pair).
    workers : int or None
        Variants run at once on threads (default: one per CPU; 1 runs them one after the
        other). Every result is the same as the variant's :func:`run`; code strategies
        always run one at a time.

    Yields
    ------
    RunResult
        One per variant; ``result.spec`` is the variant's spec.
    """
    overrides = [dict(v) for v in variants]
    specs = [apply_variant(spec, v) if v else spec for v in overrides]
    if not specs:
        return
    groups = _indicator_groups(specs)
    if len(groups) > 1:  # variants computing one indicator name differently: a panel each
        for lo_i, hi_i, _ in groups:
            yield from run_batch(
                spec, overrides[lo_i:hi_i], panel, start=start, end=end, benchmark=benchmark,
                code_runner=code_runner, diagnostics=diagnostics, cache_bytes=cache_bytes,
                industries=industries, workers=workers,
            )  # fmt: skip
        return
    backs = [lookback(s) for s in specs]
    back = None if any(b is None for b in backs) else max(b for b in backs if b is not None)
    start = start if start is not None else spec.start
    end = end if end is not None else spec.end
    panel = _with_indicators(panel, groups[0][2])
    cut, lo, rows = _window(panel, start, end, back)
    if cut.meta.get("version_key") is None:
        meta = {**cut.meta, "version_key": f"batch-{next(_batch_ids)}"}
        cut = dataclasses.replace(cut, meta=meta)
    bench, symbol = _benchmark(spec, cut, benchmark, rows)
    cache = expr.ExprCache(cache_bytes, intermediates=True)
    found = industries if industries is not None else industries_of(cut)
    shared = _Batch()

    def one(variant: RunSpec) -> RunResult:
        prep = _prepare(variant, cut, lo, bench, symbol, code_runner, cache, found, shared)
        # without diagnostics, lean: the metrics need daily sums only, and equity / cash /
        # positions are replayed if a caller reads them; record buffers as large as the
        # busiest variant's so far (not grown by doubling); in one go (no progress to report)
        st = prep.simulator.initial_state(lean=not diagnostics)
        st.ensure_capacity(*shared.records)
        st = simulate(prep, state=st, chunk_days=len(cut.calendar))
        shared.records = (
            max(shared.records[0], len(st.trades_i)),
            max(shared.records[1], len(st.rejects_i)),
        )
        return finish(prep, st, diagnostics=diagnostics)

    first = one(specs[0])  # builds what the others share (the traded panel, market arrays)
    yield first
    threads = _threads(workers, len(specs) - 1, code_runner is not None or any(
        isinstance(v.strategy, CodeStrategy) for v in specs))  # fmt: skip
    if threads <= 1:
        for variant in specs[1:]:
            yield one(variant)
        return
    # Each variant runs exactly as alone; the kernels release the GIL, so variants overlap
    # on the cores. At most ``threads + 1`` results wait, whatever the number of variants.
    pool = ThreadPoolExecutor(threads, thread_name_prefix="run_batch")
    try:
        waiting: deque[Future[RunResult]] = deque()
        todo = iter(specs[1:])
        for variant in itertools.islice(todo, threads + 1):
            waiting.append(pool.submit(one, variant))
        while waiting:
            result = waiting.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                waiting.append(pool.submit(one, nxt))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _threads(workers: int | None, n_variants: int, code: bool) -> int:
    """Threads for a batch: ``workers`` (default: the CPUs), one for code strategies (the
    caller's code runner need not be thread-safe) and never more than the variants."""
    if code or n_variants <= 1:
        return 1
    wanted = workers if workers is not None else _cpus()
    return max(1, min(int(wanted), n_variants, MAX_BATCH_THREADS))


def _indicator_groups(specs: list[RunSpec]) -> list[tuple[int, int, dict[str, Any]]]:
    """Consecutive runs ``[lo, hi)`` of variants whose indicators agree (a name is computed
    alike in all of them), with the union of their resolved definitions."""
    groups: list[tuple[int, int, dict[str, Any]]] = []
    lo, defs = 0, dict[str, Any]()
    for i, s in enumerate(specs):
        mine = indicator_defs(s)
        if any(defs.get(name, d) != d for name, d in mine.items()):
            groups.append((lo, i, defs))
            lo, defs = i, {}
        defs.update(mine)
    groups.append((lo, len(specs), defs))
    return groups


def _with_indicators(panel: Panel, defs: Mapping[str, Any]) -> Panel:
    """The panel with the spec's indicator outputs as fields, computed on all of it (before
    the warm-up cut, so recursive indicators see the whole loaded history)."""
    if not defs:
        return panel
    from quantlab.engine.indicators.fields import IndicatorFieldError, add_indicator_fields

    try:
        return add_indicator_fields(panel, defs)
    except IndicatorFieldError as err:
        raise SpecError(str(err), {"indicator": err.name}) from None


def _cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _ffill(a: np.ndarray) -> np.ndarray:
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    return a[idx]


__all__ = [
    "CHUNK_DAYS",
    "Prepared",
    "RunProgress",
    "RunResult",
    "finish",
    "industries_of",
    "prepare",
    "run",
    "run_batch",
    "simulate",
]
