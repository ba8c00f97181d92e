"""The indicator catalog API's rules: listing, availability on a dataset and computing an
indicator, an expression or a saved factor on a dataset."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine import expr
from quantlab.engine import indicators as ind
from quantlab.engine.expr.ast import fields_of
from quantlab.factors import seed, validation
from quantlab.factors import service as factor_service
from quantlab.factors.compute import Window, load_window, long_rows
from quantlab.factors.exceptions import (
    ComputeNotSupported,
    IndicatorParamInvalid,
    IndicatorUnavailable,
)
from quantlab.factors.references import expand
from quantlab.factors.schemas import ComputeRequest
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal


def list_indicators(
    params: PageParams, search: str | None, category: str | None, source: str | None
) -> tuple[list[dict[str, Any]], int]:
    """A page of catalog entries matching the search and filters."""
    names = seed.search_indicators(search, category, source)
    entries = seed.indicator_entries()
    chosen = names[params.offset : params.offset + params.size]
    return [entries[n.casefold()] for n in chosen], len(names)


async def describe_indicator(
    session: AsyncSession, user: Principal, name: str, dataset_id: str | None
) -> dict[str, Any]:
    """The spec; with ``dataset_id``, whether the dataset's latest version can feed it."""
    entry = dict(seed.indicator_entry(name))
    if dataset_id is not None:
        fields = await validation.dataset_fields(session, user, dataset_id)
        available, reason = ind.availability(entry["name"], fields)
        missing = [f for f in entry["inputs"] if f not in fields]
        entry["availability"] = {
            "dataset_id": dataset_id,
            "available": available,
            "reason": reason or None,
            "missing": missing,
        }
    return entry


def checked_params(spec: ind.IndicatorSpec, params: dict[str, Any]) -> dict[str, int | float]:
    """Parameters overlaid on defaults and range-checked (422 naming the parameter)."""
    try:
        return spec.validate_params(params)
    except ind.IndicatorParameterError as err:
        raise IndicatorParamInvalid(
            str(err),
            details={
                "indicator": spec.name,
                "param": err.param,
                "value": err.value if isinstance(err.value, int | float | str) else repr(err.value),
                "min": err.minimum,
                "max": err.maximum,
            },
        ) from None


def _compute_indicator(spec: ind.IndicatorSpec, window: Window, params: dict[str, Any]) -> Any:
    try:
        return ind.compute(spec.name, window.panel, params)
    except ind.IndicatorUnavailableError as err:
        raise IndicatorUnavailable(str(err), details={"missing": list(err.missing)}) from None


async def compute(
    session: AsyncSession, user: Principal, body: ComputeRequest, data_dir: Path
) -> dict[str, Any]:
    """Compute an indicator, expression or expression factor; a page of long rows."""
    selection: dict[str, Any] = {
        "version": body.version,
        "symbols": body.symbols,
        "start": body.start,
        "end": body.end,
    }
    target: dict[str, Any]
    if body.indicator is not None:
        spec = seed.indicator_spec(body.indicator)
        params = checked_params(spec, body.params)
        fields = await validation.dataset_fields(session, user, body.dataset_id, body.version)
        ok, reason = ind.availability(spec, fields)
        if not ok:
            missing = [f for f in spec.inputs if f not in fields]
            raise IndicatorUnavailable(reason, details={"missing": missing})
        # indicators carry no look-back figure: compute on all history up to ``end``
        window = await load_window(
            session, user, body.dataset_id, data_dir, fields=spec.inputs, **selection
        )
        outputs = await asyncio.to_thread(_compute_indicator, spec, window, params)
        target = {"indicator": spec.name, "params": params}
    else:
        if body.factor_id is not None:
            factor = await factor_service.get_factor(session, user, body.factor_id)
            if factor.kind != "expression" or factor.expression is None:
                raise ComputeNotSupported(
                    "python factors run in the sandbox: evaluate them with "
                    "POST /api/factors/evaluate"
                )
            lookup = await validation.owner_lookup(session, factor.owner_id)
            expanded = expand(factor.expression, lookup, self_name=factor.name)
            target = {"factor_id": factor.id, "expression": factor.expression}
        else:
            assert body.expression is not None
            lookup = await validation.owner_lookup(session, user.id)
            expanded = expand(body.expression, lookup)
            target = {"expression": body.expression}
        fields = await validation.dataset_fields(session, user, body.dataset_id, body.version)
        node = validation.parse_expanded(expanded, fields)
        window = await load_window(
            session,
            user,
            body.dataset_id,
            data_dir,
            fields=sorted(fields_of(node)),
            lookback=expr.lookback(node),
            **selection,
        )
        outputs = {"value": await asyncio.to_thread(_evaluate, node, window)}
        if body.factor_id is not None:
            await factor_service.record_usage(session, user, factor)
            await session.commit()
    rows, total = long_rows(window, outputs, body.limit, body.offset)
    return {
        **target,
        "dataset_id": body.dataset_id,
        "version": window.version.version,
        "outputs": list(outputs),
        "columns": ["date", "symbol", *outputs],
        "rows": rows,
        "total_rows": total,
        "offset": body.offset,
        "truncated": body.offset + len(rows) < total,
    }


def _evaluate(node: expr.Node, window: Window) -> np.ndarray:
    return expr.evaluate_nodes([node], window.panel)[node]
