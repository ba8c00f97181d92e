"""Runs of a strategy: a backtest of its spec (or of one of its versions) through the
backtests domain, recorded with the strategy and version it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.backtests import service as backtest_service
from quantlab.engine.spec import RunSpec
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal
from quantlab.strategies.exceptions import InvalidStrategy
from quantlab.strategies.models import Strategy, StrategyVersion
from quantlab.strategies.schemas import RunBody
from quantlab.strategies.service import get_strategy, get_version, schema_of
from quantlab.strategies.validation import resolve_body


async def run_strategy(
    session: AsyncSession,
    user: Principal,
    strategy_id: str,
    data: RunBody,
    data_dir: Path,
    client: str | None,
) -> tuple[Any, Any, Strategy, int]:
    """Start a backtest of the strategy (or one of its versions) through the backtests
    domain; the run records the strategy and version it came from."""
    row = await get_strategy(session, user, strategy_id)
    source: Strategy | StrategyVersion = row
    version = row.version
    if data.version is not None and data.version != row.version:
        source = await get_version(session, row, data.version)
        version = data.version
    schema, constraints = schema_of(source)
    body, _ = resolve_body(source.body, schema, constraints, data.parameters or None)
    run_fields = {
        "dataset_id": data.dataset_id,
        "dataset_version": data.dataset_version,
        "start": data.start,
        "end": data.end,
        "initial_capital": data.initial_capital,
        "universe": data.universe,
        "benchmark": data.benchmark,
        "preset": data.preset,
    }
    spec_data = {**body, **{k: v for k, v in run_fields.items() if v is not None}}
    spec_data["name"] = data.name or f"{row.name} v{version}"
    try:
        spec = RunSpec.model_validate(spec_data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise InvalidStrategy(
            f"the run is not valid: {first['msg']}",
            details={
                "problems": [
                    {
                        "path": ".".join(map(str, first["loc"])),
                        "message": first["msg"],
                        "suggestion": "fix the run",
                    }
                ]
            },
        ) from None
    backtest, job = await backtest_service.create_backtest(
        session, user, spec, data_dir, client, strategy=(row.id, version)
    )
    row.usage_count = (row.usage_count or 0) + 1
    await session.commit()
    return backtest, job, row, version


async def list_runs(
    session: AsyncSession, user: Principal, strategy_id: str, params: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The caller's runs of a strategy with their key metrics and versions, newest first."""
    row = await get_strategy(session, user, strategy_id)
    return await backtest_service.list_backtests(session, user, params, strategy_id=row.id)
