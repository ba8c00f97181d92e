"""Rules and transactions of saved strategies: create (from scratch or a template), read,
update with versions, copy, soft-delete, publish, diff and restore versions (checks in
:mod:`~quantlab.strategies.validation`, runs in :mod:`~quantlab.strategies.runs`).

Templates and strategies share one table (:class:`~quantlab.strategies.models.Strategy`);
reads and writes go through the ownership helper, so another user's private strategy is a
404, a public one (and every system template) is read-only. Every save of a changed spec
creates a version; the last :data:`KEEP_VERSIONS` are kept.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine.library import Constraint, ParamSpec
from quantlab.platform import audit
from quantlab.platform.db import paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal, can_write, get_owned, readable_by
from quantlab.strategies import views
from quantlab.strategies.exceptions import (
    StrategyNameTaken,
    StrategyNotFound,
    StrategyReadOnly,
    StrategyVersionNotFound,
)
from quantlab.strategies.models import Strategy, StrategyVersion
from quantlab.strategies.schemas import FromTemplate, StrategyCreate, StrategyUpdate
from quantlab.strategies.validation import resolve_body, strip_run_fields

#: Versions kept per strategy. The original kept 5, too few once "apply best" of an
#: optimisation study and builder saves each add a version: 20 covers a tuning session
#: with room to step back, while a version is a few KB of JSON.
KEEP_VERSIONS = 20


# --- reads ------------------------------------------------------------------------------------


async def get_strategy(
    session: AsyncSession, user: Principal, strategy_id: str, *, write: bool = False
) -> Strategy:
    """A strategy or template the caller may read (404 otherwise; 403 writing a read-only
    one)."""
    row = await session.get(Strategy, strategy_id)
    if row is None or row.deleted_at is not None or (row.hidden and not user.is_admin):
        raise StrategyNotFound(f"strategy {strategy_id} not found")
    row = await get_owned(session, Strategy, strategy_id, user, not_found=StrategyNotFound)
    if write and (not can_write(row, user) or (row.template_key and not user.is_admin)):
        raise StrategyReadOnly(
            f"{'template' if row.is_template else 'strategy'} {row.name!r} is read-only; "
            "copy it to change it"
        )
    return row


async def list_strategies(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    templates: bool,
    q: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    market: str | None = None,
    mine: bool = False,
    sort: str = "name",
) -> tuple[list[dict[str, Any]], int]:
    """A page of templates (``templates``) or of saved strategies the caller can read."""
    stmt = select(Strategy).where(
        Strategy.deleted_at.is_(None),
        Strategy.is_template.is_(templates),
        readable_by(Strategy, user),
    )
    if not user.is_admin:
        stmt = stmt.where(Strategy.hidden.is_(False))
    if mine:
        stmt = stmt.where(Strategy.owner_id == user.id)
    if q:
        stmt = stmt.where(
            or_(
                Strategy.name.contains(q, autoescape=True),
                Strategy.description.contains(q, autoescape=True),
                cast(Strategy.texts, String).contains(json.dumps(q)[1:-1], autoescape=True),
            )
        )
    if category:
        stmt = stmt.where(Strategy.category == category)
    if market:
        stmt = stmt.where(Strategy.market.in_([market, "any"]))
    if tag:
        stmt = stmt.where(cast(Strategy.tags, String).contains(json.dumps(tag), autoescape=True))
    order = {
        "popular": (Strategy.usage_count.desc(), Strategy.name),
        "newest": (Strategy.created_at.desc(), Strategy.id),
        "name": (Strategy.name, Strategy.id),
    }[sort]
    rows, total = await paginate(session, stmt, params, *order)
    return await views.strategy_views(session, user, rows), total


async def popular(session: AsyncSession, user: Principal, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` most used templates."""
    items, _ = await list_strategies(
        session, user, PageParams(page=1, size=n), templates=True, sort="popular"
    )
    return items


# --- writes -----------------------------------------------------------------------------------


async def _name_free(session: AsyncSession, owner_id: str, name: str, exclude: str = "") -> None:
    taken = await session.scalar(
        select(func.count()).where(
            Strategy.owner_id == owner_id,
            Strategy.name == name,
            Strategy.deleted_at.is_(None),
            Strategy.id != exclude,
        )
    )
    if taken:
        raise StrategyNameTaken(
            f"you already have a strategy named {name!r}", details={"name": name}
        )


def _snapshot(row: Strategy, message: str, author: str | None) -> StrategyVersion:
    return StrategyVersion(
        strategy_id=row.id,
        version=row.version,
        message=message[:500],
        body=row.body,
        param_schema=row.param_schema,
        constraints=row.constraints,
        author_id=author,
    )


async def _prune(session: AsyncSession, row: Strategy) -> None:
    await session.execute(
        delete(StrategyVersion).where(
            StrategyVersion.strategy_id == row.id,
            StrategyVersion.version <= row.version - KEEP_VERSIONS,
        )
    )


def _dump(schema: list[ParamSpec], constraints: list[Constraint]) -> tuple[list, list]:
    return (
        [p.model_dump(mode="json", by_alias=True) for p in schema],
        [c.model_dump(mode="json") for c in constraints],
    )


def schema_of(row: Strategy | StrategyVersion) -> tuple[list[ParamSpec], list[Constraint]]:
    """The stored parameter schema and constraints as models."""
    return (
        [ParamSpec.model_validate(p) for p in row.param_schema or []],
        [Constraint.model_validate(c) for c in row.constraints or []],
    )


async def create_strategy(
    session: AsyncSession, user: Principal, data: StrategyCreate, client: str | None
) -> Strategy:
    """Save a strategy from scratch (validated structurally first)."""
    body, _ = resolve_body(strip_run_fields(data.body), data.param_schema, data.constraints)
    await _name_free(session, user.id, data.name)
    schema, constraints = _dump(data.param_schema, data.constraints)
    row = Strategy(
        owner_id=user.id,
        name=data.name,
        description=data.description,
        notes=data.notes,
        tags=data.tags,
        category=data.category,
        body=body,
        param_schema=schema,
        constraints=constraints,
        version=1,
        texts={},
    )
    return await _insert(session, user, row, "created", client)


async def _insert(
    session: AsyncSession, user: Principal, row: Strategy, message: str, client: str | None
) -> Strategy:
    session.add(row)
    await session.flush()
    session.add(_snapshot(row, message, user.id))
    audit.record(
        session,
        "strategy.create",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        details={"name": row.name, "source_id": row.source_id},
        client_address=client,
    )
    await session.commit()
    return row


async def from_template(
    session: AsyncSession, user: Principal, template_id: str, data: FromTemplate, client: str | None
) -> Strategy:
    """A saved strategy from a readable template, with checked parameter overrides."""
    source = await get_strategy(session, user, template_id)
    schema, constraints = schema_of(source)
    body, _ = resolve_body(source.body, schema, constraints, data.parameters)
    name = data.name or source.name
    await _name_free(session, user.id, name)
    source.usage_count = (source.usage_count or 0) + 1
    row = Strategy(
        owner_id=user.id,
        name=name,
        description=source.description,
        notes=data.notes,
        tags=data.tags or list(source.tags or []),
        category=source.category,
        market=source.market,
        texts=dict(source.texts or {}),
        source_id=source.id,
        body=body,
        param_schema=source.param_schema,
        constraints=source.constraints,
        requires_fields=list(source.requires_fields or []),
        version=1,
    )
    return await _insert(session, user, row, f"from template {source.name}", client)


async def copy_strategy(
    session: AsyncSession, user: Principal, strategy_id: str, name: str | None, client: str | None
) -> Strategy:
    """A private copy of a readable strategy or template."""
    source = await get_strategy(session, user, strategy_id)
    new_name = name or f"{source.name} (copy)"
    await _name_free(session, user.id, new_name)
    row = Strategy(
        owner_id=user.id,
        name=new_name,
        description=source.description,
        notes=source.notes,
        tags=list(source.tags or []),
        category=source.category,
        market=source.market,
        texts=dict(source.texts or {}),
        source_id=source.id,
        body=source.body,
        param_schema=source.param_schema,
        constraints=source.constraints,
        requires_fields=list(source.requires_fields or []),
        version=1,
    )
    return await _insert(session, user, row, f"copied from {source.name}", client)


async def update_strategy(
    session: AsyncSession,
    user: Principal,
    strategy_id: str,
    data: StrategyUpdate,
    client: str | None,
) -> Strategy:
    """Change metadata; a changed spec (body, parameter values or schema) becomes a new
    version with the message."""
    row = await get_strategy(session, user, strategy_id, write=True)
    changed: dict[str, Any] = {}
    if data.name is not None and data.name != row.name:
        if row.owner_id:
            await _name_free(session, row.owner_id, data.name, exclude=row.id)
        changed["name"] = data.name
    for key in ("description", "notes", "tags", "category"):
        value = getattr(data, key)
        if value is not None and value != getattr(row, key):
            changed[key] = value
    spec_change = any(
        v is not None for v in (data.body, data.parameters, data.param_schema, data.constraints)
    )
    if spec_change:
        old_schema, old_constraints = schema_of(row)
        schema = data.param_schema if data.param_schema is not None else old_schema
        constraints = data.constraints if data.constraints is not None else old_constraints
        base = strip_run_fields(data.body) if data.body is not None else row.body
        body, _ = resolve_body(base, schema, constraints, data.parameters)
        schema_json, constraints_json = _dump(schema, constraints)
        if (body, schema_json, constraints_json) != (row.body, row.param_schema, row.constraints):
            row.body, row.param_schema, row.constraints = body, schema_json, constraints_json
            row.version += 1
            session.add(_snapshot(row, data.message or "edited", user.id))
            await _prune(session, row)
            changed["version"] = row.version
    for key, value in changed.items():
        if key != "version":
            setattr(row, key, value)
    if changed:
        row.updated_at = utcnow()
        audit.record(
            session,
            "strategy.update",
            actor_id=user.id,
            resource_type="strategy",
            resource_id=row.id,
            details={"changed": sorted(changed)},
            client_address=client,
        )
    await session.commit()
    return row


async def delete_strategy(
    session: AsyncSession, user: Principal, strategy_id: str, client: str | None
) -> None:
    """Soft delete (its runs stay)."""
    row = await get_strategy(session, user, strategy_id, write=True)
    row.deleted_at = utcnow()
    audit.record(
        session,
        "strategy.delete",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        details={"name": row.name},
        client_address=client,
    )
    await session.commit()


async def publish(
    session: AsyncSession, user: Principal, strategy_id: str, public: bool, client: str | None
) -> Strategy:
    """Publish a strategy as a public template (read-only to others), or withdraw it."""
    row = await get_strategy(session, user, strategy_id, write=True)
    if row.template_key:
        raise StrategyReadOnly("system templates are published by the seed")
    row.is_public = public
    row.is_template = public
    audit.record(
        session,
        "strategy.publish" if public else "strategy.unpublish",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        client_address=client,
    )
    await session.commit()
    return row


async def set_hidden(
    session: AsyncSession, user: Principal, strategy_id: str, hidden: bool, client: str | None
) -> Strategy:
    """Hide or show a template in the gallery (admins)."""
    row = await get_strategy(session, user, strategy_id, write=True)
    row.hidden = hidden
    audit.record(
        session,
        "strategy.hide" if hidden else "strategy.show",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        client_address=client,
    )
    await session.commit()
    return row


# --- versions ---------------------------------------------------------------------------------


async def get_version(session: AsyncSession, row: Strategy, version: int) -> StrategyVersion:
    """One kept version of a strategy (404 otherwise)."""
    found = await session.scalar(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == row.id, StrategyVersion.version == version
        )
    )
    if found is None:
        raise StrategyVersionNotFound(
            f"strategy {row.id} has no version {version} (the last {KEEP_VERSIONS} are kept)",
            details={"version": version, "current": row.version},
        )
    return found


async def list_versions(session: AsyncSession, row: Strategy) -> list[StrategyVersion]:
    """The kept versions, newest first."""
    rows = await session.scalars(
        select(StrategyVersion)
        .where(StrategyVersion.strategy_id == row.id)
        .order_by(StrategyVersion.version.desc())
    )
    return list(rows.all())


async def restore(
    session: AsyncSession,
    user: Principal,
    strategy_id: str,
    version: int,
    message: str,
    client: str | None,
) -> Strategy:
    """Make an earlier version current again, as a new version."""
    row = await get_strategy(session, user, strategy_id, write=True)
    old = await get_version(session, row, version)
    row.body, row.param_schema, row.constraints = old.body, old.param_schema, old.constraints
    row.version += 1
    session.add(_snapshot(row, message or f"restored version {version}", user.id))
    await _prune(session, row)
    audit.record(
        session,
        "strategy.restore",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        details={"version": version, "new_version": row.version},
        client_address=client,
    )
    await session.commit()
    return row


async def diff(
    session: AsyncSession, user: Principal, strategy_id: str, a: int, b: int
) -> dict[str, Any]:
    """What changed from version ``a`` to ``b``."""
    row = await get_strategy(session, user, strategy_id)
    va, vb = await get_version(session, row, a), await get_version(session, row, b)
    return {
        "strategy_id": row.id,
        "from_version": a,
        "to_version": b,
        "changes": views.diff_versions(va, vb),
    }
