"""Feature rows: where the evaluation passes are cut, and that the cuts change no value."""

from __future__ import annotations

import itertools

import numpy as np
from tests.engine.ml.test_workflow import synthetic

from quantlab.engine.expr import get_feature_set
from quantlab.engine.ml import build_dataset
from quantlab.engine.ml.dataset import _reads, plan_passes


def test_passes_cover_the_features_in_order_and_cut_where_less_is_shared() -> None:
    exprs = ["Std($volume, 5)", "Mean($close, 5)", "Mean($close, 5) / $close", "$volume"]
    assert plan_passes(exprs, 1) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    # the two that share Mean($close, 5) stay together: 5 passes, not 7 in blocks of two
    assert plan_passes(exprs, 2) == [(0, 1), (1, 3), (3, 4)]
    assert plan_passes(exprs, 4) == [(0, 4)]
    alpha = [e for _, e in get_feature_set("Alpha158")]
    for size in (1, 7, 32, 158):
        passes = plan_passes(alpha, size)
        assert passes[0][0] == 0 and passes[-1][1] == len(alpha)
        assert all(a < b <= a + size for a, b in passes)
        assert all(p[1] == q[0] for p, q in itertools.pairwise(passes))

    def work(passes: list[tuple[int, int]]) -> int:
        return sum(len(set().union(*(_reads(e) for e in alpha[a:b]))) for a, b in passes)

    plain = [(a, min(a + 32, len(alpha))) for a in range(0, len(alpha), 32)]
    assert work(plan_passes(alpha, 32)) == 155 < work(plain) == 167


def test_feature_rows_do_not_depend_on_how_the_features_are_cut() -> None:
    panel = synthetic(t_len=90, n=7)
    mask = panel.exists()
    mask[10:20, 3] = False  # dated membership: rows leave and come back
    whole = build_dataset(panel, "Alpha158", mask, "2020-02-01", "2020-03-20", chunk=158)
    assert whole.x.flags.c_contiguous and whole.x.dtype == np.float32
    for chunk in (1, 5, 32):
        part = build_dataset(panel, "Alpha158", mask, "2020-02-01", "2020-03-20", chunk=chunk)
        assert part.x.tobytes() == whole.x.tobytes()
        assert part.y.tobytes() == whole.y.tobytes()
    k = whole.names.index("MA5")
    rows = whole.day, whole.inst
    close = panel["close"]
    ma5 = np.array(
        [close[d - 4 : d + 1, i].mean() / close[d, i] for d, i in zip(*rows, strict=True)]
    )
    np.testing.assert_allclose(whole.x[:, k], ma5, rtol=1e-6)
