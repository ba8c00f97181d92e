"""Heat-map, sensitivity and the overfitting report of a study, on hand-built trials."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantlab.engine.optimise import (
    Trial,
    deflated_sharpe_from_returns,
    heatmap,
    overfitting_report,
    probability_of_backtest_overfitting,
    sensitivity,
)


def _trials() -> list[Trial]:
    rows = [  # (fast, slow, stop, sharpe)
        (5, 20, 0.1, 1.0), (5, 20, 0.2, 1.5), (5, 40, 0.1, 0.5),
        (10, 20, 0.1, -0.5), (10, 40, 0.1, 2.0), (10, 40, 0.2, math.nan),
    ]  # fmt: skip
    return [Trial(i, {"fast": f, "slow": s, "stop": st}, [v], True, {}, 0.0)
            for i, (f, s, st, v) in enumerate(rows)]  # fmt: skip


def test_heatmap_keeps_the_best_over_the_other_parameters() -> None:
    h = heatmap(_trials(), "fast", "slow")
    assert h["x"] == [5, 10] and h["y"] == [20, 40]
    # by hand: (5, 20) best of 1.0 and 1.5; (10, 40) best of 2.0 and NaN
    assert h["z"] == [[1.5, -0.5], [0.5, 2.0]]
    low = heatmap(_trials(), "fast", "slow", maximize=False)
    assert low["z"][0][0] == 1.0
    with pytest.raises(KeyError, match="nope"):
        heatmap(_trials(), "fast", "nope")


def test_sensitivity_best_mean_and_count() -> None:
    s = sensitivity(_trials(), "fast")
    assert s["values"] == [5, 10]
    assert s["best"] == [1.5, 2.0]
    assert s["mean"] == pytest.approx([1.0, 0.75])  # (1 + 1.5 + 0.5)/3, (−0.5 + 2)/2
    assert s["count"] == [3.0, 3.0]


def test_overfitting_report_combines_pbo_and_dsr() -> None:
    rng = np.random.default_rng(1)
    m = rng.normal(0.0, 0.01, (400, 12))
    best = int(np.argmax(m.mean(axis=0) / m.std(axis=0, ddof=1)))
    r = overfitting_report(m, best, n_splits=8)
    p = probability_of_backtest_overfitting(m, n_splits=8)
    assert r["pbo"] == p.pbo and r["n_splits"] == 8 and r["n_trials"] == 12
    sharpes = m.mean(axis=0) / m.std(axis=0, ddof=1)
    d = deflated_sharpe_from_returns(m[:, best], sharpes)
    assert r["dsr"]["dsr"] == pytest.approx(d.dsr)
    assert r["dsr"]["sharpe_annual"] == pytest.approx(d.sharpe * math.sqrt(252))
    assert r["dsr"]["dsr"] < 0.95  # the best of 12 noise series is not significant
    short = overfitting_report(m[:6], 0)  # 6 rows: splits lowered to 2 (3 rows a block)
    assert short["n_splits"] == 2
    assert overfitting_report(m[:, :1], 0)["pbo"] is None  # one trial: no PBO, DSR still
