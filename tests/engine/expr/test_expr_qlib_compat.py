"""Optional: all of Alpha158 (and more operators) in quantlab and in Qlib, value for value.

Runs on 20 CSI 300 stocks over two years of the real Qlib sample, skips without pyqlib or
the data. Qlib opens ``features/<symbol.lower()>`` while the sample has upper-case folders,
so Qlib reads a temporary folder of symlinks; its caches are off.

Deliberate differences, not exercised here: ``VWAP0`` (the sample has no ``vwap`` field),
``IdxMax``/``IdxMin`` on windows holding NaN and ``WMA`` (see the package docstring and
``test_expr_operators.py``). EMA is checked against pandas' ``ewm`` there instead: its
value depends on how much history is loaded, and Qlib loads only ``span - 1`` extra days.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.expr import evaluate, get_feature_set, lookback

pytestmark = pytest.mark.realdata

EXTRA = [
    "Skew($close, 20)",
    "Kurt($close, 20)",
    "Med($close, 10)",
    "Mad($close, 10)",
    "Var($close, 10)",
    "Count($volume, 10)",
    "Cov($close, Log($volume+1), 10)",
    "Sign($close-Ref($close, 1))",
    "Power($close/$open, 2)",
    "If($close>$open, $high, $low)",
    "Eq($close, $high)",
    "Abs(Delta($close, 5))",
]


def test_alpha158_matches_qlib(realdata: Path, tmp_path: Path) -> None:
    pytest.importorskip("qlib")
    from quantlab.engine.data.qlib_bin import read_qlib
    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    src = realdata / "qlib" / "cn_data_csi300_sample"
    d = qlib_data_api(lowercase_view(src, tmp_path))

    stocks = sorted(
        p.name for p in (src / "features").iterdir() if p.name[:4] not in ("SH00", "SH51", "SZ39")
    )[:20]
    feats = [e for _, e in get_feature_set("Alpha158") if "$vwap" not in e] + EXTRA
    margin = max(lookback(e) for e in feats)
    panel = read_qlib(
        src,
        instruments=stocks,
        fields=["open", "high", "low", "close", "volume"],
        start="2018-01-01",
        end="2019-12-31",
    )
    ours = evaluate(feats, panel, cache=None)
    # Qlib is asked from `margin` days later and extends backwards by itself: equal values
    # also show that quantlab's results do not depend on where the panel starts.
    days = pd.DatetimeIndex(panel.calendar[margin:])
    theirs = d.features(stocks, feats, start_time=days[0], end_time=days[-1])
    assert len(feats) == 157 + len(EXTRA)
    for expr in feats:
        want = theirs[expr].unstack(level="instrument").reindex(index=days, columns=stocks)
        got = pd.DataFrame(ours[expr][margin:], index=days, columns=list(panel.instruments))
        if "Delta" in expr:
            # Qlib extends Delta(x, n) by n - 1 days, one short, so its first queried day is
            # NaN; quantlab's lookback is n (a deliberate difference).
            assert want.iloc[0].isna().all()
            want, got = want.iloc[1:], got.iloc[1:]
        np.testing.assert_allclose(
            got[stocks].to_numpy(),
            want.to_numpy(dtype=np.float32),
            rtol=2e-5,
            atol=1e-6,
            equal_nan=True,
            err_msg=expr,
        )
