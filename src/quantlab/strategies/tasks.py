"""The ``strategies.example`` job: run a template on a dataset version through
:func:`quantlab.engine.run` and store what its gallery card shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth import service as auth_service
from quantlab.datasets import service as dataset_service
from quantlab.engine.data import Panel
from quantlab.engine.library.examples import compute_example
from quantlab.engine.spec import RunSpec
from quantlab.platform.db import utcnow
from quantlab.platform.jobs.context import JobContext
from quantlab.platform.jobs.registry import register_job_type
from quantlab.platform.jsonsafe import json_safe
from quantlab.strategies.gallery import EXAMPLE_JOB
from quantlab.strategies.models import Strategy, StrategyExample

DEMO_BENCHMARK = "DEMO.IDX"


class ExampleParams(BaseModel):
    """Parameters of ``strategies.example``: the example row to compute."""

    example_id: str = Field(min_length=1, max_length=32)


async def _load(
    session: AsyncSession, example_id: str, owner_id: str, data_dir: Any
) -> tuple[RunSpec, Panel, str | None]:
    ex = await session.get(StrategyExample, example_id)
    if ex is None:
        raise LookupError(f"example {example_id} is gone")
    template = await session.get(Strategy, ex.strategy_id)
    if template is None:
        raise LookupError(f"template {ex.strategy_id} is gone")
    owner = await auth_service.owner_of(session, owner_id)
    panel, _ = await dataset_service.load_dataset_panel(
        session, owner, ex.dataset_id, data_dir, version=ex.dataset_version
    )
    spec = RunSpec.model_validate(
        {**template.body, "dataset_id": ex.dataset_id, "dataset_version": ex.dataset_version}
    )
    bench = DEMO_BENCHMARK if DEMO_BENCHMARK in set(panel.instruments.tolist()) else None
    return spec, panel, bench


async def _store(session: AsyncSession, example_id: str, **values: Any) -> None:
    ex = await session.get(StrategyExample, example_id)
    if ex is not None:
        for key, value in values.items():
            setattr(ex, key, value)
        await session.commit()


def run_example(ctx: JobContext, params: ExampleParams) -> dict[str, Any]:
    """Compute one template example."""
    ex_id = params.example_id
    ctx.report(0.05, stage="loading", message="loading the dataset")
    spec, panel, bench = ctx.run_db(lambda s: _load(s, ex_id, ctx.owner_id, ctx.data_dir))
    ctx.report(0.3, stage="running", message="running the template")
    try:
        result = json_safe(compute_example(spec, panel, benchmark=bench))
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"[:2000]
        ctx.run_db(lambda s: _store(s, ex_id, error=message, computed_at=utcnow()))
        raise
    ctx.run_db(lambda s: _store(s, ex_id, result=result, error=None, computed_at=utcnow()))
    ctx.report(1.0, stage="done")
    return {"example_id": ex_id, "metrics": result["metrics"]}


register_job_type(
    name=EXAMPLE_JOB,
    params=ExampleParams,
    fn=run_example,
    description="Run a strategy template on a dataset and store its gallery example.",
)
