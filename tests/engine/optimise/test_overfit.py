"""PBO by CSCV and the deflated Sharpe ratio against hand-computed cases and the DSR paper's
worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from quantlab.engine.optimise import (
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from quantlab.engine.optimise.overfit import mean_performance


def test_dsr_reproduces_the_papers_example() -> None:
    # Bailey & López de Prado (2014), section "A numerical example": annualised SR 2.5,
    # T = 1250 daily returns (5 years), N = 100 trials, annualised V[SR] = 0.5, skew -3,
    # kurtosis 10: SR0 = 0.1132 (daily), DSR = 0.9004.
    d = deflated_sharpe_ratio(2.5 / math.sqrt(250), 100, 0.5 / 250, 1250, -3.0, 10.0)
    assert d.benchmark_sharpe == pytest.approx(0.1132, abs=5e-5)
    assert d.dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_and_psr_by_hand() -> None:
    # N = 2: Φ⁻¹(1/2) = 0, Φ⁻¹(1 − 1/(2e)) = Φ⁻¹(0.816060) = 0.90045
    # (Φ(0.9) = 0.815940, φ(0.9) = 0.266085: 0.9 + 0.000120/0.266085); γ = 0.577216
    assert expected_max_sharpe(2, 1.0) == pytest.approx(0.577216 * 0.90045, abs=2e-5)
    assert expected_max_sharpe(1, 4.0) == 0.0
    # SR equal to the benchmark: z = 0 → 0.5 whatever the moments
    assert probabilistic_sharpe_ratio(0.1, 0.1, 100, -1.0, 6.0) == pytest.approx(0.5)
    # normal returns, SR 0.1 vs 0 over T = 101: z = 0.1·10/sqrt(1 + 2/4·0.01) = 0.997509
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101) == pytest.approx(
        stats.norm.cdf(1.0 / math.sqrt(1.005)), abs=1e-12
    )


def test_dsr_from_returns_uses_the_sample_moments() -> None:
    rng = np.random.default_rng(3)
    best = rng.normal(0.001, 0.01, 500)
    sharpes = rng.normal(0.0, 0.05, 20)
    d = deflated_sharpe_from_returns(best, sharpes)
    assert d.n_trials == 20 and d.n_obs == 500
    assert d.skew == pytest.approx(stats.skew(best))
    assert d.kurtosis == pytest.approx(stats.kurtosis(best, fisher=False))
    sr = best.mean() / best.std(ddof=1)
    expect = deflated_sharpe_ratio(sr, 20, sharpes.var(ddof=1), 500, d.skew, d.kurtosis)
    assert d.dsr == pytest.approx(expect.dsr)


def test_pbo_is_one_when_the_in_sample_winner_always_loses() -> None:
    # Two trials, two one-row blocks. Split 1: train row 0 picks A (1 > 0), test row 1 has
    # A = −1 < B = 0 → rank 1 of 2, ω = 1/3, λ = ln(1/2) < 0. Split 2: train row 1 picks B,
    # test row 0 has B = 0 < A = 1 → again λ = ln(1/2). PBO = 2/2 = 1.
    m = np.array([[1.0, 0.0], [-1.0, 0.0]])
    r = probability_of_backtest_overfitting(m, n_splits=2, performance=mean_performance)
    assert r.pbo == 1.0
    np.testing.assert_allclose(r.logits, [math.log(0.5)] * 2)
    assert r.chosen.tolist() == [0, 1]
    assert r.is_performance.tolist() == [1.0, 0.0] and r.oos_performance.tolist() == [-1.0, 0.0]
    assert r.prob_oos_loss == 0.5
    assert r.degradation_slope == pytest.approx(-1.0)  # line through (1, −1) and (0, 0)


def test_pbo_is_zero_for_a_dominant_trial_and_matches_a_four_block_hand_case() -> None:
    m = np.array([[2.0, 1.0, 0.0], [3.0, 1.0, 0.0], [1.5, 1.0, 0.0], [2.5, 0.0, 1.0]])
    r = probability_of_backtest_overfitting(m, n_splits=4, performance=mean_performance)
    # trial 0 is best on every half: chosen in all C(4,2) = 6 splits, rank 3 of 3,
    # ω = 3/4, λ = ln 3
    assert len(r.logits) == 6 and r.pbo == 0.0
    np.testing.assert_allclose(r.logits, [math.log(3)] * 6)
    # hand case, 3 trials over 4 blocks: A = [1, 0, 0, 1], B = [0, 1, 1, 0], C = 0.5 always.
    # Splits {0,1},{0,2},{1,3},{2,3}: A and B tie in-sample at 0.5 = C: the first (A) is
    # chosen; out of sample A = 0.5 too → rank 2 (of ties 1..3, average), ω = 1/2, λ = 0.
    # Split {0,3}: A = 1 chosen, OOS A = 0 is last → ω = 1/4. Split {1,2}: B = 1 chosen,
    # OOS B = 0 last → ω = 1/4. Every λ ≤ 0: PBO = 1.
    h = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 1.0, 0.5], [1.0, 0.0, 0.5]])
    r = probability_of_backtest_overfitting(h, n_splits=4, performance=mean_performance)
    expect = [0.0, 0.0, math.log(1 / 3), math.log(1 / 3), 0.0, 0.0]  # combination order
    np.testing.assert_allclose(r.logits, expect, atol=1e-12)
    assert r.pbo == 1.0


def test_pbo_on_noise_is_near_one_half_and_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    r = probability_of_backtest_overfitting(rng.normal(0, 0.01, (1000, 50)), n_splits=10)
    assert len(r.logits) == math.comb(10, 5)
    assert 0.25 < r.pbo < 0.75
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(np.zeros((10, 3)), n_splits=3)
    with pytest.raises(ValueError, match="at least 2 trials"):
        probability_of_backtest_overfitting(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="at least 16 rows"):
        probability_of_backtest_overfitting(np.zeros((10, 3)))


def test_vectorised_sharpe_cscv_equals_the_block_by_block_definition() -> None:
    """The Sharpe fast path (block sums times a combination matrix) gives the same choices,
    logits and performances as evaluating every combination's blocks, including a flat
    trial (zero spread scores 0) and two identical trials (ties take the first)."""
    from quantlab.engine.optimise.overfit import (
        probability_of_backtest_overfitting,
        sharpe_performance,
    )

    rng = np.random.default_rng(7)
    m = rng.normal(0.0004, 0.01, (1000, 12))
    m[:, 3] = 0.0
    m[:, 7] = m[:, 5]
    fast = probability_of_backtest_overfitting(m, n_splits=10)
    slow = probability_of_backtest_overfitting(
        m, n_splits=10, performance=lambda b: sharpe_performance(b)
    )
    assert fast.pbo == slow.pbo
    np.testing.assert_array_equal(fast.chosen, slow.chosen)
    np.testing.assert_allclose(fast.logits, slow.logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.is_performance, slow.is_performance, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.oos_performance, slow.oos_performance, rtol=1e-12, atol=1e-15)
    assert fast.prob_oos_loss == slow.prob_oos_loss


def test_streamed_cscv_matches_a_sharpe_hand_case_fed_one_trial_at_a_time() -> None:
    """Two trials, two blocks of two rows, added column by column. A's blocks are
    [0.02, 0] (Sharpe 0.01 / 0.01414 = 0.7071) and [−0.02, 0] (−0.7071); B's are
    [0.01, −0.01] twice (Sharpe 0). Train {0} picks A, which is last out of sample (−0.7071
    < 0): rank 1 of 2, ω = 1/3, λ = ln ½. Train {1} picks B, last out of sample (0 < 0.7071):
    λ = ln ½ again. PBO = 1."""
    from quantlab.engine.optimise import StreamingCSCV

    a = np.array([0.02, 0.0, -0.02, 0.0])
    b = np.array([0.01, -0.01, 0.01, -0.01])
    acc = StreamingCSCV(n_obs=4, n_splits=2)
    acc.add(a)
    acc.add(b[:, None])
    r = acc.result()
    assert r.pbo == 1.0 and r.chosen.tolist() == [0, 1]
    np.testing.assert_allclose(r.logits, [math.log(0.5)] * 2)
    np.testing.assert_allclose(r.is_performance, [1 / math.sqrt(2), 0.0], atol=1e-12)
    np.testing.assert_allclose(r.oos_performance, [-1 / math.sqrt(2), 0.0], atol=1e-12)
    np.testing.assert_allclose(acc.sharpes(), [0.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="every trial needs 4 returns"):
        acc.add(np.zeros((5, 1)))
    with pytest.raises(ValueError, match="at least 2 trials"):
        StreamingCSCV(4, 2).result()


def test_streamed_cscv_over_3000_trials_equals_the_exact_computation_in_bounded_memory() -> None:
    """Beyond the old 2,000-trial limit: 3,000 trials fed 256 columns at a time give the
    same choices, logits and PBO as the exact per-combination computation on the whole
    matrix (block returns copied per combination, ranks by scipy's ``rankdata``), while the
    accumulator holds only per-block moments (O(S·N), never T × N)."""
    from quantlab.engine.optimise import StreamingCSCV, cscv_accumulator, overfitting_report
    from quantlab.engine.optimise.analysis import overfitting_report_from
    from quantlab.engine.optimise.overfit import sharpe_performance

    rng = np.random.default_rng(3)
    t_len, n, s = 400, 3000, 8
    m = rng.normal(0.0002, 0.01, (t_len, n)) + rng.normal(0, 0.002, (1, n))
    acc = StreamingCSCV(t_len, s)
    for lo in range(0, n, 256):
        acc.add(m[:, lo : lo + 256])
    held = sum(a.nbytes for part in (acc._sums, acc._squares, acc._total, acc._total_sq)
               for a in part)  # fmt: skip
    assert held == (2 * s + 2) * n * 8 < m.nbytes / 10
    got = acc.result()
    exact = probability_of_backtest_overfitting(
        m, n_splits=s, performance=lambda blk: sharpe_performance(blk)
    )
    assert len(got.logits) == math.comb(s, s // 2)
    assert got.pbo == exact.pbo
    np.testing.assert_array_equal(got.chosen, exact.chosen)
    np.testing.assert_allclose(got.logits, exact.logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.oos_performance, exact.oos_performance, rtol=1e-9)
    np.testing.assert_allclose(acc.sharpes(), sharpe_performance(m), rtol=1e-9)
    # the study report, streamed, equals the report of the whole matrix
    whole = overfitting_report(m, 17, n_splits=s)
    chunked = cscv_accumulator(t_len, s)
    for lo in range(0, n, 1000):
        chunked.add(m[:, lo : lo + 1000])
    streamed = overfitting_report_from(chunked, m[:, 17])
    assert streamed["pbo"] == whole["pbo"] and streamed["n_trials"] == n
    assert streamed["dsr"]["dsr"] == pytest.approx(whole["dsr"]["dsr"], rel=1e-9)
    assert streamed["logits"] == whole["logits"]
