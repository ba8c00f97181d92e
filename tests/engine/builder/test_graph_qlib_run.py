"""The Qlib workflow YAML of a top-k graph is a complete ``qrun`` configuration: its
sections run through the Qlib calls ``qrun`` makes (model and dataset from their configs,
``fit``, ``predict`` as SignalRecord does, then PortAnaRecord's backtest with the strategy's
``<PRED>`` filled in) on the real CSI 300 sample, and the scores Qlib traded are the scores
quantlab computes. ``qrun`` itself cannot start here: ``qlib.init`` sets up the experiment
recorder, whose mlflow import fails against the installed protobuf (see
``quantlab.engine.data.qlib_peer``), so only the recorder is left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.engine.builder.graphs import edge, node

from quantlab.engine import expr
from quantlab.engine.builder import Graph, graph_qlib_yaml
from quantlab.engine.data.qlib_bin import read_qlib

pytest.importorskip("qlib")

START, END = "2020-01-02", "2020-03-31"


def _momentum_graph() -> Graph:
    """Hold the 20 stocks whose close is furthest above its 10-day mean."""
    return Graph.model_validate(
        {
            "name": "close over its mean",
            "nodes": [
                node("close", "field", name="close"),
                node("mean", "op.Mean", window=10),
                node("ratio", "op.Div"),
                node("pick", "select.top_k", top_k=20, n_drop=3),
                node("out", "strategy"),
            ],
            "edges": [
                edge("close", "mean", "x"),
                edge("close", "ratio", "x"),
                edge("mean", "ratio", "y"),
                edge("ratio", "pick", "score"),
                edge("pick", "out", "select"),
            ],
        }
    )


@pytest.mark.slow
def test_qrun_runs_the_yaml_and_trades_our_scores(
    realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = realdata / "qlib" / "cn_data_csi300_sample"
    if not (root / "calendars" / "day.txt").exists():
        pytest.skip("the Qlib CSI 300 sample is not in the real data")
    out = graph_qlib_yaml(_momentum_graph(), start=START, end=END, provider_uri=str(root))
    assert out.supported and out.text is not None
    config = yaml.safe_load(out.text)
    record = config["task"]["record"][1]["kwargs"]["config"]
    assert record == config["port_analysis_config"]  # the section itself, not a placeholder
    from qlib.backtest import backtest
    from qlib.model.base import Model
    from qlib.utils import init_instance_by_config

    from quantlab.engine.data.qlib_peer import lowercase_view, qlib_data_api

    qlib_data_api(lowercase_view(root, tmp_path / "qlib"))
    task = config["task"]
    model = init_instance_by_config(task["model"], accept_types=Model)
    dataset = init_instance_by_config(task["dataset"])
    model.fit(dataset)
    pred = model.predict(dataset)  # what SignalRecord saves as pred.pkl
    strategy = dict(record["strategy"])
    assert strategy["kwargs"]["signal"] == "<PRED>"
    strategy["kwargs"] = {**strategy["kwargs"], "signal": pred}  # qrun's placeholder fill
    executor = {  # PortAnaRecord's default executor
        "class": "SimulatorExecutor",
        "module_path": "qlib.backtest.executor",
        "kwargs": {"time_per_step": "day", "generate_portfolio_metrics": True},
    }
    portfolio, _ = backtest(executor=executor, strategy=strategy, **record["backtest"])
    report, _positions = portfolio["1day"]
    assert len(report) > 40 and report["turnover"].sum() > 0

    scores = pred["score"] if isinstance(pred, pd.DataFrame) else pred
    symbols = sorted(set(scores.index.get_level_values("instrument")))
    assert len(symbols) > 150  # csi300 members of 2020 whose features the sample holds
    panel = read_qlib(root, instruments=symbols, fields=["close"], start="2019-10-01", end=END)
    ours = expr.evaluate(["$close / Mean($close, 10)"], panel)["$close / Mean($close, 10)"]
    rows = {d: i for i, d in enumerate(panel.calendar.astype("datetime64[D]"))}
    cols = {s: j for j, s in enumerate(panel.instruments)}
    days = scores.index.get_level_values("datetime").to_numpy().astype("datetime64[D]")
    names = scores.index.get_level_values("instrument")
    mine = np.array([ours[rows[d], cols[s]] for d, s in zip(days, names, strict=True)])
    theirs = scores.to_numpy(dtype=np.float64)
    both = np.isfinite(mine) & np.isfinite(theirs)
    assert both.sum() > 0.95 * len(theirs)
    np.testing.assert_allclose(mine[both], theirs[both], rtol=1e-5)
