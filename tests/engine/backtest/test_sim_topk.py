"""Top-k with n-drop turnover (Qlib TopkDropoutStrategy semantics) and target weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _simkit import make_panel

from quantlab.engine.backtest.config import rules_off
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import TargetWeights, TopkDropout

CODES = ("A", "B", "C", "D")
CONFIG = rules_off().replace(execution__init_cash=100_000.0)


def holdings(res):
    return [set(np.flatnonzero(row > 0).tolist()) for row in res.positions]


def test_topk_dropout_by_hand():
    scores = np.array([[4, 3, 2, 1], [1, 4, 3, 2], [1, 4, 3, 2]], dtype=float)
    panel = make_panel(np.full((3, 4), 10.0), codes=CODES)
    strat = TopkDropout(scores, topk=2, n_drop=1, risk_degree=0.95)
    res = Simulator(panel, strat, CONFIG).run()
    # Day 0: buy the top two (A, B) with 95% of cash split equally.
    # Day 1: held by score [B, A]; best new name C; held ∪ new = [B, C, A] → drop A, buy C.
    # Day 2: [B, C] + candidate D → D ranks last, nothing changes.
    assert holdings(res) == [{0, 1}, {1, 2}, {1, 2}]
    first = res.trades.quantity[:2]
    assert first.tolist() == pytest.approx([100_000 * 0.95 / 2 / 10] * 2)
    # C gets 95% of the cash after selling A: 5% left over + A's 47,500.
    assert res.trades.quantity[-1] == pytest.approx((5_000 + 47_500) * 0.95 / 10)


def qlib_reference(scores: np.ndarray, topk: int, n_drop: int) -> list[set[int]]:
    """Qlib's generate_trade_decision (bottom/top, all tradable) transcribed with pandas."""
    held: list[int] = []
    out = []
    for row in scores:
        pred = pd.Series(row).dropna()
        last = pred.reindex(held).sort_values(ascending=False).index
        today = list(pred[~pred.index.isin(last)].sort_values(ascending=False).index)
        today = today[: n_drop + topk - len(last)]
        comb = pred.reindex(last.union(pd.Index(today))).sort_values(ascending=False).index
        sell = last[last.isin(list(comb)[-n_drop:])]
        buy = today[: len(sell) + topk - len(last)]
        held = [i for i in held if i not in set(sell)] + list(buy)
        out.append(set(held))
    return out


def test_topk_dropout_matches_qlib_selection_on_random_scores():
    rng = np.random.default_rng(5)
    t_len, n = 60, 25
    scores = rng.normal(size=(t_len, n))
    scores[rng.random((t_len, n)) < 0.1] = np.nan
    panel = make_panel(np.full((t_len, n), 10.0), codes=[f"S{j:02d}" for j in range(n)])
    res = Simulator(panel, TopkDropout(scores, topk=6, n_drop=2), rules_off()).run()
    assert holdings(res) == qlib_reference(scores, 6, 2)


def test_target_weights_rebalance_to_targets():
    close = np.array([[10.0, 20.0], [10.0, 40.0], [10.0, 40.0]])
    weights = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    res = Simulator(make_panel(close, codes=("A", "B")), TargetWeights(weights), CONFIG).run()
    # Day 0: 5,000 shares of A, 2,500 of B. Day 1: equity 150,000 → 7,500 A and 1,875 B.
    assert res.positions[0].tolist() == [5_000, 2_500]
    assert res.positions[1].tolist() == pytest.approx([7_500, 1_875])
    assert res.positions[2].tolist() == pytest.approx([15_000, 0])
    assert res.equity[:, 0] == pytest.approx([100_000, 150_000, 150_000])
