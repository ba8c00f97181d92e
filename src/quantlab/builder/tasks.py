"""The ``builder.quick_test`` job: a short real backtest of a draft's compiled graph through
:func:`quantlab.engine.run`, with progress; its summary is kept on the draft (the last
:data:`~quantlab.builder.models.KEEP_RESULTS` of them, listable)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab import engine
from quantlab.auth import service as auth_service
from quantlab.builder.models import KEEP_RESULTS, BuilderDraft
from quantlab.builder.service import QUICK_TEST_JOB
from quantlab.datasets import service as dataset_service
from quantlab.engine.data import Panel
from quantlab.engine.runner import RunProgress
from quantlab.engine.spec import RunSpec
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import JobContext
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.jsonsafe import json_safe

CURVE_POINTS = 120


class QuickTestParams(BaseModel):
    """Parameters of ``builder.quick_test``: the draft and the compiled spec to run."""

    draft_id: str = Field(min_length=1, max_length=32)
    spec: dict[str, Any]


async def _load(session: AsyncSession, owner_id: str, spec: RunSpec, data_dir: Any) -> Panel:
    owner = await auth_service.owner_of(session, owner_id)
    symbols = None if spec.universe == "all" else list(spec.universe)
    panel, _ = await dataset_service.load_dataset_panel(
        session, owner, spec.dataset_id, data_dir, version=spec.dataset_version, symbols=symbols
    )
    return panel


async def _store(session: AsyncSession, draft_id: str, job_id: str, result: dict[str, Any]) -> None:
    row = await session.get(BuilderDraft, draft_id)
    if row is None:
        return
    # a new list (not an in-place append) so the JSON column is seen as changed
    row.results = [result, *(row.results or [])][:KEEP_RESULTS]
    if row.last_job_id == job_id:
        row.last_result = result
    await session.commit()


def summarise(result: engine.RunResult, job_id: str) -> dict[str, Any]:
    """What a draft keeps of a quick test: metrics, summary and a small equity curve."""
    equity = result.equity
    idx = np.unique(np.linspace(0, len(equity) - 1, min(CURVE_POINTS, len(equity))).astype(int))
    dates = [str(d) for d in result.dates]
    return json_safe(
        {
            "job_id": job_id,
            "start": dates[0] if dates else None,
            "end": dates[-1] if dates else None,
            "metrics": result.metrics,
            "summary": result.summary,
            "trades": len(result.simulation.trades),
            "curve": [[dates[i], float(equity[i])] for i in idx] if len(equity) else [],
            "warnings": result.warnings,
            "finished_at": utcnow().isoformat(),
        }
    )


def run_quick_test(ctx: JobContext, params: QuickTestParams) -> dict[str, Any]:
    """Run the draft's spec and keep the summary on the draft."""
    spec = RunSpec.model_validate(params.spec)
    ctx.report(0.02, stage="loading", message="loading the dataset")
    panel = ctx.run_db(lambda s: _load(s, ctx.owner_id, spec, ctx.data_dir))

    def progress(p: RunProgress) -> bool:
        ctx.report(0.1 + 0.85 * p.fraction, stage=p.stage, current=p.date)
        ctx.check()
        return False

    result = engine.run(spec, panel, progress=progress, diagnostics=False)
    summary = summarise(result, ctx.job_id)
    ctx.run_db(lambda s: _store(s, params.draft_id, ctx.job_id, summary))
    ctx.report(1.0, stage="done")
    return {"draft_id": params.draft_id, "metrics": summary["metrics"], "trades": summary["trades"]}


register_job_type(
    name=QUICK_TEST_JOB,
    params=QuickTestParams,
    fn=run_quick_test,
    description="Quick test of a builder draft: a short backtest whose summary the draft keeps.",
)
