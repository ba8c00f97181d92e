"""Node preview: evaluate one block of a graph on a sample of a dataset (a few symbols, a
date range) and return its series with summary statistics (NaN share, range, mean)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from quantlab.builder import service
from quantlab.builder.exceptions import InvalidGraph, PreviewFailed
from quantlab.builder.schemas import PreviewBody
from quantlab.datasets import service as dataset_service
from quantlab.engine import expr
from quantlab.engine.builder import GraphError
from quantlab.engine.builder.compile import node_expression
from quantlab.engine.builder.validate import Checked, check, errors_of
from quantlab.engine.data import Panel
from quantlab.engine.indicators.fields import IndicatorFieldError, add_indicator_fields
from quantlab.platform.ownership import Principal

DEFAULT_DAYS = 365
_EXPRESSION_TYPES = ("field", "const", "expr", "factor")


def _upstream(c: Checked, node_id: str) -> set[str]:
    seen = {node_id}
    stack = [node_id]
    while stack:
        for srcs in c.inputs.get(stack.pop(), {}).values():
            for src, _ in srcs:
                if src not in seen:
                    seen.add(src)
                    stack.append(src)
    return seen


def _stats(values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    total = values.size
    nan_share = float(np.isnan(values).sum() / total) if total else 1.0
    if finite.size == 0:
        return {"nan_share": nan_share, "min": None, "max": None, "mean": None}
    return {
        "nan_share": nan_share,
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
    }


def _port(c: Checked, body: PreviewBody) -> str:
    t = c.types[body.node_id]
    if t.type not in _EXPRESSION_TYPES and "operator" not in t.extra and "indicator" not in t.extra:
        raise PreviewFailed(
            f"{body.node_id} is a {t.type} block; preview a data, indicator or operator block"
        )
    ports = [p.name for p in t.outputs]
    port = body.port or ports[0]
    if port not in ports:
        raise PreviewFailed(f"{t.type} has no output {port!r}; outputs: {sorted(ports)}")
    return port


def _evaluate(c: Checked, body: PreviewBody, factors: dict[str, str], panel: Panel) -> Any:
    """The block's output as a run computes it: the same expression text over the panel
    with the same indicator fields added (so a preview shows the values a run uses)."""
    port = _port(c, body)
    try:
        text, fields = node_expression(c, body.node_id, factors, port)
    except GraphError as err:
        raise PreviewFailed(
            str(err), details={"issues": [i.as_dict() for i in err.issues]}
        ) from None
    try:
        panel = add_indicator_fields(panel, fields)
        values = expr.evaluate([text], panel)[text]
    except IndicatorFieldError as err:
        raise PreviewFailed(f"{body.node_id}: {err}") from None
    except expr.ExprError as err:
        raise PreviewFailed(f"{body.node_id}: {err.message}") from None
    return port, text, np.asarray(values, dtype=np.float64)


async def preview(
    session: AsyncSession, user: Principal, body: PreviewBody, data_dir: Any
) -> dict[str, Any]:
    """The block's output on the sample: dates, series per symbol and statistics."""
    factors = await service.factor_expressions(session, user, body.graph)
    c, issues = check(body.graph, factors=factors)
    if body.node_id not in c.types:
        raise PreviewFailed(f"the graph has no valid block {body.node_id!r}")
    upstream = _upstream(c, body.node_id)
    errors = [i for i in errors_of(issues) if i.node_id in upstream or i.code == "cycle"]
    if errors:
        raise InvalidGraph(
            "the previewed block's inputs have problems",
            details={"issues": [i.as_dict() for i in errors]},
        )
    dataset = await dataset_service.get_dataset(session, user, body.dataset_id)
    version = await dataset_service.get_version(session, dataset, None)
    end = body.end or service.version_end(version)
    start = body.start or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise PreviewFailed("start is after end")
    warmup = _warmup_days(c, body, factors)
    load_from = None if warmup is None else start - timedelta(days=warmup)
    panel, _ = await dataset_service.load_dataset_panel(
        session,
        user,
        dataset.id,
        data_dir,
        version=version.version,
        symbols=body.symbols,
        start=load_from,
        end=end,
    )
    if len(panel.calendar) == 0 or len(panel.instruments) == 0:
        raise PreviewFailed("the dataset has no data in this range")
    port, text, values = await run_in_threadpool(_evaluate, c, body, factors, panel)
    keep = panel.calendar >= np.datetime64(start, "D")
    values, days = values[keep], panel.calendar[keep]
    names = [str(s) for s in panel.instruments]
    shown = names[: body.series_symbols]
    series = {
        s: [None if not np.isfinite(v) else float(v) for v in values[:, j]]
        for j, s in enumerate(shown)
    }
    return {
        "node_id": body.node_id,
        "port": port,
        "expression": text,
        "dates": [str(d) for d in days],
        "series": series,
        "stats": _stats(values),
        "per_symbol": {s: _stats(values[:, j]) for j, s in enumerate(shown)},
    }


def _warmup_days(c: Checked, body: PreviewBody, factors: dict[str, str]) -> int | None:
    """Calendar days of history to load before ``start`` (None: all of it)."""
    try:
        text, fields = node_expression(c, body.node_id, factors, _port(c, body))
        days = expr.lookback(text)
    except Exception:
        return 0
    if fields or days >= expr.UNBOUNDED:
        # indicators are computed on all the loaded history in a run; recursive ones
        # (EMA, SMA-based RSI/KDJ...) depend on where it starts, so load all of it
        return None
    return int(days * 1.5) + 10
