"""The ``models.train`` job: load the pinned dataset version, run the engine's model
workflow (progress per stage and per boosting round, cancel between rounds; a pause keeps
every finished training window as a checkpoint and the resumed job loads them instead of
retraining, so its predictions equal an uninterrupted run's), back-test the
predictions when asked, and store predictions, model files and results under the run's
folder. Results files hold no pickles: arrays are ``.npz`` read with ``allow_pickle=False``,
models are the libraries' own text."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth.models import User
from quantlab.datasets import service as dataset_service
from quantlab.datasets import universes
from quantlab.engine.data import Panel
from quantlab.engine.data.universe import membership_mask
from quantlab.engine.ml import (
    Segments,
    WorkflowConfig,
    WorkflowResult,
    backtest_predictions,
    run_workflow,
)
from quantlab.ml.models import ModelRun
from quantlab.ml.schemas import ModelRunRequest
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import JobCancelled, JobContext, JobPaused, write_atomic
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.ownership import Principal

JOB_TYPE = "models.train"
RESULTS_DIR = "models"


class TrainParams(BaseModel):
    """Parameters of ``models.train``: the model run to carry out."""

    run_id: str = Field(min_length=1, max_length=32)


class _Owner:
    def __init__(self, user_id: str, is_admin: bool) -> None:
        self.id, self.is_admin = user_id, is_admin


def result_dir(data_dir: Path, run_id: str) -> Path:
    """Where a run's files live."""
    return data_dir / RESULTS_DIR / run_id


def workflow_config(req: ModelRunRequest) -> WorkflowConfig:
    """The engine configuration of a validated request."""
    seg = req.segments

    def span(s: Any) -> tuple[str, str]:
        return (s[0].isoformat(), s[1].isoformat())

    features: str | tuple[Any, ...] = (
        req.features if isinstance(req.features, str) else tuple(req.features)
    )
    return WorkflowConfig(
        segments=Segments(span(seg.train), span(seg.valid) if seg.valid else None, span(seg.test)),
        features=features,
        label=req.label,
        universe=req.dated_universe
        if req.dated_universe is not None
        else (None if req.universe == "all" else list(req.universe)),
        processors=tuple(p.model_dump() for p in req.processors),
        model=req.model,
        params=dict(req.params),
        seed=req.seed,
        threads=req.threads,
        rolling_step=req.rolling_step,
        rolling_expanding=req.rolling_expanding,
        min_train_rows=req.min_train_rows,
    )


async def load_panel(
    session: AsyncSession, owner: Principal, req: ModelRunRequest, data_dir: Path
) -> Panel:
    """The pinned dataset version as a panel (all its days: look-back and look-ahead); a
    dated universe comes as ``meta["universe"]`` (its name) and ``meta["membership"]`` (the
    day x instrument mask), as :func:`quantlab.engine.ml.membership_mask` reads them."""
    panel, _ = await dataset_service.load_dataset_panel(
        session, owner, req.dataset_id, data_dir, version=req.dataset_version
    )
    if req.dated_universe is None:
        return panel
    spans = await universes.load_membership(session, owner, req.dataset_id, req.dated_universe)
    mask = membership_mask(spans, panel.calendar, [str(s) for s in panel.instruments])
    meta = {**panel.meta, "universe": req.dated_universe, "membership": mask}
    return dataclasses.replace(panel, meta=meta)


async def _start(session: AsyncSession, run_id: str) -> tuple[dict[str, Any], _Owner]:
    row = await session.get(ModelRun, run_id)
    if row is None:
        raise LookupError(f"model run {run_id} is gone")
    owner = await session.get(User, row.owner_id)
    row.status = "running"
    row.started_at = row.started_at or utcnow()
    await session.commit()
    return dict(row.request), _Owner(row.owner_id, bool(owner and owner.role == "admin"))


async def _finish(session: AsyncSession, run_id: str, **values: Any) -> None:
    row = await session.get(ModelRun, run_id)
    if row is None:
        return
    for key, value in values.items():
        setattr(row, key, value)
    row.finished_at = utcnow()
    await session.commit()


def _store(
    folder: Path, panel: Panel, res: WorkflowResult, backtest: dict[str, Any] | None
) -> None:
    test = ~np.isnan(res.predictions).all(axis=1)
    path = folder / "predictions.npz"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "predictions.tmp", "wb") as fh:
        np.savez(
            fh,
            dates=panel.calendar[test].astype("datetime64[D]").astype(np.int64),
            instruments=np.asarray([str(s) for s in panel.instruments], dtype=str),
            values=res.predictions[test],
        )
    (folder / "predictions.tmp").replace(path)
    for w, model in enumerate(res.models):
        write_atomic(folder / f"model_{w}.txt", model.to_text().encode())
    results = {
        "features": list(res.feature_names),
        "importance": res.importance,
        "curves": res.curves,
        "best_rounds": res.best_rounds,
        "signal": res.signal.to_dict(),
        "backtest": backtest,
        "windows": [s.spans() for s in res.windows],
    }
    write_atomic(folder / "results.json", json.dumps(results, allow_nan=False).encode())


def read_predictions(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stored run's predictions: days (``datetime64[D]``), instruments (str) and the
    ``(days, instruments)`` float64 scores, NaN where the model gave none."""
    with np.load(folder / "predictions.npz", allow_pickle=False) as f:
        return f["dates"].astype("datetime64[D]"), f["instruments"], f["values"]


def predictions_on(folder: Path, panel: Panel) -> np.ndarray:
    """A run's predictions laid on ``panel``'s axes: NaN on days or instruments the run
    did not predict (before and after its test span, outside its universe)."""
    dates, instruments, values = read_predictions(folder)
    out = np.full(panel.shape, np.nan)
    days = panel.calendar.astype("datetime64[D]")
    rows = np.searchsorted(days, dates)
    row_ok = (rows < len(days)) & (days[np.minimum(rows, len(days) - 1)] == dates)
    column = {str(s): j for j, s in enumerate(panel.instruments)}
    cols = np.asarray([column.get(str(s), -1) for s in instruments], dtype=np.int64)
    col_ok = cols >= 0
    out[np.ix_(rows[row_ok], cols[col_ok])] = values[np.ix_(row_ok, col_ok)]
    return out


def run_train(ctx: JobContext, params: TrainParams) -> dict[str, Any]:
    """Train, predict, analyse (and back-test), then store everything."""
    run_id = params.run_id
    raw, owner = ctx.run_db(lambda s: _start(s, run_id))
    req = ModelRunRequest.model_validate(raw)
    try:
        panel = ctx.run_db(lambda s: load_panel(s, owner, req, ctx.data_dir))
        ctx.report(0.02, stage="features")

        def progress(stage: str, info: dict[str, Any]) -> None:
            ctx.check()  # raises JobCancelled; LightGBM stops at this round
            if stage == "training":
                frac = 0.1 + 0.8 * info["round"] / max(info["total"], 1)
                valid = info["losses"].get("valid", info["losses"].get("train"))
                ctx.report(frac, stage="training", current=f"round {info['round']}")
                if info["round"] % 10 == 0 or info["round"] == info["total"]:
                    ctx.metrics({"round": info["round"], "window": info["window"], "loss": valid})
            else:
                ctx.report(0.9 if stage == "signal" else 0.05, stage=stage)

        saved = ctx.load_checkpoint() if ctx.resumed else None
        done = list(saved["windows"]) if isinstance(saved, dict) else []
        if done:
            ctx.log("INFO", f"resumed: {len(done)} trained window(s) loaded from the checkpoint")

        def window_done(w: int, state: dict[str, Any]) -> None:
            done.append(state)
            ctx.save_checkpoint({"windows": done})  # a pause now loses no finished window

        res = run_workflow(
            panel,
            workflow_config(req),
            progress=progress,
            done_windows=list(done),
            on_window=window_done,
        )
        bt_summary = None
        if req.backtest is not None:
            ctx.report(0.95, stage="backtest")
            bench = None
            if req.backtest.benchmark:
                j = list(panel.instruments).index(req.backtest.benchmark)
                bench = panel["close"][:, j]
            seg = req.segments
            bt = backtest_predictions(
                panel,
                res.predictions,
                start=seg.test[0].isoformat(),
                end=seg.test[1].isoformat(),
                topk=req.backtest.topk,
                n_drop=req.backtest.n_drop,
                benchmark=bench,
            )
            bt_summary = bt.summary()
        folder = result_dir(ctx.data_dir, run_id)
        _store(folder, panel, res, bt_summary)
    except JobPaused:
        raise  # the run stays open; its job resumes from the finished windows
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, JobCancelled) else "failed"
        message = f"{type(exc).__name__}: {exc}"[:2000]
        ctx.run_db(lambda s: _finish(s, run_id, status=status, error=message))
        raise
    summary = {
        "signal": res.signal.summary(),
        "backtest": bt_summary,
        "best_rounds": res.best_rounds,
        "rows": res.n_rows,
        "windows": len(res.windows),
        "timings": {k: round(v, 3) for k, v in res.timings.items()},
    }
    rel = str(folder.relative_to(ctx.data_dir))
    ctx.run_db(lambda s: _finish(s, run_id, status="completed", summary=summary, result_dir=rel))
    ctx.report(1.0, stage="done")
    return {"run_id": run_id, "summary": summary}


register_job_type(
    name=JOB_TYPE,
    params=TrainParams,
    fn=run_train,
    description="Train a model on a feature set, predict the test span and analyse the signal.",
    checkpointable=True,
)
