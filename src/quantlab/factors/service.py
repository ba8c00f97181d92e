"""Factor library rules and transactions: validation on save, ownership, publish, clone,
favourites and usage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import String, cast, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.engine import expr
from quantlab.factors import validation
from quantlab.factors.exceptions import (
    FactorInUse,
    FactorNameTaken,
    FactorNotFound,
    InvalidExpression,
    InvalidFactorCode,
    ModelFactorUnavailable,
)
from quantlab.factors.models import Factor, FactorFavourite, FactorUsage
from quantlab.factors.references import expand, references
from quantlab.factors.schemas import FactorCreate, FactorOut, FactorUpdate
from quantlab.platform import audit
from quantlab.platform.db import paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal, get_owned, readable_by, visible

Scope = Literal["all", "mine", "public"]


async def _apply_source(
    session: AsyncSession,
    user: Principal,
    factor: Factor,
    *,
    expression: str | None,
    code: str | None,
    dataset_id: str | None,
) -> None:
    if factor.kind == "expression":
        text = expression if expression is not None else factor.expression
        assert text is not None
        _, node = await validation.check_expression(
            session,
            user,
            text,
            owner_id=factor.owner_id,
            self_name=factor.name,
            dataset_id=dataset_id,
        )
        factor.expression = text
        factor.dependencies = references(text)
        factor.lookback = expr.lookback(node)
    else:
        source = code if code is not None else factor.code
        assert source is not None
        validation.check_code(source)
        factor.code = source
        factor.dependencies = []
        factor.lookback = None


# --- CRUD -------------------------------------------------------------------------------


async def _name_taken(session: AsyncSession, owner_id: str, name: str) -> bool:
    stmt = select(Factor.id).where(Factor.owner_id == owner_id, Factor.name == name)
    return (await session.execute(stmt.limit(1))).first() is not None


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise FactorNameTaken(f"you already have a factor named {name!r}") from None


async def create_factor(
    session: AsyncSession, user: Principal, data: FactorCreate, client: str | None = None
) -> Factor:
    """Validate and store a new factor of ``user`` (409 on a taken name, 422 when invalid)."""
    if await _name_taken(session, user.id, data.name):
        raise FactorNameTaken(f"you already have a factor named {data.name!r}")
    factor = Factor(
        owner_id=user.id,
        name=data.name,
        description=data.description,
        kind=data.kind,
        tags=data.tags,
        is_public=data.is_public,
        usage_count=0,
    )
    await _apply_source(
        session,
        user,
        factor,
        expression=data.expression,
        code=data.code,
        dataset_id=data.dataset_id,
    )
    session.add(factor)
    await _flush_unique(session, data.name)
    details = {"name": factor.name, "kind": factor.kind}
    _audit(session, user, "factor.create", factor, details, client)
    await session.commit()
    return factor


async def create_model_factor(
    session: AsyncSession,
    user: Principal,
    *,
    name: str,
    description: str,
    model_run_id: str,
    client: str | None = None,
) -> Factor:
    """Store a model run's predictions as a factor of ``user`` (the caller checked the run
    is theirs and completed; 409 on a taken name)."""
    if await _name_taken(session, user.id, name):
        raise FactorNameTaken(f"you already have a factor named {name!r}")
    factor = Factor(
        owner_id=user.id,
        name=name,
        description=description,
        kind="model",
        model_run_id=model_run_id,
        tags=["model"],
        is_public=False,
        dependencies=[],
        usage_count=0,
    )
    session.add(factor)
    await _flush_unique(session, name)
    details = {"name": name, "kind": "model", "model_run_id": model_run_id}
    _audit(session, user, "factor.create", factor, details, client)
    await session.commit()
    return factor


async def get_factor(
    session: AsyncSession, user: Principal, factor_id: str, *, write: bool = False
) -> Factor:
    """A factor ``user`` may read (404 otherwise; 403 writing someone else's public one)."""
    return await get_owned(session, Factor, factor_id, user, write=write, not_found=FactorNotFound)


async def list_factors(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    q: str | None = None,
    tag: str | None = None,
    kind: str | None = None,
    scope: Scope = "all",
    favourites: bool = False,
) -> tuple[Sequence[Factor], int]:
    """A page of readable factors, newest change first, with search and filters."""
    stmt = select(Factor)
    if scope == "mine":
        stmt = stmt.where(Factor.owner_id == user.id)
    elif scope == "public":
        stmt = stmt.where(Factor.is_public.is_(True))
    else:
        stmt = visible(stmt, Factor, user)
    if favourites:
        stmt = stmt.join(
            FactorFavourite,
            (FactorFavourite.factor_id == Factor.id) & (FactorFavourite.user_id == user.id),
        )
    if q:
        stmt = stmt.where(
            or_(
                Factor.name.icontains(q, autoescape=True),
                Factor.description.icontains(q, autoescape=True),
            )
        )
    if tag:
        stmt = stmt.where(cast(Factor.tags, String).contains(json.dumps(tag), autoescape=True))
    if kind:
        stmt = stmt.where(Factor.kind == kind)
    return await paginate(session, stmt, params, Factor.updated_at.desc(), Factor.id)


async def _dependents(session: AsyncSession, factor: Factor) -> list[str]:
    rows = await session.execute(
        select(Factor.name, Factor.dependencies).where(
            Factor.owner_id == factor.owner_id, Factor.id != factor.id
        )
    )
    return sorted(name for name, deps in rows if factor.name in (deps or []))


async def update_factor(
    session: AsyncSession,
    user: Principal,
    factor_id: str,
    data: FactorUpdate,
    client: str | None = None,
) -> Factor:
    """Change a factor; a changed expression or code is validated again."""
    factor = await get_factor(session, user, factor_id, write=True)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    dataset_id = changes.pop("dataset_id", None)
    if "name" in changes and changes["name"] != factor.name:
        if await _name_taken(session, factor.owner_id, changes["name"]):
            raise FactorNameTaken(f"you already have a factor named {changes['name']!r}")
        users = await _dependents(session, factor)
        if users:
            raise FactorInUse(
                f"cannot rename: referenced as $${factor.name} by {', '.join(users)}",
                details={"dependents": users},
            )
    if factor.kind == "expression" and changes.get("code") is not None:
        raise InvalidFactorCode("an expression factor has no code; send 'expression'")
    if factor.kind == "python" and changes.get("expression") is not None:
        raise InvalidExpression("a python factor has no expression; send 'code'")
    if factor.kind == "model" and {"expression", "code"} & changes.keys():
        raise InvalidExpression(
            "a model factor's values are its run's predictions: it has no expression or "
            "code to change; train another run and save it as a new factor"
        )
    if factor.kind == "model":
        dataset_id = None  # nothing to validate against a dataset
    old = {k: getattr(factor, k) for k in changes}
    for key in ("name", "description", "tags", "is_public"):
        if key in changes:
            setattr(factor, key, changes[key])
    if {"expression", "code"} & changes.keys() or dataset_id:
        await _apply_source(
            session,
            user,
            factor,
            expression=changes.get("expression"),
            code=changes.get("code"),
            dataset_id=dataset_id,
        )
    factor.updated_at = utcnow()
    await _flush_unique(session, factor.name)
    _audit(session, user, "factor.update", factor, {"old": old, "new": changes}, client)
    await session.commit()
    return factor


async def delete_factor(
    session: AsyncSession, user: Principal, factor_id: str, client: str | None = None
) -> None:
    """Delete a factor no other factor of its owner references (409 otherwise)."""
    factor = await get_factor(session, user, factor_id, write=True)
    users = await _dependents(session, factor)
    if users:
        raise FactorInUse(
            f"cannot delete: referenced as $${factor.name} by {', '.join(users)}",
            details={"dependents": users},
        )
    _audit(session, user, "factor.delete", factor, {"name": factor.name}, client)
    await session.execute(delete(FactorFavourite).where(FactorFavourite.factor_id == factor.id))
    await session.execute(delete(FactorUsage).where(FactorUsage.factor_id == factor.id))
    await session.delete(factor)
    await session.commit()


async def publish_factor(
    session: AsyncSession, user: Principal, factor_id: str, client: str | None = None
) -> Factor:
    """Make a factor public (readable and clonable by every signed-in user)."""
    factor = await get_factor(session, user, factor_id, write=True)
    if factor.kind == "expression" and factor.dependencies:
        # readers evaluate it through the owner's names: they must all still resolve
        lookup = await validation.owner_lookup(session, factor.owner_id)
        assert factor.expression is not None
        _ = expand(factor.expression, lookup, self_name=factor.name)
    factor.is_public = True
    factor.updated_at = utcnow()
    _audit(session, user, "factor.publish", factor, None, client)
    await session.commit()
    return factor


async def clone_factor(
    session: AsyncSession,
    user: Principal,
    factor_id: str,
    name: str | None = None,
    client: str | None = None,
) -> Factor:
    """Copy a readable factor into ``user``'s library (references expanded, private)."""
    source = await get_factor(session, user, factor_id)
    if source.kind == "model" and source.owner_id != user.id:
        raise ModelFactorUnavailable(
            "a model factor is its owner's predictions and cannot be copied; evaluate the "
            "public factor itself, or train a run of your own"
        )
    new_name = name or source.name
    if await _name_taken(session, user.id, new_name):
        raise FactorNameTaken(f"you already have a factor named {new_name!r}")
    expression = source.expression
    if source.kind == "expression" and source.dependencies and expression is not None:
        lookup = await validation.owner_lookup(session, source.owner_id)
        expression = expand(expression, lookup, self_name=source.name).text
    factor = Factor(
        owner_id=user.id,
        name=new_name,
        description=source.description,
        kind=source.kind,
        expression=expression,
        code=source.code,
        tags=list(source.tags or []),
        is_public=False,
        dependencies=[],
        lookback=source.lookback,
        cloned_from=source.id,
        model_run_id=source.model_run_id,
        usage_count=0,
    )
    session.add(factor)
    await _flush_unique(session, new_name)
    _audit(session, user, "factor.clone", factor, {"source": source.id, "name": new_name}, client)
    await session.commit()
    return factor


# --- library: favourites, usage ---------------------------------------------------------


async def set_favourite(
    session: AsyncSession, user: Principal, factor_id: str, on: bool, client: str | None = None
) -> Factor:
    """Add or remove a readable factor from ``user``'s favourites (idempotent)."""
    factor = await get_factor(session, user, factor_id)
    existing = await session.get(FactorFavourite, (user.id, factor.id))
    if on and existing is None:
        session.add(FactorFavourite(user_id=user.id, factor_id=factor.id, created_at=utcnow()))
    elif not on and existing is not None:
        await session.delete(existing)
    else:
        return factor
    action = "factor.favourite" if on else "factor.unfavourite"
    _audit(session, user, action, factor, None, client)
    try:
        await session.commit()
    except IntegrityError:  # a concurrent identical request won
        await session.rollback()
    return factor


async def favourite_ids(session: AsyncSession, user: Principal, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` ``user`` has marked as favourite."""
    if not ids:
        return set()
    rows = await session.scalars(
        select(FactorFavourite.factor_id).where(
            FactorFavourite.user_id == user.id, FactorFavourite.factor_id.in_(list(ids))
        )
    )
    return set(rows)


async def record_usage(session: AsyncSession, user: Principal, factor: Factor) -> None:
    """Count one use of ``factor`` by ``user`` (the caller commits)."""
    now = utcnow()
    await session.execute(
        update(Factor)
        .where(Factor.id == factor.id)
        .values(usage_count=Factor.usage_count + 1, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(FactorUsage, (user.id, factor.id))
    if row is None:
        session.add(FactorUsage(user_id=user.id, factor_id=factor.id, count=1, last_used_at=now))
    else:
        row.count += 1
        row.last_used_at = now


async def recently_used(
    session: AsyncSession, user: Principal, limit: int = 20
) -> list[tuple[Factor, FactorUsage]]:
    """``user``'s most recently used factors that are still readable, newest first."""
    stmt = (
        select(Factor, FactorUsage)
        .join(FactorUsage, FactorUsage.factor_id == Factor.id)
        .where(FactorUsage.user_id == user.id)
        .order_by(FactorUsage.last_used_at.desc(), Factor.id)
        .limit(limit)
    )
    rows = await session.execute(stmt.where(readable_by(Factor, user)))
    return [(row[0], row[1]) for row in rows]


def factor_view(factor: Factor, favourites: set[str] | None = None) -> dict[str, Any]:
    """JSON form of a factor for ``user`` (``is_favourite`` from ``favourites``)."""
    out = FactorOut.model_validate(factor)
    out.is_favourite = factor.id in (favourites or set())
    return out.model_dump(mode="json")


def _audit(
    session: AsyncSession,
    user: Principal,
    action: str,
    factor: Factor,
    details: dict[str, Any] | None,
    client: str | None,
) -> None:
    audit.record(
        session,
        action,
        actor_id=user.id,
        resource_type="factor",
        resource_id=factor.id,
        details=details,
        client_address=client,
    )
