"""A model run's predictions as a backtest's scores (``{"model_run_id": ...}`` as the score
of a scores strategy): checked when the request comes in, laid on the panel as the field
``model_<run id>`` when the run starts. The engine only reads that field."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.backtests.exceptions import InvalidBacktestConfig
from quantlab.engine.data import Panel
from quantlab.engine.ml import with_scores
from quantlab.engine.spec import model_score_field
from quantlab.ml.exceptions import ModelRunNotFound, ModelRunNotReady
from quantlab.ml.models import ModelRun
from quantlab.ml.tasks import predictions_on
from quantlab.platform.ownership import Principal, get_owned


async def check_model_scores(
    session: AsyncSession, user: Principal, run_id: str, dataset_id: str
) -> ModelRun:
    """The model run whose predictions a spec trades: one of the caller's (404), completed
    (409 while it is pending or running, or when it failed) and trained on the spec's
    dataset (422)."""
    run = await get_owned(session, ModelRun, run_id, user, not_found=ModelRunNotFound)
    if run.status != "completed" or not run.result_dir:
        raise ModelRunNotReady(
            f"model run {run_id} is {run.status}: a backtest can trade its predictions once "
            "it has completed",
            details={"model_run_id": run_id, "status": run.status},
        )
    if run.dataset_id != dataset_id:
        raise InvalidBacktestConfig(
            f"model run {run_id} predicted on dataset {run.dataset_id}: back-test its "
            "predictions on that dataset",
            details={"model_run_id": run_id, "dataset_id": run.dataset_id},
        )
    return run


def add_model_scores(panel: Panel, run_id: str, folder: Path) -> Panel:
    """``panel`` with the run's stored predictions (``folder``) as ``model_<run id>``, each on
    the day it is traded (the day after it was made, as in the run's own backtest)."""
    return with_scores(panel, predictions_on(folder, panel), model_score_field(run_id))
