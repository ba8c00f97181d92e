"""Signal analysis of predictions on the test span, by the factor engine's IC kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantlab.engine.factors.analysis import ICSummary, information_coefficients


@dataclass(frozen=True, slots=True)
class SignalAnalysis:
    """Qlib's ``SigAnaRecord`` figures: daily IC and Rank IC of scores against the raw label.

    ``ic``/``rank_ic`` are the means of the daily Pearson / Spearman correlations;
    ``icir``/``rank_icir`` those means over the daily standard deviation (ddof 1, not
    annualised), as Qlib reports them.
    """

    dates: np.ndarray
    daily_ic: np.ndarray
    daily_rank_ic: np.ndarray
    ic: float
    icir: float
    rank_ic: float
    rank_icir: float
    n_days: int

    def summary(self) -> dict[str, float | int | None]:
        """The four headline numbers and the day count, JSON-safe (NaN as None)."""
        out: dict[str, float | int | None] = {}
        for k in ("ic", "icir", "rank_ic", "rank_icir"):
            v = float(getattr(self, k))
            out[k] = v if math.isfinite(v) else None
        out["n_days"] = self.n_days
        return out

    def to_dict(self) -> dict[str, Any]:
        """Summary plus the daily series (NaN as None)."""

        def clean(a: np.ndarray) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in a]

        return {
            **self.summary(),
            "dates": [str(d) for d in self.dates],
            "daily_ic": clean(self.daily_ic),
            "daily_rank_ic": clean(self.daily_rank_ic),
        }


def signal_analysis(
    scores: np.ndarray, label: np.ndarray, dates: np.ndarray, min_instruments: int = 2
) -> SignalAnalysis:
    """IC, ICIR, Rank IC and Rank ICIR of ``scores`` against ``label``.

    Parameters
    ----------
    scores, label : numpy.ndarray
        ``(T, N)`` predictions and the raw (unprocessed) label on the same rows; NaN pairs
        are skipped per day.
    dates : numpy.ndarray
        ``(T,)`` trading days.
    min_instruments : int
        Fewest pairs a day needs (2: pandas' ``corr`` rule, which Qlib uses).

    Returns
    -------
    SignalAnalysis
        Days without a defined correlation are left out of the means.
    """
    ic, ric = information_coefficients(scores, label, min_instruments)
    s_ic, s_ric = ICSummary.of(1, ic), ICSummary.of(1, ric)
    keep = ~(np.isnan(ic) & np.isnan(ric))
    return SignalAnalysis(
        dates=np.asarray(dates)[keep],
        daily_ic=ic[keep],
        daily_rank_ic=ric[keep],
        ic=s_ic.mean,
        icir=s_ic.ir,
        rank_ic=s_ric.mean,
        rank_icir=s_ric.ir,
        n_days=int(keep.sum()),
    )
