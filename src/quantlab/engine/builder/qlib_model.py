"""A Qlib model whose prediction is the builder graph's score: the ``model`` of the workflow
YAML that :func:`quantlab.engine.builder.graph_qlib_yaml` writes, so ``qrun`` runs it as is.

Qlib's ``TopkDropoutStrategy`` trades a model's prediction. A builder graph has no trained
model: its score expression is the handler's single feature (``SCORE``), and
:class:`ScoreModel` (the ``qlib.model.base.Model`` interface: ``fit`` / ``predict``)
returns that feature unchanged as the prediction. ``fit`` learns nothing.

This module imports Qlib (``pyqlib``, an optional dependency); nothing else in quantlab
imports it, so only ``qrun`` and the tests that run it load Qlib.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from qlib.data.dataset.handler import DataHandlerLP
from qlib.model.base import Model

FEATURE = "SCORE"


class ScoreModel(Model):  # type: ignore[misc]
    """The prediction is the dataset's ``SCORE`` feature (the graph's score expression)."""

    def __init__(self, feature: str = FEATURE) -> None:
        self.feature = feature

    def fit(self, dataset: Any, reweighter: Any = None) -> None:
        """Nothing to learn: the score is a formula."""
        return None

    def predict(self, dataset: Any, segment: str | slice = "test") -> pd.Series:
        """The ``feature`` column over ``segment``, indexed by (datetime, instrument)."""
        frame = dataset.prepare(segment, col_set="feature", data_key=DataHandlerLP.DK_I)
        column = frame[self.feature] if self.feature in frame.columns else frame.iloc[:, 0]
        return pd.Series(column.to_numpy(), index=frame.index, name="score")
