"""Graph -> Qlib workflow configuration (the YAML ``qrun`` reads), for top-k on a score.

Qlib's ``TopkDropoutStrategy`` trades a prediction; here the prediction is the graph's score
expression, written as the single feature of a ``QlibDataLoader`` handler (the factor
language is Qlib's syntax, placeholders resolved) and returned as is by the workflow's model,
:class:`quantlab.engine.builder.qlib_model.ScoreModel`, so the YAML is a complete ``qrun``
configuration (quantlab must be importable where ``qrun`` runs). Entry/exit signals, target
weights, non-daily rebalancing and indicator blocks (Qlib has no such fields) have no Qlib
equivalent and are reported as unsupported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from quantlab.engine.builder.compile import compile_graph
from quantlab.engine.builder.graph import Graph
from quantlab.engine.spec import RunSpec, substitute

LABEL = "Ref($close, -2) / Ref($close, -1) - 1"
FEATURE = "SCORE"  # quantlab.engine.builder.qlib_model.FEATURE (not imported: it loads Qlib)


@dataclass(frozen=True)
class QlibYaml:
    """The workflow as YAML text and as data, or why the graph is not expressible."""

    supported: bool
    reason: str | None
    config: dict[str, Any] | None
    text: str | None


def graph_qlib_yaml(
    graph: Graph,
    factors: Mapping[str, str] | None = None,
    *,
    market: str = "csi300",
    benchmark: str = "SH000300",
    start: str = "2017-01-01",
    end: str = "2020-08-01",
    provider_uri: str = "~/.qlib/qlib_data/cn_data",
) -> QlibYaml:
    """``graph`` as a Qlib workflow when it is a top-k selection on a score."""
    body = compile_graph(graph, factors).body
    s = body["strategy"]
    if s["kind"] != "scores":
        why = f"a {s['kind']} strategy has no Qlib equivalent (only top-k on a score)"
        return QlibYaml(False, why, None, None)
    if s["rebalance"] != "daily":
        why = "Qlib's TopkDropoutStrategy rebalances daily; this graph rebalances " + s["rebalance"]
        return QlibYaml(False, why, None, None)
    if body.get("indicators"):
        why = "indicator blocks read quantlab's indicator catalog, which Qlib does not have"
        return QlibYaml(False, why, None, None)
    spec = RunSpec.model_validate({**body, "dataset_id": "qlib"})
    score = substitute(s["score"], spec.parameters)
    costs = spec.costs
    stamp = costs.stamp_tax[-1][1] if costs.stamp_tax else 0.0
    handler = {
        "class": "DataHandlerLP",
        "module_path": "qlib.data.dataset.handler",
        "kwargs": {
            "start_time": start,
            "end_time": end,
            "instruments": market,
            "data_loader": {
                "class": "QlibDataLoader",
                "kwargs": {
                    "config": {
                        "feature": [[score], [FEATURE]],
                        "label": [[LABEL], ["LABEL0"]],
                    }
                },
            },
        },
    }
    port_analysis: dict[str, Any] = {
        "strategy": {
            "class": "TopkDropoutStrategy",
            "module_path": "qlib.contrib.strategy",
            "kwargs": {
                "signal": "<PRED>",
                "topk": s["top_k"],
                "n_drop": s["n_drop"],
                "hold_thresh": s["hold_thresh"],
                "risk_degree": s["risk_degree"],
            },
        },
        "backtest": {
            "start_time": start,
            "end_time": end,
            "account": spec.initial_capital,
            "benchmark": benchmark,
            "exchange_kwargs": {
                "limit_threshold": spec.rules.limit_main if spec.rules.price_limits else None,
                "deal_price": "close" if spec.execution.price == "close" else "open",
                "open_cost": costs.commission_rate,
                "close_cost": costs.commission_rate + stamp,
                "min_cost": costs.commission_min,
            },
        },
    }
    config: dict[str, Any] = {
        "qlib_init": {"provider_uri": provider_uri, "region": "cn"},
        "market": market,
        "benchmark": benchmark,
        "x-quantlab": {
            "graph": graph.name,
            "signal": f"the {FEATURE} feature is the prediction (ScoreModel trains nothing)",
        },
        "port_analysis_config": port_analysis,
        "task": {
            "model": {"class": "ScoreModel", "module_path": "quantlab.engine.builder.qlib_model"},
            "dataset": {
                "class": "DatasetH",
                "module_path": "qlib.data.dataset",
                "kwargs": {"handler": handler, "segments": {"test": [start, end]}},
            },
            "record": [
                {"class": "SignalRecord", "module_path": "qlib.workflow.record_temp"},
                {
                    "class": "PortAnaRecord",
                    "module_path": "qlib.workflow.record_temp",
                    "kwargs": {"config": port_analysis},  # a YAML alias of the section
                },
            ],
        },
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    return QlibYaml(True, None, config, text)
