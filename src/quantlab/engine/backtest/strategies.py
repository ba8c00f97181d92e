"""Strategy inputs: what a strategy compiles to before the simulator runs.

Templates, builder graphs and sandboxed user code all end as one of these array bundles.
Each array is indexed by decision day: a value on day ``t`` is acted on at day ``t``'s close
or at day ``t+1``'s open/VWAP, depending on ``ExecutionConfig.price``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quantlab.engine.backtest.enums import Rebalance


@dataclass(frozen=True)
class Signals:
    """Boolean entry and exit panels ``(T, N)``; sizing comes from ``SizingConfig``.

    An entry while already holding is ignored (no pyramiding), as is an exit while flat; a
    day with both an entry and an exit for the same instrument does nothing new.
    """

    entries: np.ndarray
    exits: np.ndarray


@dataclass(frozen=True)
class TargetWeights:
    """Target fraction of portfolio equity per instrument ``(T, N)``; NaN means 0.

    On each rebalance day positions move to their targets (sells first, then buys scaled
    down together when cash is short); differences under one lot are not traded.
    """

    weights: np.ndarray
    rebalance: Rebalance = Rebalance.DAILY


@dataclass(frozen=True)
class TopkDropout:
    """Qlib ``TopkDropoutStrategy`` on a score panel ``(T, N)``: higher score is better.

    On each rebalance day hold ``topk`` names, replacing at most ``n_drop`` of the held names
    that rank at the bottom of held ∪ best new candidates. New names share
    ``cash × risk_degree`` equally; kept names are not resized. NaN scores are never bought
    and rank last among held names. ``hold_thresh`` is the minimum days held before a sell.
    Unlike Qlib, ``n_drop = 0`` sells nothing (Qlib's ``list[-0:]`` sells everything).
    """

    scores: np.ndarray
    topk: int
    n_drop: int
    rebalance: Rebalance = Rebalance.DAILY
    hold_thresh: int = 1
    risk_degree: float = 0.95


Strategy = Signals | TargetWeights | TopkDropout


def rebalance_mask(calendar: np.ndarray, every: Rebalance) -> np.ndarray:
    """Boolean ``(T,)``: True on the first trading day of each period (every day for DAILY)."""
    cal = np.asarray(calendar, dtype="datetime64[D]")
    if every == Rebalance.DAILY or len(cal) == 0:
        return np.ones(len(cal), dtype=bool)
    if every == Rebalance.MONTHLY:
        period = cal.astype("datetime64[M]").astype(np.int64)
    else:
        # 1970-01-01 was a Thursday; shifting by 3 days makes weeks start on Monday.
        period = (cal.astype(np.int64) + 3) // 7
    mask = np.ones(len(cal), dtype=bool)
    mask[1:] = period[1:] != period[:-1]
    return mask
