"""Read views of strategies: list rows with favourites, ratings and a plain-language
description; the detail with parameters and examples; version diffs."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine import library
from quantlab.engine.library import ParamSpec
from quantlab.engine.spec import RunSpec
from quantlab.platform.jsonsafe import json_safe
from quantlab.platform.ownership import Principal
from quantlab.strategies.models import (
    Strategy,
    StrategyExample,
    StrategyFavourite,
    StrategyRating,
    StrategyVersion,
)

_EXPRESSION_KEYS = {"entry", "exit", "score", "weight", "code"}


def human(body: dict[str, Any]) -> dict[str, str]:
    """The body in plain words (zh-CN and en); empty when it no longer validates."""
    return dict(_human(json.dumps(body, sort_keys=True)))


@functools.lru_cache(maxsize=4096)
def _human(body_json: str) -> tuple[tuple[str, str], ...]:
    # a pure function of the body: validating and rendering it is most of a gallery row's cost
    try:
        spec = RunSpec.model_validate({**json.loads(body_json), "dataset_id": "-"})
    except ValueError:
        return ()
    return tuple(library.describe(spec).items())


async def _social(
    session: AsyncSession, user: Principal, ids: Sequence[str]
) -> tuple[set[str], dict[str, tuple[float | None, int]], dict[str, int]]:
    favs = set(
        await session.scalars(
            select(StrategyFavourite.strategy_id).where(
                StrategyFavourite.user_id == user.id, StrategyFavourite.strategy_id.in_(ids)
            )
        )
    )
    stats = {
        sid: (float(avg) if avg is not None else None, int(n))
        for sid, avg, n in (
            await session.execute(
                select(
                    StrategyRating.strategy_id,
                    func.avg(StrategyRating.stars),
                    func.count(),
                )
                .where(StrategyRating.strategy_id.in_(ids))
                .group_by(StrategyRating.strategy_id)
            )
        ).all()
    }
    mine = {
        sid: int(stars)
        for sid, stars in (
            await session.execute(
                select(StrategyRating.strategy_id, StrategyRating.stars).where(
                    StrategyRating.user_id == user.id, StrategyRating.strategy_id.in_(ids)
                )
            )
        ).all()
    }
    return favs, stats, mine


def _view(
    row: Strategy,
    favs: set[str],
    stats: dict[str, tuple[float | None, int]],
    mine: dict[str, int],
) -> dict[str, Any]:
    avg, count = stats.get(row.id, (None, 0))
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "texts": row.texts or {},
        "tags": list(row.tags or []),
        "category": row.category,
        "market": row.market,
        "is_template": row.is_template,
        "is_system": row.template_key is not None,
        "is_public": row.is_public,
        "hidden": row.hidden,
        "owner_id": row.owner_id,
        "source_id": row.source_id,
        "template_key": row.template_key,
        "version": row.version,
        "usage_count": row.usage_count or 0,
        "favourite": row.id in favs,
        "rating": {
            "average": None if avg is None else round(avg, 2),
            "count": count,
            "mine": mine.get(row.id),
        },
        "requires_fields": list(row.requires_fields or []),
        "human": human(row.body),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


async def strategy_views(
    session: AsyncSession, user: Principal, rows: Sequence[Strategy]
) -> list[dict[str, Any]]:
    """List rows, with the caller's favourites and each row's rating summary."""
    favs, stats, mine = await _social(session, user, [r.id for r in rows])
    return [_view(r, favs, stats, mine) for r in rows]


def parameter_values(row: Strategy | StrategyVersion) -> dict[str, float]:
    """The current value of every schema parameter."""
    from quantlab.strategies.validation import current_values

    schema = [ParamSpec.model_validate(p) for p in row.param_schema or []]
    return {k: float(v) for k, v in current_values(row.body, schema).items()}


def example_view(ex: StrategyExample, job_status: str | None, stale: bool) -> dict[str, Any]:
    """An example as shown on a gallery card."""
    status = "stale" if stale and ex.result else (job_status or "pending")
    if ex.result is not None and not stale:
        status = "completed"
    if ex.error and not stale:
        status = "failed"
    out: dict[str, Any] = {
        "dataset_id": ex.dataset_id,
        "dataset_version": ex.dataset_version,
        "strategy_version": ex.strategy_version,
        "engine_version": ex.engine_version,
        "status": status,
        "job_id": ex.job_id,
        "computed_at": ex.computed_at,
        "error": ex.error,
    }
    if ex.result:
        for key in ("start", "end", "metrics", "curve", "benchmark_curve"):
            out[key] = ex.result.get(key)
    return json_safe(out)  # type: ignore[no-any-return]


async def strategy_detail(
    session: AsyncSession, user: Principal, row: Strategy, examples: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything about one strategy or template."""
    (view,) = await strategy_views(session, user, [row])
    return {
        **view,
        "notes": row.notes,
        "body": row.body,
        "param_schema": row.param_schema or [],
        "constraints": row.constraints or [],
        "parameters": parameter_values(row),
        "examples": examples,
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def diff_versions(a: StrategyVersion, b: StrategyVersion) -> list[dict[str, Any]]:
    """Parameter, expression, setting and schema changes from ``a`` to ``b``."""
    targets = {p["target"][1:].replace("/", ".") for p in (b.param_schema or []) if p.get("target")}
    fa, fb = _flatten(a.body), _flatten(b.body)
    changes = []
    for path in sorted(set(fa) | set(fb)):
        old, new = fa.get(path), fb.get(path)
        if old == new:
            continue
        if path.startswith("parameters.") or path in targets:
            kind = "parameter"
        elif path.split(".")[-1] in _EXPRESSION_KEYS and path.startswith("strategy."):
            kind = "expression"
        else:
            kind = "setting"
        changes.append({"path": path, "kind": kind, "old": old, "new": new})
    for key in ("param_schema", "constraints"):
        old, new = getattr(a, key), getattr(b, key)
        if old != new:
            changes.append({"path": key, "kind": "schema", "old": old, "new": new})
    return changes
