"""The ``factors.evaluate`` job: evaluate a factor, expression or feature set on a dataset
version and run the IC analysis, reporting progress per feature."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth import service as auth_service
from quantlab.datasets import universes
from quantlab.engine import expr
from quantlab.engine.data.universe import membership_mask
from quantlab.engine.expr.ast import fields_of
from quantlab.engine.factors.analysis import FactorAnalysis, analyse_factor
from quantlab.factors.compute import Window, load_window
from quantlab.factors.evaluations import INLINE_RESULT_BYTES, JOB_TYPE, RESULTS_DIR
from quantlab.factors.models import FactorEvaluation
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import JobContext, write_atomic
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.jsonsafe import json_safe

CHUNK = 16  # features evaluated together (shared sub-expressions) before analysing them


class EvaluateParams(BaseModel):
    """Parameters of ``factors.evaluate``: the evaluation row to carry out."""

    evaluation_id: str = Field(min_length=1, max_length=32)


def feature_row(name: str, text: str | None, analysis: FactorAnalysis) -> dict[str, Any]:
    """One feature's summary: IC and Rank IC statistics per horizon, spreads, turnover."""
    first = analysis.ic_summary[0]
    return json_safe(
        {
            "name": name,
            "expression": text,
            "ic_ir": first.ir,
            "ic_mean": first.mean,
            "rank_ic_ir": analysis.rank_ic_summary[0].ir,
            "rank_ic_mean": analysis.rank_ic_summary[0].mean,
            "ic_summary": [{k: getattr(s, k) for k in s.__slots__} for s in analysis.ic_summary],
            "rank_ic_summary": [
                {k: getattr(s, k) for k in s.__slots__} for s in analysis.rank_ic_summary
            ],
            "ic_decay": {str(k): v for k, v in analysis.ic_decay.items()},
            "long_short": {
                str(h): v for h, v in zip(analysis.horizons, analysis.long_short, strict=True)
            },
            "autocorrelation_mean": _nanmean(analysis.autocorrelation),
            "top_turnover_mean": _nanmean(analysis.top_turnover),
            "coverage_mean": _nanmean(analysis.coverage),
        }
    )


def _nanmean(a: np.ndarray) -> float:
    v = a[~np.isnan(a)]
    return float(v.mean()) if v.size else math.nan


def rank_key(row: dict[str, Any]) -> tuple[int, float]:
    """Sort key: largest |IC IR| first, features without an IR last."""
    ir = row.get("ic_ir")
    return (1, 0.0) if ir is None else (0, -abs(ir))


async def _prepare(session: AsyncSession, evaluation_id: str) -> dict[str, Any]:
    evaluation = await session.get(FactorEvaluation, evaluation_id)
    if evaluation is None:
        raise LookupError(f"factor evaluation {evaluation_id} is gone")
    owner = await auth_service.owner_of(session, evaluation.owner_id)
    return {
        "owner": owner,
        "dataset_id": evaluation.dataset_id,
        "version": evaluation.dataset_version,
        "feature_set": evaluation.feature_set,
        **evaluation.params,
    }


async def _finish(session: AsyncSession, evaluation_id: str, **values: Any) -> None:
    evaluation = await session.get(FactorEvaluation, evaluation_id)
    if evaluation is None:
        return
    for key, value in values.items():
        setattr(evaluation, key, value)
    evaluation.updated_at = utcnow()
    await session.commit()


def _load(ctx: JobContext, spec: dict[str, Any], fields: list[str], lookback: int | None) -> Window:
    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    async def go(session: AsyncSession) -> Window:
        window = await load_window(
            session,
            spec["owner"],
            spec["dataset_id"],
            ctx.data_dir,
            fields=fields,
            version=spec["version"],
            symbols=spec["symbols"],
            start=day(spec["start"]),
            end=day(spec["end"]),
            lookback=lookback,
        )
        name = spec.get("dated_universe")
        if name is None:
            return window
        spans = await universes.load_membership(session, spec["owner"], spec["dataset_id"], name)
        panel = window.panel
        mask = membership_mask(spans, panel.calendar, [str(s) for s in panel.instruments])
        meta = {**panel.meta, "universe": name, "membership": mask}
        return dataclasses.replace(window, panel=dataclasses.replace(panel, meta=meta))

    return ctx.run_db(go)


def _label(window: Window, spec: dict[str, Any]) -> np.ndarray | None:
    """The label over the requested days, or None for the default forward returns.

    The label path is the only one here that may read the future (``allow_future``);
    the panel ends at the request's ``end``, so the last days' labels are NaN as the
    default forward returns are.
    """
    text = spec.get("label")
    if text is None:
        return None
    values = expr.evaluate(text, window.panel, allow_future=True, cache=None)[text]
    return np.asarray(values[window.lo :], dtype=np.float64)


def _analyse(
    window: Window, values: np.ndarray, spec: dict[str, Any], label: np.ndarray | None
) -> FactorAnalysis:
    lo = window.lo
    factor = np.asarray(values[lo:], dtype=np.float64)
    member = window.panel.meta.get("membership")
    if isinstance(member, np.ndarray):  # a dated universe: members only, day by day
        factor = np.where(member[lo:], factor, np.nan)
    return analyse_factor(
        factor,
        window.panel["close"][lo:],
        dates=window.dates,
        horizons=spec["horizons"],
        quantiles=spec["quantiles"],
        label=label,
    )


def _label_fields(spec: dict[str, Any]) -> set[str]:
    text = spec.get("label")
    return set() if text is None else set(fields_of(expr.parse(text)))


def _python_factor(ctx: JobContext, spec: dict[str, Any]) -> tuple[Window, np.ndarray]:
    from quantlab.sandbox.executor import run_array_code

    ctx.report(0.05, stage="loading")
    window = _load(ctx, spec, _all_fields(ctx, spec), None)
    ctx.report(0.2, stage="sandbox", current=spec["name"])
    inputs = {name: np.ascontiguousarray(arr) for name, arr in window.panel.fields.items()}
    out = run_array_code(spec["code"], inputs, outputs=["factor"])["factor"]
    if out.shape != window.panel.shape:
        raise ValueError(
            f"the python factor must set 'factor' to a {window.panel.shape} array; got {out.shape}"
        )
    return window, np.asarray(out, dtype=np.float64)


def _all_fields(ctx: JobContext, spec: dict[str, Any]) -> list[str]:
    from sqlalchemy import select

    from quantlab.datasets.models import DatasetVersion

    async def go(session: AsyncSession) -> list[str]:
        row = await session.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == spec["dataset_id"],
                DatasetVersion.version == spec["version"],
            )
        )
        return list(row.fields) if row is not None else ["close"]

    return ctx.run_db(go)


def _model_factor(ctx: JobContext, spec: dict[str, Any]) -> tuple[Window, np.ndarray]:
    from quantlab.ml.tasks import predictions_on

    ctx.report(0.05, stage="loading")
    fields = sorted(expr.stored_fields({"close"} | _label_fields(spec), _all_fields(ctx, spec)))
    window = _load(ctx, spec, fields, None)
    ctx.report(0.2, stage="predictions", current=spec["name"])
    return window, predictions_on(ctx.data_dir / spec["model"]["folder"], window.panel)


def _evaluate(ctx: JobContext, spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if spec.get("code") is not None or spec.get("model") is not None:
        maker = _python_factor if spec.get("code") is not None else _model_factor
        window, values = maker(ctx, spec)
        analysis = _analyse(window, values, spec, _label(window, spec))
        row = feature_row(spec["name"], None, analysis)
        ctx.report(1.0, stage="done")
        result = {**analysis.to_dict(), "label": spec.get("label"), "feature": row}
        return result, {"features": 1, "best": row}
    features: list[list[str]] = spec["features"]
    nodes = [expr.parse(text) for _, text in features]
    lookback = max(expr.lookback(n) for n in nodes)
    if spec.get("label") is not None:
        lookback = max(lookback, expr.lookback(spec["label"]))
    wanted = {"close"}.union(*(fields_of(n) for n in nodes), _label_fields(spec))
    fields = sorted(expr.stored_fields(wanted, _all_fields(ctx, spec)))  # $vwap: its sources
    ctx.report(0.02, stage="loading")
    window = _load(ctx, spec, fields, lookback)
    label = _label(window, spec)
    rows: list[dict[str, Any]] = []
    single: dict[str, Any] | None = None
    for i in range(0, len(nodes), CHUNK):
        ctx.check()
        batch = nodes[i : i + CHUNK]
        computed = expr.evaluate_nodes(batch, window.panel, cache=None)
        for k, node in enumerate(batch):
            name, text = features[i + k]
            ctx.report(0.05 + 0.95 * (i + k) / len(nodes), stage="analysing", current=name)
            analysis = _analyse(window, computed[node], spec, label)
            rows.append(feature_row(name, text, analysis))
            if len(features) == 1:
                single = analysis.to_dict()
        del computed
    ctx.report(1.0, stage="done")
    if single is not None:
        result = {**single, "label": spec.get("label"), "feature": rows[0]}
        return result, {"features": 1, "best": rows[0]}
    rows.sort(key=rank_key)
    for position, row in enumerate(rows, start=1):
        row["rank"] = position
    result = {
        "feature_set": spec["feature_set"],
        "horizons": spec["horizons"],
        "label": spec.get("label"),
        "ranked_by": {"statistic": "abs(ic_ir)", "horizon": spec["horizons"][0]},
        "ranking": rows,
        "skipped": spec.get("skipped") or [],
    }
    keys = ("rank", "name", "ic_ir", "ic_mean", "rank_ic_mean")
    top = [{k: r[k] for k in keys} for r in rows[:10]]
    return result, {"features": len(rows), "skipped": len(result["skipped"]), "top": top}


def run_evaluate(ctx: JobContext, params: EvaluateParams) -> dict[str, Any]:
    """Evaluate and analyse, then store the summary and the chart-ready result."""
    evaluation_id = params.evaluation_id
    spec = ctx.run_db(lambda s: _prepare(s, evaluation_id))
    try:
        result, summary = _evaluate(ctx, spec)
    except BaseException as exc:
        # the job ends failed (or cancelled) once this raises: its status is the evaluation's
        message = f"{type(exc).__name__}: {exc}"[:2000]
        ctx.run_db(lambda s: _finish(s, evaluation_id, error=message))
        raise
    payload = json.dumps(result, allow_nan=False).encode()
    stored: dict[str, Any] = {"summary": summary}
    if len(payload) > INLINE_RESULT_BYTES:
        path = ctx.data_dir / RESULTS_DIR / f"{evaluation_id}.json"
        write_atomic(path, payload)
        stored["result_ref"] = str(path.relative_to(ctx.data_dir))
    else:
        stored["result"] = result
    ctx.run_db(lambda s: _finish(s, evaluation_id, **stored))
    return {"evaluation_id": evaluation_id, "summary": summary}


register_job_type(
    name=JOB_TYPE,
    params=EvaluateParams,
    fn=run_evaluate,
    description="Evaluate a factor, expression or feature set and run its IC analysis.",
)
