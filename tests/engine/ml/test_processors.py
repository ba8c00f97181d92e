"""Processors against pandas (Qlib's own formulas) and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.ml.processors import (
    PROCESSORS,
    CSRankNorm,
    CSZScoreNorm,
    DropnaLabel,
    Fillna,
    Pipeline,
    RobustZScoreNorm,
    cs_rank,
    cs_zscore,
    make_processors,
)


def random_rows(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    day = np.sort(rng.integers(0, 12, 300))
    y = rng.normal(size=300).astype(np.float32)
    y[rng.random(300) < 0.15] = np.nan
    y[day == 5] = np.nan  # a day without any label
    y[np.flatnonzero(day == 7)[1:]] = np.nan  # a day with one label
    return day, y


def test_cs_zscore_matches_qlib_zscore_in_pandas() -> None:
    day, y = random_rows()
    s = pd.Series(y.astype(np.float64), index=day)
    want = s.groupby(level=0, group_keys=False).apply(lambda x: (x - x.mean()).div(x.std()))
    np.testing.assert_allclose(cs_zscore(y, day), want.to_numpy(), rtol=1e-6, equal_nan=True)


def test_cs_rank_matches_qlib_rank_norm_in_pandas() -> None:
    day, y = random_rows()
    y[:4] = 1.0  # ties take the average rank
    s = pd.Series(y.astype(np.float64), index=day)
    want = (s.groupby(level=0).rank(pct=True) - 0.5) * 3.46
    np.testing.assert_allclose(cs_rank(y, day), want.to_numpy(), rtol=1e-6, equal_nan=True)


def test_cs_zscore_by_hand() -> None:
    day = np.array([0, 0, 0, 1, 1])
    y = np.array([1.0, 2.0, 3.0, 5.0, np.nan], dtype=np.float32)
    # day 0: mean 2, sample std 1; day 1 has one value: std undefined
    np.testing.assert_allclose(cs_zscore(y, day), [-1, 0, 1, np.nan, np.nan], equal_nan=True)


def test_robust_zscore_fits_on_train_only_and_clips() -> None:
    train = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 30.0], [4.0, np.nan]], dtype=np.float32)
    p = RobustZScoreNorm()
    p.fit(train, np.zeros(4, np.float32), np.zeros(4, np.int64))
    # column 0: median 2.5, MAD median(|x-2.5|) = 1.0; column 1: median 10, MAD 0
    np.testing.assert_allclose(p.center, [2.5, 10.0])
    np.testing.assert_allclose(p.scale, [1.4826, 1e-12 * 1.4826], rtol=1e-6)
    test = np.array([[100.0, 10.0], [2.5 + 1.4826, np.nan]], dtype=np.float32)
    out, _, keep = p.apply(test, np.zeros(2, np.float32), np.zeros(2, np.int64))
    assert keep is None
    np.testing.assert_allclose(out, [[3.0, 0.0], [1.0, np.nan]], rtol=1e-5, equal_nan=True)
    # fitting again on other data changes the parameters: they come from fit() alone
    before = p.center.copy()
    p.apply(test * 5, np.zeros(2, np.float32), np.zeros(2, np.int64))
    np.testing.assert_array_equal(p.center, before)


def test_pipeline_learn_only_steps_skip_prediction_rows() -> None:
    x = np.array([[np.nan], [2.0], [3.0], [4.0]], dtype=np.float32)
    y = np.array([1.0, np.nan, 3.0, 5.0], dtype=np.float32)
    day = np.array([0, 0, 1, 1])
    pipe = Pipeline([Fillna(), DropnaLabel(), CSZScoreNorm()])
    pipe.fit(x, y, day)
    xl, yl, rows = pipe.apply(x, y, day, learn=True)
    assert rows.tolist() == [0, 2, 3]
    np.testing.assert_allclose(xl[:, 0], [0.0, 3.0, 4.0])
    np.testing.assert_allclose(yl, [np.nan, -0.70710677, 0.70710677], equal_nan=True)
    _, yi, rows = pipe.apply(x, y, day, learn=False)
    assert rows.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(yi, y)  # the label is untouched at prediction time


def test_every_processor_declares_its_use_of_future_information() -> None:
    flags = {name: (cls.learn_only, cls.uses_future) for name, cls in PROCESSORS.items()}
    assert flags == {
        "DropnaLabel": (True, True),
        "CSZScoreNorm": (True, True),
        "CSRankNorm": (True, True),
        "RobustZScoreNorm": (False, False),
        "Fillna": (False, False),
    }
    assert CSRankNorm().describe() == {
        "name": "CSRankNorm",
        "learn_only": True,
        "uses_future": True,
    }


def test_make_processors_rejects_unknown_names_and_options() -> None:
    assert [type(p).__name__ for p in make_processors([{"name": "Fillna", "value": 1.0}])] == [
        "Fillna"
    ]
    with pytest.raises(ValueError, match="unknown processor"):
        make_processors([{"name": "ZScore"}])
    with pytest.raises(ValueError, match="no options"):
        make_processors([{"name": "RobustZScoreNorm", "window": 3}])
