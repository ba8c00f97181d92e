"""Owner-scoped resources: one way to load, list and guard them.

A user-owned model has these columns:

- ``id`` — primary key;
- ``owner_id`` — the owning user's id (``String(32)``, indexed, FK ``users.id``);
- ``is_public`` (optional, bool) — when true every signed-in user may *read* it.

Rules: the owner reads and writes; an admin reads and writes everything; anyone else reads
a public resource, gets 403 when writing a public one (its existence is no secret), and
gets **404** for a private one, exactly as if the id did not exist, so ids cannot be probed.

Usage in a service::

    strategy = await get_owned(session, Strategy, strategy_id, user, write=True,
                               not_found=StrategyNotFound)
    rows = await session.scalars(visible(select(Strategy), Strategy, user))
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from quantlab.platform.errors import Forbidden, NotFound, QuantlabError

M = TypeVar("M")
S = TypeVar("S", bound=Select[Any])


class Principal(Protocol):
    """What ownership needs to know about the caller (``AuthUser`` satisfies it)."""

    @property
    def id(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def readable_by(model: Any, user: Principal) -> ColumnElement[bool]:
    """A WHERE clause selecting the rows of ``model`` that ``user`` may read."""
    if user.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = [model.owner_id == user.id]
    if hasattr(model, "is_public"):
        clauses.append(model.is_public.is_(True))
    return or_(*clauses) if clauses else false()


def writable_by(model: Any, user: Principal) -> ColumnElement[bool]:
    """A WHERE clause selecting the rows of ``model`` that ``user`` may change or delete."""
    if user.is_admin:
        return true()
    return model.owner_id == user.id  # type: ignore[no-any-return]


def visible(stmt: S, model: Any, user: Principal, *, mine_only: bool = False) -> S:
    """Restrict a SELECT to what ``user`` may read (or only their own rows)."""
    if mine_only:
        return stmt.where(model.owner_id == user.id)  # type: ignore[return-value]
    return stmt.where(readable_by(model, user))  # type: ignore[return-value]


def can_read(resource: Any, user: Principal) -> bool:
    """True when ``user`` may read the loaded ``resource``."""
    return (
        user.is_admin or resource.owner_id == user.id or bool(getattr(resource, "is_public", False))
    )


def can_write(resource: Any, user: Principal) -> bool:
    """True when ``user`` may change or delete the loaded ``resource``."""
    return user.is_admin or resource.owner_id == user.id


async def get_owned(
    session: AsyncSession,
    model: type[M],
    resource_id: Any,
    user: Principal,
    *,
    write: bool = False,
    not_found: type[QuantlabError] = NotFound,
    for_update: bool = False,
) -> M:
    """Load ``model`` by id for ``user``: 404 when absent or invisible, 403 for writing a
    public resource one does not own."""
    if for_update:
        stmt = select(model).where(model.id == resource_id).with_for_update()  # type: ignore[attr-defined]
        resource = (await session.execute(stmt)).scalar_one_or_none()
    else:
        resource = await session.get(model, resource_id)
    name = getattr(model, "__tablename__", "resource")
    if resource is None or not can_read(resource, user):
        raise not_found(f"{name} {resource_id} not found")
    if write and not can_write(resource, user):
        raise Forbidden(f"{name} {resource_id} is public but not yours to change")
    return resource
