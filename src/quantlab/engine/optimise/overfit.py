"""Overfitting statistics of a study: the probability of backtest overfitting (PBO) by
combinatorially symmetric cross-validation, and the deflated Sharpe ratio.

References
----------
.. [1] D. H. Bailey, J. M. Borwein, M. López de Prado, Q. J. Zhu, "The probability of
   backtest overfitting", Journal of Computational Finance 20(4), 2017 (SSRN 2326253, 2015).
.. [2] D. H. Bailey, M. López de Prado, "The deflated Sharpe ratio: correcting for selection
   bias, backtest overfitting and non-normality", Journal of Portfolio Management 40(5),
   2014, pp. 94-107.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329
MAX_SPLITS = 16


@dataclass(frozen=True)
class PBOResult:
    """CSCV outcome: ``pbo`` and, per combination, the logit, the chosen trial and its
    in-sample and out-of-sample performance."""

    pbo: float
    logits: np.ndarray
    chosen: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float

    def logit_histogram(self, bins: int = 20) -> dict[str, list[float]]:
        """Histogram of the finite logits (``edges``, ``counts``) for display."""
        finite = self.logits[np.isfinite(self.logits)]
        if finite.size == 0:
            return {"edges": [], "counts": []}
        counts, edges = np.histogram(finite, bins=bins)
        return {"edges": edges.tolist(), "counts": counts.astype(float).tolist()}


def sharpe_performance(block: np.ndarray) -> np.ndarray:
    """Per-column (non-annualised) Sharpe ratio of a ``(rows, trials)`` block of returns:
    mean over sample standard deviation (ddof=1); a column with zero spread scores 0."""
    mean = block.mean(axis=0)
    sd = block.std(axis=0, ddof=1) if block.shape[0] > 1 else np.zeros(block.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), 0.0)
    return np.asarray(out, dtype=np.float64)


def mean_performance(block: np.ndarray) -> np.ndarray:
    """Per-column mean of a ``(rows, trials)`` block."""
    return np.asarray(block.mean(axis=0), dtype=np.float64)


def probability_of_backtest_overfitting(
    returns: np.ndarray,
    n_splits: int = 16,
    performance: Callable[[np.ndarray], np.ndarray] = sharpe_performance,
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    Following [1]_: the ``(T, N)`` matrix of the ``N`` trials' returns is cut along time
    into ``S = n_splits`` equal blocks (the last ``T mod S`` rows are dropped). For each of
    the ``C(S, S/2)`` ways to choose half of the blocks as the in-sample set ``J`` (the rest
    is the out-of-sample set ``J̄``), the trial ``n*`` with the best in-sample performance is
    chosen; its out-of-sample relative rank is ``ω = r / (N + 1)``, where ``r`` is its rank
    among the ``N`` out-of-sample performances (1 = worst, ties averaged), and its logit is
    ``λ = ln(ω / (1 − ω))``. Then

    ``PBO = #{λ ≤ 0} / C(S, S/2)``

    i.e. the share of combinations in which the in-sample optimum ranks at or below the
    out-of-sample median.

    Parameters
    ----------
    returns : numpy.ndarray
        ``(T, N)`` per-period returns of the N trials on a common calendar (NaN → 0).
    n_splits : int
        Even number of blocks S (2 ≤ S ≤ 16); ``T`` must be at least ``S`` rows.
    performance : callable
        Block ``(rows, N)`` → ``(N,)`` performance, larger is better; default the
        non-annualised Sharpe ratio (:func:`sharpe_performance`).

    Returns
    -------
    PBOResult
        ``pbo``; the logits; the chosen trial per combination with its in-sample and
        out-of-sample performance; the performance degradation as the least-squares line
        ``oos = slope · is + intercept`` over the combinations; and the probability of an
        out-of-sample loss ``P[oos < 0]``.

    Raises
    ------
    ValueError
        Fewer than 2 trials, an odd or out-of-range ``n_splits``, or too few rows.

    Notes
    -----
    When several trials tie in-sample, the first (lowest index) is chosen.
    """
    m = np.nan_to_num(np.asarray(returns, dtype=np.float64), nan=0.0)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("PBO needs a (T, N) matrix with at least 2 trials")
    if n_splits % 2 or not 2 <= n_splits <= MAX_SPLITS:
        raise ValueError(f"n_splits must be even and in [2, {MAX_SPLITS}]")
    rows = m.shape[0] // n_splits
    if rows < 1:
        raise ValueError(f"PBO needs at least {n_splits} rows, got {m.shape[0]}")
    blocks = m[: rows * n_splits].reshape(n_splits, rows, m.shape[1])
    n = m.shape[1]
    if performance is sharpe_performance:
        return _result(*_sharpe_cscv(blocks.sum(axis=1), np.square(blocks).sum(axis=1), rows))
    logits, chosen, is_perf, oos_perf = [], [], [], []
    for train in itertools.combinations(range(n_splits), n_splits // 2):
        test = [b for b in range(n_splits) if b not in train]
        r_is = performance(blocks[list(train)].reshape(-1, n))
        r_oos = performance(blocks[test].reshape(-1, n))
        best = int(np.argmax(r_is))
        rank = float(stats.rankdata(r_oos)[best])
        omega = rank / (n + 1)
        logits.append(math.log(omega / (1.0 - omega)))
        chosen.append(best)
        is_perf.append(float(r_is[best]))
        oos_perf.append(float(r_oos[best]))
    return _result(
        np.asarray(logits), np.asarray(chosen, dtype=np.int64), np.asarray(is_perf),
        np.asarray(oos_perf),
    )  # fmt: skip


def _sharpe_from_sums(total: np.ndarray, squares: np.ndarray, rows: int) -> np.ndarray:
    """Sharpe ratios (ddof=1) from per-column sums and sums of squares over ``rows`` rows;
    zero spread scores 0, as in :func:`sharpe_performance`."""
    if rows < 2:
        return np.zeros_like(total)
    mean = total / rows
    var = np.maximum((squares - total * mean) / (rows - 1), 0.0)
    tiny = var <= 1e-24 + 1e-12 * np.abs(squares) / rows  # rounding noise of a flat column
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tiny, 0.0, mean / np.sqrt(np.where(tiny, 1.0, var)))


def _sharpe_cscv(sums: np.ndarray, squares: np.ndarray, rows: int) -> tuple[np.ndarray, ...]:
    """CSCV with the Sharpe ratio from the ``(S, N)`` per-block sums and sums of squares of
    ``rows`` rows each: each half's sums are a 0/1 combination matrix times the blocks'
    sums, evaluated a bounded number of combinations at a time (memory ``O(S·N)`` plus
    about 4 million cells), so no block of returns is copied per combination and no
    ``N × N`` (or ``T × N``) array exists."""
    n_splits, n = sums.shape
    all_sum, all_sq = sums.sum(axis=0), squares.sum(axis=0)
    combos = list(itertools.combinations(range(n_splits), n_splits // 2))
    index = {c: i for i, c in enumerate(combos)}
    # a combination's out-of-sample half is its complement's in-sample half: one Sharpe
    # ratio per half serves both, so each pair of complements costs two evaluations
    pairs = []
    for i, train in enumerate(combos):
        j = index[tuple(b for b in range(n_splits) if b not in train)]
        if i < j:
            pairs.append((i, j))
    mask = np.zeros((len(pairs), n_splits))
    for p, (i, _) in enumerate(pairs):
        mask[p, list(combos[i])] = 1.0
    first = np.array([i for i, _ in pairs], dtype=np.int64)
    second = np.array([j for _, j in pairs], dtype=np.int64)
    half = rows * (n_splits // 2)
    total = len(combos)
    logits, chosen = np.empty(total), np.empty(total, dtype=np.int64)
    is_perf, oos_perf = np.empty(total), np.empty(total)
    step = max(1, 2_000_000 // max(n, 1))
    for lo in range(0, len(pairs), step):
        mk = mask[lo : lo + step]
        s_a, q_a = mk @ sums, mk @ squares
        r_a = _sharpe_from_sums(s_a, q_a, half)
        r_b = _sharpe_from_sums(all_sum - s_a, all_sq - q_a, half)
        for at, r_is, r_oos in ((first[lo : lo + step], r_a, r_b),
                                (second[lo : lo + step], r_b, r_a)):  # fmt: skip
            best = np.argmax(r_is, axis=1)
            k = np.arange(len(mk))
            v = r_oos[k, best]
            below = (r_oos < v[:, None]).sum(axis=1)
            rank = below + ((r_oos == v[:, None]).sum(axis=1) + 1) / 2
            omega = rank / (n + 1)
            logits[at] = np.log(omega / (1.0 - omega))
            chosen[at] = best
            is_perf[at] = r_is[k, best]
            oos_perf[at] = v
    return logits, chosen, is_perf, oos_perf


class StreamingCSCV:
    """PBO by CSCV with the Sharpe ratio over trials whose returns arrive a chunk of
    columns at a time (e.g. read page by page from storage), in memory bounded by the
    ``(S, N)`` block moments: each chunk's ``(T, k)`` returns are reduced to per-block
    sums and sums of squares at once and then dropped, so a study of any number of trials
    needs ``16 · S · N`` bytes rather than its ``T × N`` returns. The result equals
    :func:`probability_of_backtest_overfitting` on the whole matrix (same blocks: the
    last ``T mod S`` rows are dropped).

    Parameters
    ----------
    n_obs : int
        Rows ``T`` of every chunk (the common calendar's length).
    n_splits : int
        Even number of blocks S (2 ≤ S ≤ 16), ``S ≤ T``.

    Examples
    --------
    >>> acc = StreamingCSCV(n_obs=8, n_splits=4)
    >>> acc.add(np.tile([[0.01], [-0.01]], (4, 3)) * [1.0, 2.0, 3.0])
    >>> acc.n_trials
    3
    """

    def __init__(self, n_obs: int, n_splits: int = 16) -> None:
        if n_splits % 2 or not 2 <= n_splits <= MAX_SPLITS:
            raise ValueError(f"n_splits must be even and in [2, {MAX_SPLITS}]")
        if n_obs < n_splits:
            raise ValueError(f"PBO needs at least {n_splits} rows, got {n_obs}")
        self.n_obs, self.n_splits, self.rows = n_obs, n_splits, n_obs // n_splits
        self._sums: list[np.ndarray] = []
        self._squares: list[np.ndarray] = []
        self._total: list[np.ndarray] = []
        self._total_sq: list[np.ndarray] = []

    @property
    def n_trials(self) -> int:
        """Trials (columns) added so far."""
        return sum(s.shape[1] for s in self._sums)

    def add(self, chunk: np.ndarray) -> None:
        """Add a ``(T, k)`` chunk of ``k`` trials' returns (NaN → 0)."""
        m = np.nan_to_num(np.asarray(chunk, dtype=np.float64), nan=0.0)
        if m.ndim == 1:
            m = m[:, None]
        if m.shape[0] != self.n_obs:
            raise ValueError(f"every trial needs {self.n_obs} returns, got {m.shape[0]}")
        blocks = m[: self.rows * self.n_splits].reshape(self.n_splits, self.rows, m.shape[1])
        self._sums.append(blocks.sum(axis=1))
        self._squares.append(np.square(blocks).sum(axis=1))
        self._total.append(m.sum(axis=0))
        self._total_sq.append(np.square(m).sum(axis=0))

    def sharpes(self) -> np.ndarray:
        """Every trial's per-period Sharpe ratio over all ``T`` rows (ddof=1), in the
        order added: what :func:`sharpe_performance` gives on the whole matrix."""
        return _sharpe_from_sums(np.concatenate(self._total), np.concatenate(self._total_sq),
                                 self.n_obs)  # fmt: skip

    def result(self) -> PBOResult:
        """The CSCV outcome over every trial added (at least 2)."""
        if self.n_trials < 2:
            raise ValueError("PBO needs at least 2 trials")
        sums, squares = np.concatenate(self._sums, axis=1), np.concatenate(self._squares, axis=1)
        return _result(*_sharpe_cscv(sums, squares, self.rows))


def _result(lam: np.ndarray, chosen: np.ndarray, x: np.ndarray, y: np.ndarray) -> PBOResult:
    if np.ptp(x) > 0:
        slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
    else:
        slope, intercept = math.nan, float(y.mean())
    return PBOResult(
        pbo=float(np.mean(lam <= 0)),
        logits=lam,
        chosen=chosen,
        is_performance=x,
        oos_performance=y,
        degradation_slope=slope,
        degradation_intercept=intercept,
        prob_oos_loss=float(np.mean(y < 0)),
    )


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` unskilled trials, ``SR₀`` of [2]_.

    ``SR₀ = sqrt(V[SR]) · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))``

    with γ the Euler-Mascheroni constant and Φ⁻¹ the standard normal quantile.

    Parameters
    ----------
    n_trials : int
        Number of independent trials N (≥ 1; N = 1 gives 0).
    sharpe_variance : float
        Variance of the trials' Sharpe ratios, in the units of the Sharpe ratio tested
        (per period when the tested Sharpe is per period).

    Returns
    -------
    float
        The benchmark Sharpe ratio SR₀.
    """
    if n_trials < 1:
        raise ValueError("n_trials must be at least 1")
    if sharpe_variance < 0:
        raise ValueError("sharpe_variance must be non-negative")
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark`` (PSR, [2]_ eq. 9).

    ``PSR = Φ((SR − SR*) · sqrt(T − 1) / sqrt(1 − γ₃ SR + (γ₄ − 1)/4 · SR²))``

    Parameters
    ----------
    sharpe : float
        Observed Sharpe ratio, per period (not annualised).
    benchmark : float
        Benchmark Sharpe ratio SR*, per period.
    n_obs : int
        Number of return observations T (≥ 2).
    skew : float
        Skewness γ₃ of the returns.
    kurtosis : float
        Kurtosis γ₄ of the returns (not excess: 3 for a normal distribution).

    Returns
    -------
    float
        PSR in [0, 1].
    """
    if n_obs < 2:
        raise ValueError("n_obs must be at least 2")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if denom <= 0:
        return math.nan
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


@dataclass(frozen=True)
class DeflatedSharpe:
    """Deflated Sharpe ratio and its inputs (per-period units)."""

    dsr: float
    sharpe: float
    benchmark_sharpe: float
    n_trials: int
    n_obs: int
    skew: float
    kurtosis: float


def deflated_sharpe_ratio(
    sharpe: float,
    n_trials: int,
    sharpe_variance: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> DeflatedSharpe:
    """Deflated Sharpe ratio of [2]_: the PSR against the expected maximum Sharpe ratio of
    ``n_trials`` unskilled trials, ``DSR = PSR(SR₀)`` with ``SR₀`` from
    :func:`expected_max_sharpe`.

    Parameters
    ----------
    sharpe : float
        The selected strategy's Sharpe ratio, per period (divide an annualised ratio by
        ``sqrt(periods per year)``).
    n_trials : int
        Number of trials the selection was made from.
    sharpe_variance : float
        Variance of the trials' per-period Sharpe ratios.
    n_obs : int
        Number of return observations T.
    skew, kurtosis : float
        Skewness and (non-excess) kurtosis of the selected strategy's returns.

    Returns
    -------
    DeflatedSharpe

    Examples
    --------
    The paper's example: annualised SR 2.5 over 5 years of daily returns (T = 1250,
    250 days a year), N = 100 trials with annualised Sharpe variance 0.5, skew −3 and
    kurtosis 10 gives SR₀ ≈ 0.1132 per day and DSR ≈ 0.9004.

    >>> d = deflated_sharpe_ratio(2.5 / 250**0.5, 100, 0.5 / 250, 1250, -3.0, 10.0)
    >>> round(d.benchmark_sharpe, 4), round(d.dsr, 4)
    (0.1132, 0.9004)
    """
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    dsr = probabilistic_sharpe_ratio(sharpe, sr0, n_obs, skew, kurtosis)
    return DeflatedSharpe(dsr, sharpe, sr0, n_trials, n_obs, skew, kurtosis)


def deflated_sharpe_from_returns(best: np.ndarray, trial_sharpes: np.ndarray) -> DeflatedSharpe:
    """The DSR of the selected trial's daily ``best`` returns, deflated by the per-period
    Sharpe ratios of all trials (``trial_sharpes``, their count is N and their variance
    V[SR]); skew and kurtosis are the sample moments of ``best`` (biased, as in [2]_)."""
    r = np.asarray(best, dtype=np.float64)
    r = r[np.isfinite(r)]
    sr_all = np.asarray(trial_sharpes, dtype=np.float64)
    sr_all = sr_all[np.isfinite(sr_all)]
    if r.size < 3 or sr_all.size < 1:
        raise ValueError("the deflated Sharpe ratio needs at least 3 returns and 1 trial")
    sd = r.std(ddof=1)
    sr = float(r.mean() / sd) if sd > 0 else 0.0
    skew = float(stats.skew(r)) if sd > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if sd > 0 else 3.0
    var = float(sr_all.var(ddof=1)) if sr_all.size > 1 else 0.0
    return deflated_sharpe_ratio(sr, int(sr_all.size), var, int(r.size), skew, kurt)
