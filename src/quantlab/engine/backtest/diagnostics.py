"""Backtest diagnostics: findings with a severity, numeric evidence and a suggestion.

Each diagnostic is a function of :class:`DiagnosticInputs` returning a list of
:class:`Finding`; it returns nothing when the inputs it needs are absent. Diagnostics
that need re-runs of the strategy (parameter sensitivity, walk-forward) take the results
of those sub-runs, which the job layer supplies. Return conventions follow
:mod:`quantlab.engine.backtest.metrics` (daily simple returns, NaN = missing day,
252 periods a year).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from quantlab.engine.backtest import metrics as m
from quantlab.engine.backtest.diagnostics_nb import bootstrap_sharpes, concentration
from quantlab.engine.data.universe import StaticUniverseBias

__all__ = [
    "DiagnosticInputs",
    "Finding",
    "contributions_from_weights",
    "list_diagnostics",
    "parameter_sensitivity",
    "run_diagnostics",
    "walk_forward",
]

Severity = Literal["info", "warning", "critical"]
PERIODS = 252  # trading days a year
BOOTSTRAP_SAMPLES = 1000  # resamples of the luck percentile


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation: ``evidence`` holds the numbers it rests on (JSON-safe via to_dict)."""

    diagnostic: str
    severity: Severity
    title: str
    evidence: Mapping[str, Any]
    suggestion: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: NaN and inf become ``None``, NumPy values plain Python."""
        return m.json_safe(
            {
                "diagnostic": self.diagnostic,
                "severity": self.severity,
                "title": self.title,
                "evidence": dict(self.evidence),
                "suggestion": self.suggestion,
            }
        )


@dataclass(frozen=True, slots=True)
class DiagnosticInputs:
    """What a backtest produced, plus optional context; every optional part may be None.

    Attributes
    ----------
    returns, dates : numpy.ndarray
        Daily simple returns (fractions, NaN = missing) and their ``datetime64[D]`` days.
    benchmark : numpy.ndarray, optional
        Benchmark daily returns aligned with ``returns``.
    weights : numpy.ndarray, optional
        ``(T, N)`` end-of-day weights as fractions of equity.
    contributions : numpy.ndarray, optional
        ``(T, N)`` each instrument's daily contribution to the portfolio return
        (see :func:`contributions_from_weights`).
    contribution_totals : numpy.ndarray, optional
        ``(N,)`` the same summed over the days (``nansum(contributions, axis=0)``), when
        the caller has them without the ``(T, N)`` contributions.
    concentration : (numpy.ndarray, numpy.ndarray), optional
        The weights' daily gross and, on the days it is positive, their Herfindahl index
        (:func:`~quantlab.engine.backtest.diagnostics_nb.concentration`), when the caller
        has them without the weights.
    instruments : sequence of str, optional
        ``N`` instrument codes for ``weights`` / ``contributions`` columns.
    industries : mapping, optional
        Instrument code to industry name.
    trades : TradeRecords, optional
        Closed trades.
    n_parameters : int, optional
        Free parameters the strategy was tuned over.
    oos_start : numpy.datetime64, optional
        First out-of-sample day; by default the last 30 % of days are out of sample.
    rejected_orders : mapping, optional
        Rejection reason to count; ``order_count`` is all orders submitted.
    cash_share : numpy.ndarray, optional
        ``(T,)`` cash as a fraction of equity; derived from ``weights`` when absent.
    sensitivity_runs, walk_forward_runs : optional
        Sub-run results for :func:`parameter_sensitivity` and :func:`walk_forward`.
    universe_bias : StaticUniverseBias, optional
        For a static symbol list: how many names had no data at the start (see
        :func:`quantlab.engine.data.universe.static_universe_bias`); None with a dated
        universe or all symbols.
    study : mapping, optional
        The overfitting report of the optimisation study the run came from (``pbo``,
        ``dsr``; see :func:`study_overfitting`).
    bootstrap : (float, float) or callable, optional
        :func:`bootstrap_luck_percentile` of ``returns`` with ``bootstrap_samples``,
        ``seed`` and ``periods`` when the caller computes it, or a function returning it
        (called when the diagnostic needs it: e.g. waiting for another thread).
    seed : int
        Seed of the bootstrap (stored with the run for reproducibility).
    """

    returns: np.ndarray
    dates: np.ndarray
    benchmark: np.ndarray | None = None
    weights: np.ndarray | None = None
    contributions: np.ndarray | None = None
    contribution_totals: np.ndarray | None = None
    concentration: tuple[np.ndarray, np.ndarray] | None = None
    instruments: Sequence[str] | None = None
    industries: Mapping[str, str] | None = None
    trades: m.TradeRecords | None = None
    n_parameters: int | None = None
    oos_start: np.datetime64 | str | None = None
    rejected_orders: Mapping[str, int] | None = None
    order_count: int | None = None
    cash_share: np.ndarray | None = None
    sensitivity_runs: Sequence[tuple[Mapping[str, float], float]] | None = None
    walk_forward_runs: Sequence[tuple[float, float]] | None = None
    universe_bias: StaticUniverseBias | None = None
    study: Mapping[str, Any] | None = None
    bootstrap: tuple[float, float] | Callable[[], tuple[float, float]] | None = None
    seed: int = 0
    periods: int = PERIODS
    bootstrap_samples: int = BOOTSTRAP_SAMPLES


def contributions_from_weights(weights: np.ndarray, asset_returns: np.ndarray) -> np.ndarray:
    """Daily contribution ``w[t - 1, i] * r[t, i]``: yesterday's weight times today's return.

    Units: fraction of equity per day, ``(T, N)``; NaN weights or returns contribute 0.
    """
    w = m.nan_to_zero(weights)
    r = m.nan_to_zero(asset_returns)
    out = np.zeros_like(r)
    out[1:] = w[:-1] * r[1:]
    return out


# ---------------------------------------------------------------------------------------------
# attribution


def _attribution(x: DiagnosticInputs) -> list[Finding]:
    out: list[Finding] = []
    if x.contributions is not None or x.contribution_totals is not None:
        total = (
            np.nansum(np.asarray(x.contributions, dtype=np.float64), axis=0)
            if x.contribution_totals is None
            else np.asarray(x.contribution_totals, dtype=np.float64)
        )
        names = list(x.instruments or [str(i) for i in range(len(total))])
        order = np.argsort(-np.abs(total))[:5]
        top = {names[i]: float(total[i]) for i in order}
        gross = float(np.abs(total).sum())
        share = float(np.abs(total[order]).sum() / gross) if gross > 0 else math.nan
        severity: Severity = "warning" if share > 0.8 and len(total) > 5 else "info"
        out.append(
            Finding(
                "attribution",
                severity,
                "Top-5 instruments' contribution",
                {"top5": top, "top5_share_of_gross": share},
                "Returns hinge on a few names; test without them." if severity != "info" else "",
            )
        )
        if x.industries:
            by: dict[str, float] = {}
            for name, value in zip(names, total, strict=True):
                key = x.industries.get(name, "unknown")
                by[key] = by.get(key, 0.0) + float(value)
            tot = sum(by.values())
            shares = {k: v / tot if tot else math.nan for k, v in by.items()}
            out.append(
                Finding("attribution", "info", "Contribution by industry", {"share": shares})
            )
    months, monthly = m.monthly_series(x.returns, x.dates)
    if monthly.size:
        wins, losses = _streak(monthly > 0), _streak(monthly < 0)
        quarters = months.astype("datetime64[M]").astype(int) // 3
        uq, inv = np.unique(quarters, return_inverse=True)
        qret = np.expm1(np.bincount(inv, weights=np.log1p(monthly)))
        best = int(np.argmax(qret))
        label = f"{uq[best] // 4 + 1970}Q{uq[best] % 4 + 1}"
        evidence = {
            "monthly_std": float(np.std(monthly, ddof=1)) if monthly.size > 1 else math.nan,
            "monthly_range": float(monthly.max() - monthly.min()),
            "longest_winning_months": wins,
            "longest_losing_months": losses,
            "best_quarter": label,
            "best_quarter_return": float(qret[best]),
        }
        severity = "warning" if losses >= 6 else "info"
        tip = (
            "Six or more losing months in a row: check the regime dependence."
            if losses >= 6
            else ""
        )
        out.append(Finding("attribution", severity, "Monthly return profile", evidence, tip))
    return out


def _streak(flags: np.ndarray) -> int:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best


# ---------------------------------------------------------------------------------------------
# risk


def _risk(x: DiagnosticInputs) -> list[Finding]:
    out: list[Finding] = []
    r = x.returns
    dd = m.drawdown_details(r, x.dates)
    if dd["start"] is not None:
        evidence = dict(dd)
        if x.benchmark is not None:
            d = np.asarray(x.dates, dtype="datetime64[D]")
            lo = int(np.searchsorted(d, np.datetime64(dd["start"])))
            hi = int(np.searchsorted(d, np.datetime64(dd["trough"]), side="right"))
            # the drawdown starts after the peak day's close
            evidence["benchmark_return_same_span"] = m.total_return(x.benchmark[lo + 1 : hi])
        deep = abs(dd["max_drawdown"]) > 0.2
        out.append(
            Finding(
                "risk",
                "warning" if deep else "info",
                "Maximum drawdown period",
                evidence,
                "Cap position sizes or add a stop to bound the drawdown." if deep else "",
            )
        )
    vol = m.annual_volatility(r, x.periods)
    tail = {
        "annual_volatility": vol,
        "value_at_risk_95": m.value_at_risk(r),
        "cvar_95": m.conditional_value_at_risk(r),
        "skew": m.skewness(r),
        "excess_kurtosis": m.kurtosis(r),
    }
    fat = tail["excess_kurtosis"] > 3 or tail["skew"] < -1
    out.append(
        Finding(
            "risk",
            "warning" if fat or vol > 0.4 else "info",
            "Volatility and tail risk",
            tail,
            "Fat left tail: size by CVaR, not volatility." if fat else "",
        )
    )
    conc = x.concentration
    if conc is None and x.weights is not None:
        conc = concentration(x.weights)
    if conc is not None:
        gross, hhi = conc
        if (gross > 0).any():
            mean_hhi = float(hhi.mean())
            severity: Severity = (
                "critical" if mean_hhi > 0.5 else "warning" if mean_hhi > 0.25 else "info"
            )
            out.append(
                Finding(
                    "risk",
                    severity,
                    "Concentration of holdings (weights HHI)",
                    {
                        "mean_hhi": mean_hhi,
                        "max_hhi": float(hhi.max()),
                        "effective_n": 1 / mean_hhi,
                    },
                    "Diversify: fewer than 4 effective positions." if severity != "info" else "",
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# overfitting


def bootstrap_luck_percentile(
    returns: np.ndarray, samples: int = 1000, seed: int = 0, periods: int = 252
) -> tuple[float, float]:
    """Percentile of the observed Sharpe among Sharpes of zero-mean bootstrap resamples.

    The returns are demeaned (no skill) and resampled with replacement ``samples`` times
    with ``numpy.random.default_rng(seed)``. Returns ``(sharpe, percentile)``; the
    percentile is in [0, 100]: near 100 means luck rarely produces such a Sharpe.
    """
    r = returns[~np.isnan(returns)]
    observed = m.sharpe_ratio(r, periods=periods)
    if r.size < 2 or math.isnan(observed):
        return observed, math.nan
    # (r - r.mean())[rng.integers(0, r.size, size=(samples, r.size))]: its rows' mean /
    # std(ddof=1) * sqrt(periods), to the bit
    sharpes = bootstrap_sharpes(r - r.mean(), samples, np.random.default_rng(seed), periods)
    return observed, float(np.mean(sharpes < observed) * 100.0)


def _overfitting(x: DiagnosticInputs) -> list[Finding]:
    out: list[Finding] = []
    if x.n_parameters is not None and x.n_parameters > 10:
        out.append(
            Finding(
                "overfitting",
                "warning",
                "Many free parameters",
                {"n_parameters": x.n_parameters},
                "More than 10 tuned parameters: fix some or validate out of sample.",
            )
        )
    r, d = x.returns, np.asarray(x.dates, dtype="datetime64[D]")
    if len(r) >= 40:
        cut = (
            int(len(r) * 0.7)
            if x.oos_start is None
            else int(np.searchsorted(d, np.asarray(x.oos_start, dtype="datetime64[D]")))
        )
        is_, oos = r[:cut], r[cut:]
        a = m.sharpe_ratio(is_, periods=x.periods)
        b = m.sharpe_ratio(oos, periods=x.periods)
        ev = {
            "split_date": str(d[cut]) if cut < len(d) else None,
            "in_sample_sharpe": a,
            "out_of_sample_sharpe": b,
            "in_sample_annual_return": m.annual_return(is_, x.periods),
            "out_of_sample_annual_return": m.annual_return(oos, x.periods),
        }
        decayed = a > 0 and not b > 0.5 * a
        out.append(
            Finding(
                "overfitting",
                "warning" if decayed else "info",
                "In-sample versus out-of-sample",
                ev,
                "Out-of-sample Sharpe is under half the in-sample one." if decayed else "",
            )
        )
    if x.bootstrap is None:
        sharpe, pct = bootstrap_luck_percentile(r, x.bootstrap_samples, x.seed, x.periods)
    else:
        sharpe, pct = x.bootstrap() if callable(x.bootstrap) else x.bootstrap
    if not math.isnan(pct):
        lucky = pct < 95.0
        out.append(
            Finding(
                "overfitting",
                "warning" if lucky else "info",
                "Bootstrap luck percentile",
                {
                    "sharpe": sharpe,
                    "percentile": pct,
                    "samples": x.bootstrap_samples,
                    "seed": x.seed,
                },
                "A zero-skill strategy often matches this Sharpe." if lucky else "",
            )
        )
    excess = r if x.benchmark is None else r - x.benchmark
    excess = excess[~np.isnan(excess)]
    if excess.size >= 3 and np.std(excess) > 0:
        from scipy import stats  # imported here: scipy.stats costs seconds at worker start

        test = stats.ttest_1samp(excess, 0.0)
        weak = not test.pvalue < 0.05
        out.append(
            Finding(
                "overfitting",
                "warning" if weak else "info",
                "t-test of mean daily excess return",
                {
                    "against": "zero" if x.benchmark is None else "benchmark",
                    "t_stat": float(test.statistic),
                    "p_value": float(test.pvalue),
                    "days": int(excess.size),
                },
                "The excess return is not distinguishable from zero at 5 %." if weak else "",
            )
        )
    if x.sensitivity_runs:
        out.append(parameter_sensitivity(x.sensitivity_runs))
    if x.walk_forward_runs:
        out.append(walk_forward(x.walk_forward_runs))
    if x.study:
        out.extend(study_overfitting(x.study))
    return out


PBO_HIGH = 0.5  # more likely than not that the in-sample best is below the median OOS
DSR_LOW = 0.95  # the best Sharpe is not significant at 5 % once the trials are counted


def study_overfitting(report: Mapping[str, Any]) -> list[Finding]:
    """Findings of an optimisation study's overfitting report.

    ``report`` holds ``pbo`` (probability of backtest overfitting by CSCV, a fraction, or
    None when it could not be computed), ``dsr`` (a mapping with ``dsr``, the deflated
    Sharpe ratio as a probability, and the per-period ``sharpe`` / ``benchmark_sharpe``)
    and ``n_trials``. A PBO of :data:`PBO_HIGH` or more is critical, 0.2 or more a warning;
    a DSR under :data:`DSR_LOW` is a warning (the selected Sharpe ratio is not
    distinguishable from the best of ``n_trials`` lucky draws at 5 %).
    """
    out: list[Finding] = []
    n = int(report.get("n_trials") or 0)
    pbo = report.get("pbo")
    if pbo is not None and not math.isnan(float(pbo)):
        p = float(pbo)
        severity: Severity = "critical" if p >= PBO_HIGH else "warning" if p >= 0.2 else "info"
        out.append(
            Finding(
                "overfitting",
                severity,
                "Probability of backtest overfitting",
                {"pbo": p, "n_trials": n, "n_splits": report.get("n_splits")},
                "The study's best in-sample choice often ranks below the median out of "
                "sample: treat its figures as fitted."
                if p >= 0.2
                else "",
            )
        )
    dsr = report.get("dsr") or {}
    value = dsr.get("dsr")
    if value is not None and not math.isnan(float(value)):
        low = float(value) < DSR_LOW
        out.append(
            Finding(
                "overfitting",
                "warning" if low else "info",
                "Deflated Sharpe ratio",
                {
                    "dsr": float(value),
                    "sharpe": dsr.get("sharpe"),
                    "benchmark_sharpe": dsr.get("benchmark_sharpe"),
                    "n_trials": n,
                },
                f"After {n} trials the best Sharpe ratio is not significant at 5 %." if low else "",
            )
        )
    return out


def parameter_sensitivity(runs: Sequence[tuple[Mapping[str, float], float]]) -> Finding:
    """Spread of a score (e.g. Sharpe) across parameter variations around the chosen set.

    ``runs`` are ``(parameters, score)`` pairs from sub-runs, the chosen set first.
    Warning when the median neighbour keeps less than half the chosen score.
    """
    scores = np.array([s for _, s in runs], dtype=np.float64)
    base, others = scores[0], scores[1:]
    median = float(np.nanmedian(others)) if others.size else math.nan
    fragile = base > 0 and not median > 0.5 * base
    return Finding(
        "overfitting",
        "warning" if fragile else "info",
        "Parameter sensitivity",
        {
            "chosen": float(base),
            "neighbour_median": median,
            "neighbour_min": float(np.nanmin(scores)),
            "runs": len(runs),
        },
        "The score collapses when parameters move: a fitted peak." if fragile else "",
    )


def walk_forward(windows: Sequence[tuple[float, float]]) -> Finding:
    """Walk-forward efficiency from ``(in_sample_score, out_of_sample_score)`` per window.

    Efficiency is mean out-of-sample over mean in-sample score; warning under 0.5.
    """
    arr = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
    is_mean, oos_mean = float(np.nanmean(arr[:, 0])), float(np.nanmean(arr[:, 1]))
    eff = oos_mean / is_mean if is_mean > 0 else math.nan
    poor = not eff >= 0.5
    return Finding(
        "overfitting",
        "warning" if poor else "info",
        "Walk-forward efficiency",
        {
            "efficiency": eff,
            "in_sample_mean": is_mean,
            "out_of_sample_mean": oos_mean,
            "positive_oos_windows": float(np.mean(arr[:, 1] > 0)),
            "windows": len(arr),
        },
        "Out-of-sample keeps under half the in-sample score." if poor else "",
    )


# ---------------------------------------------------------------------------------------------
# execution and rules


def _execution(x: DiagnosticInputs) -> list[Finding]:
    out: list[Finding] = []
    if x.rejected_orders is not None and x.order_count:
        shares = {k: v / x.order_count for k, v in x.rejected_orders.items()}
        total = sum(shares.values())
        out.append(
            Finding(
                "execution",
                "warning" if total > 0.05 else "info",
                "Rejected orders by reason",
                {"rejected_share": total, "by_reason": shares, "orders": x.order_count},
                "Over 5 % of orders rejected: the signal trades untradeable names."
                if total > 0.05
                else "",
            )
        )
    cash = x.cash_share
    if cash is None and x.weights is not None:
        cash = np.clip(1.0 - np.nansum(x.weights, axis=1), 0.0, 1.0)
    if cash is not None:
        idle = float(np.nanmean(cash))
        out.append(
            Finding(
                "execution",
                "warning" if idle > 0.3 else "info",
                "Idle cash",
                {"mean_cash_share": idle},
                "Over 30 % of capital sits idle on average." if idle > 0.3 else "",
            )
        )
    return out


def _rules(x: DiagnosticInputs) -> list[Finding]:
    out: list[Finding] = []
    sharpe = m.sharpe_ratio(x.returns, periods=x.periods)
    if sharpe < 1.0:
        out.append(
            Finding(
                "rules",
                "warning",
                "Sharpe ratio below 1",
                {"sharpe_ratio": sharpe},
                "Improve the signal or cut costs before scaling up.",
            )
        )
    mdd = m.max_drawdown(x.returns)
    if mdd < -0.2:
        out.append(
            Finding(
                "rules",
                "critical" if mdd < -0.4 else "warning",
                "Maximum drawdown above 20 %",
                {"max_drawdown": mdd},
                "Add risk controls: position limits, stops or volatility targeting.",
            )
        )
    if x.trades is not None:
        rate, basis = m.win_rate(x.trades), "trades"
    else:
        rate, basis = m.daily_win_rate(x.returns), "days"
    if rate < 0.5:
        out.append(
            Finding(
                "rules",
                "info",
                "Win rate below 50 %",
                {"win_rate": rate, "basis": basis},
                "Fine if winners are large; check the profit/loss ratio.",
            )
        )
    elif rate > 0.7:
        out.append(
            Finding(
                "rules",
                "warning",
                "Win rate above 70 %",
                {"win_rate": rate, "basis": basis},
                "Unusually high: look for look-ahead bias or hidden tail risk.",
            )
        )
    return out


def _universe(x: DiagnosticInputs) -> list[Finding]:
    """Survivorship: a static list whose names were largely absent when the period began
    was chosen from the end of the period (today's index members over past years)."""
    bias = x.universe_bias
    if bias is None or not bias.flagged:
        return []
    severity: Severity = "critical" if bias.share_absent_at_start > 0.2 else "warning"
    return [
        Finding(
            "universe",
            severity,
            "Static universe chosen from the end of the period (survivorship bias)",
            bias.to_dict(),
            f"{bias.absent_at_start} of {bias.names} names had no data at {bias.start}: the "
            "list knows which names survived and joined later. Use a dated universe "
            "(dated_universe, e.g. the dataset's csi300 membership) so a name counts only "
            "while it was a member, and compare with the index as benchmark.",
        )
    ]


# ---------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True, slots=True)
class DiagnosticSpec:
    """A registered diagnostic."""

    name: str
    description: str
    function: Callable[[DiagnosticInputs], list[Finding]] = field(repr=False)


DIAGNOSTICS: dict[str, DiagnosticSpec] = {
    s.name: s
    for s in (
        DiagnosticSpec(
            "attribution", "Top contributors, industries, monthly profile", _attribution
        ),
        DiagnosticSpec("risk", "Drawdown period, volatility, tails, concentration", _risk),
        DiagnosticSpec(
            "overfitting", "Parameters, in/out of sample, bootstrap, t-test", _overfitting
        ),
        DiagnosticSpec("execution", "Rejected orders and idle cash", _execution),
        DiagnosticSpec("rules", "Rule-of-thumb suggestions on Sharpe, drawdown, win rate", _rules),
        DiagnosticSpec(
            "universe", "Static universe picked at the end of the period (survivorship)", _universe
        ),
    )
}


def list_diagnostics() -> list[dict[str, str]]:
    """Name and description of every registered diagnostic."""
    return [{"name": s.name, "description": s.description} for s in DIAGNOSTICS.values()]


def run_diagnostics(inputs: DiagnosticInputs, names: Sequence[str] | None = None) -> list[Finding]:
    """Run the named diagnostics (all by default) and return their findings in order."""
    chosen = list(DIAGNOSTICS) if names is None else list(names)
    unknown = [n for n in chosen if n not in DIAGNOSTICS]
    if unknown:
        raise KeyError(f"unknown diagnostics: {unknown}")
    out: list[Finding] = []
    for name in chosen:
        out.extend(DIAGNOSTICS[name].function(inputs))
    return out
