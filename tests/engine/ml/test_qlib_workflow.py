"""Qlib's own LightGBM Alpha158 workflow and ours on the real CSI 300 sample, compared.

A reduced window keeps it short: features from 2013, train 2014, valid 2015-01..06, test
2015-07..12, the dated ``csi300`` membership, the hyper-parameters of Qlib's
``workflow_config_lightgbm_Alpha158.yaml`` (plus seed, one thread and LightGBM's
determinism switches, given to both sides), Alpha158's default processors (DropnaLabel and
CSZScoreNorm of the label on learn rows). ``benchmarks/models.py`` runs the full window.

Qlib's ``qlib.workflow`` (the experiment recorder) cannot be imported here: its mlflow import
fails against the installed protobuf (see ``quantlab.engine.data.qlib_peer``). ``LGBModel``
imports it only to log metrics, so when the import fails a recorder that discards metrics
stands in for it; the model, handler, dataset and IC code that run are Qlib's own.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.ml import Segments, WorkflowConfig, run_workflow

pytestmark = pytest.mark.realdata

QLIB_LGB_PARAMS = {
    "loss": "mse",
    "colsample_bytree": 0.8879,
    "learning_rate": 0.2,
    "subsample": 0.8789,
    "lambda_l1": 205.6999,
    "lambda_l2": 580.9768,
    "max_depth": 8,
    "num_leaves": 210,
}
SEED, THREADS = 7, 1
SEG = Segments(
    ("2014-01-01", "2014-12-31"), ("2015-01-01", "2015-06-30"), ("2015-07-01", "2015-12-31")
)


def qlib_lgb_model():  # type: ignore[no-untyped-def]
    """Qlib's LGBModel class (with a metric-discarding recorder if mlflow cannot import)."""
    try:
        from qlib.contrib.model.gbdt import LGBModel
    except ImportError:
        for name in [m for m in sys.modules if m.startswith("qlib.contrib.model")]:
            del sys.modules[name]
        stub = types.ModuleType("qlib.workflow")
        stub.R = types.SimpleNamespace(log_metrics=lambda **kw: None)  # type: ignore[attr-defined]
        sys.modules["qlib.workflow"] = stub
        from qlib.contrib.model.gbdt import LGBModel
    return LGBModel


@pytest.mark.timeout(1800)  # about a minute on an idle machine; shared CI cores vary
def test_lightgbm_alpha158_matches_qlib(realdata: Path, tmp_path: Path) -> None:
    pytest.importorskip("qlib")
    from qlib.contrib.data.handler import Alpha158
    from qlib.contrib.eva.alpha import calc_ic
    from qlib.data.dataset import DatasetH
    from qlib.data.dataset.handler import DataHandlerLP

    from quantlab.engine.data.qlib_bin import read_qlib
    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    src = realdata / "qlib" / "cn_data_csi300_sample"
    qlib_data_api(lowercase_view(src, tmp_path))
    panel = read_qlib(
        src,
        instruments="csi300",
        fields=["open", "high", "low", "close", "volume"],
        start="2013-01-01",
        end="2016-01-31",
    )
    cfg = WorkflowConfig(
        segments=SEG,
        universe="csi300",
        params=QLIB_LGB_PARAMS,
        seed=SEED,
        threads=THREADS,
    )
    ours = run_workflow(panel, cfg, keep_dataset=True)
    print("quantlab stage seconds", ours.timings)
    data = ours.dataset
    assert data is not None

    handler = Alpha158(
        instruments="csi300",
        start_time=SEG.train[0],
        end_time=SEG.test[1],
        fit_start_time=SEG.train[0],
        fit_end_time=SEG.train[1],
    )
    dataset = DatasetH(handler, segments={k: v for k, v in SEG.spans().items()})
    model = qlib_lgb_model()(
        **QLIB_LGB_PARAMS,
        seed=SEED,
        num_threads=THREADS,
        deterministic=True,
        force_col_wise=True,
    )
    model.fit(dataset, verbose_eval=1000)
    their_pred = model.predict(dataset)

    # feature matrices: same rows, same values within float32 tolerance
    raw = handler.fetch(col_set="feature", data_key=DataHandlerLP.DK_R)
    idx = pd.MultiIndex.from_arrays(
        [
            pd.DatetimeIndex(data.calendar[data.day]),
            [s.upper() for s in data.instruments[data.inst]],
        ],
        names=["datetime", "instrument"],
    )
    raw.index = raw.index.set_levels([s.upper() for s in raw.index.levels[1]], level=1)
    raw = raw.sort_index()
    assert len(raw) == len(idx)
    theirs = raw.reindex(idx)
    assert list(theirs.columns) == list(data.names)
    np.testing.assert_allclose(
        data.x, theirs.to_numpy(dtype=np.float32), rtol=2e-5, atol=1e-6, equal_nan=True
    )

    # predictions on the test rows
    their_pred.index = their_pred.index.set_levels(
        [s.upper() for s in their_pred.index.levels[1]], level=1
    )
    test = data.rows(*SEG.test)
    mine = pd.Series(ours.predictions[data.day[test], data.inst[test]], index=idx[test])
    both = pd.concat([mine, their_pred.reindex(idx[test])], axis=1).dropna()
    assert len(both) == test.stop - test.start
    assert both.corr().iloc[0, 1] > 0.99

    # signal analysis: Qlib's calc_ic on its predictions and raw test label
    label = dataset.prepare("test", col_set="label", data_key=DataHandlerLP.DK_R).iloc[:, 0]
    label.index = label.index.set_levels([s.upper() for s in label.index.levels[1]], level=1)
    ic, ric = calc_ic(their_pred, label.reindex(their_pred.index))
    want = {
        "ic": ic.mean(),
        "icir": ic.mean() / ic.std(),
        "rank_ic": ric.mean(),
        "rank_icir": ric.mean() / ric.std(),
    }
    got = ours.signal.summary()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=0.005), key
