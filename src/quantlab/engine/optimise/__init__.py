"""Parameter optimisation and overfitting statistics (pure: no web, database or platform).

Public API::

    Space, Dimension, space_from_params, SpaceError     # parameter spaces, grid, sampling
    Goal, Objective, Bound, ObjectiveError              # objectives and constraints
    search / grid_search / random_search / tpe_search   # the driver over engine.run_batch
    Trial, Outcome, pareto_front
    walk_forward, windows                               # walk-forward optimisation
    heatmap, sensitivity, overfitting_report            # what a study's result shows
    probability_of_backtest_overfitting, deflated_sharpe_ratio, ...  # overfit statistics
"""

from quantlab.engine.optimise.analysis import (
    cscv_accumulator,
    heatmap,
    overfitting_report,
    overfitting_report_from,
    sensitivity,
)
from quantlab.engine.optimise.objectives import Bound, Goal, Objective, ObjectiveError
from quantlab.engine.optimise.overfit import (
    StreamingCSCV,
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from quantlab.engine.optimise.search import (
    EarlyStopping,
    Outcome,
    Trial,
    evaluate,
    grid_search,
    pareto_front,
    prefix_trials,
    random_search,
    search,
    to_variant,
    tpe_search,
)
from quantlab.engine.optimise.space import Dimension, Space, SpaceError, space_from_params
from quantlab.engine.optimise.walkforward import WalkForward, walk_forward, windows

__all__ = [
    "Bound",
    "Dimension",
    "EarlyStopping",
    "Goal",
    "Objective",
    "ObjectiveError",
    "Outcome",
    "Space",
    "SpaceError",
    "StreamingCSCV",
    "Trial",
    "WalkForward",
    "cscv_accumulator",
    "deflated_sharpe_from_returns",
    "deflated_sharpe_ratio",
    "evaluate",
    "expected_max_sharpe",
    "grid_search",
    "heatmap",
    "overfitting_report",
    "overfitting_report_from",
    "pareto_front",
    "prefix_trials",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "random_search",
    "search",
    "sensitivity",
    "space_from_params",
    "to_variant",
    "tpe_search",
    "walk_forward",
    "windows",
]
