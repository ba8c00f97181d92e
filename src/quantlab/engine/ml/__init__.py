"""Qlib's machine-learning alpha workflow on quantlab's engine.

features (Alpha158 / Alpha360 / expressions, by :mod:`quantlab.engine.expr`) → label
(default ``Ref($close, -2) / Ref($close, -1) - 1``, evaluated with the expression engine's
``label=True`` opt-in, the only way to read the future) → processors → model → predictions as
a ``(T, N)`` score panel → signal analysis (IC, ICIR, Rank IC, Rank ICIR by
:mod:`quantlab.engine.factors.analysis`) → top-k dropout backtest of the scores.

Public API::

    WorkflowConfig(segments=Segments(train, valid, test), features="Alpha158", ...)
    check_config(config, panel)          # every bad configuration, before any work
    run_workflow(panel, config, progress=None) -> WorkflowResult
    backtest_predictions(panel, scores, start=, end=, topk=50, n_drop=5) -> PredictionBacktest
    with_scores(panel, scores, field)    # predictions as a field, on the day they trade
    make_model(name, params, seed, threads) / load_model(name, text)

Pure: panels and arrays in, arrays and dataclasses out.

Deliberate differences from Qlib (``DatasetH`` + ``Alpha158`` handler + ``LGBModel`` +
``SigAnaRecord`` + ``PortAnaRecord``):

* Features follow the expression engine's documented differences from Qlib
  (:mod:`quantlab.engine.expr`); ``VWAP0`` is all NaN on data without ``vwap`` (so in Qlib).
* LightGBM runs with ``deterministic=True``, ``force_col_wise=True`` and the given seed and
  thread count, so reruns are bit for bit identical; Qlib leaves them to LightGBM.
* Processors are one ordered list; each class is fixed as learn-only (DropnaLabel and the
  label norms, Qlib's ``learn_processors``) or all-segment (RobustZScoreNorm, Fillna, Qlib's
  ``infer_processors``). All-segment processors are fitted on the train span only.
* Signal analysis skips days with fewer than two pairs, as pandas' ``corr`` does.
* The backtest runs on our simulator: the close-to-close fill of the day after the score,
  A-share rules (T+1, ±9.5% limits, suspension on zero volume, 100-share lots), 0.05%
  commission with a minimum of 5 and 0.1% stamp tax on sells. A panel that declares
  adjusted prices (Qlib folders: ``meta["price_basis"]``) trades at price / ``$factor`` in
  raw shares, as Qlib sizes lots on unadjusted amounts; one without the declaration trades
  at its stored prices.
  Risk analysis is Qlib's (arithmetic, 238 days a year); the first day's return is against
  the initial capital and the benchmark's from the day before, as in Qlib's report.
* Three rules of that backtest differ from Qlib's ``backtest_daily`` + TopkDropout; with them
  aligned on Qlib's side the two hold the same names every day and their daily returns
  agree within 1e-5 (``tests/engine/ml/test_qlib_backtest.py``):

  - limits come from the closes (limit prices from the previous close); Qlib's
    ``limit_threshold`` reads the data's ``$change``, which some dumps store in percent
    (the CSI 300 sample), and then takes any 0.095% move for a limit and barely trades;
  - nothing trades on a day without volume; Qlib trades a stock whose close is there and
    whose volume is zero (how such dumps store suspended days);
  - at a limit only the side that cannot fill is blocked (buys at the up limit, sells at
    the down limit); Qlib's TopkDropout by default (``forbid_all_trade_at_limit``) trades
    neither side of a stock at either limit.

  Scores are read in float32 (the expression engine's precision) and ties go in
  instrument order; Qlib orders float64 scores with pandas' sort, so tied predictions (a
  LightGBM model of few rounds has many) can pick different names.
"""

from quantlab.engine.ml.analysis import SignalAnalysis, signal_analysis
from quantlab.engine.ml.backtest import (
    QLIB_RUN_CONFIG,
    PredictionBacktest,
    backtest_predictions,
    prediction_spec,
    risk_analysis,
    with_scores,
)
from quantlab.engine.ml.dataset import DEFAULT_LABEL, Dataset, build_dataset
from quantlab.engine.ml.models import MODELS, Model, load_model, make_model
from quantlab.engine.ml.processors import ALPHA158_PROCESSORS, PROCESSORS
from quantlab.engine.ml.segments import Segments, rolling_segments
from quantlab.engine.ml.universe import membership_mask
from quantlab.engine.ml.workflow import WorkflowConfig, WorkflowResult, check_config, run_workflow

__all__ = [
    "ALPHA158_PROCESSORS",
    "DEFAULT_LABEL",
    "MODELS",
    "PROCESSORS",
    "QLIB_RUN_CONFIG",
    "Dataset",
    "Model",
    "PredictionBacktest",
    "Segments",
    "SignalAnalysis",
    "WorkflowConfig",
    "WorkflowResult",
    "backtest_predictions",
    "build_dataset",
    "check_config",
    "load_model",
    "make_model",
    "membership_mask",
    "prediction_spec",
    "risk_analysis",
    "rolling_segments",
    "run_workflow",
    "signal_analysis",
    "with_scores",
]
