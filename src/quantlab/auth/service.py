"""Accounts: create, read, change role/activity, passwords. Every write is audited in its
own transaction and invalidates the cached access snapshot after the commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth.exceptions import AccountExists, LastAdmin, UserNotFound
from quantlab.auth.models import ROLES, AuthSession, PersonalAccessToken, User
from quantlab.auth.passwords import Hasher, check_policy, generate_password
from quantlab.auth.principal import pat_key, user_key
from quantlab.platform import audit
from quantlab.platform.cache import Cache
from quantlab.platform.db import utcnow
from quantlab.platform.errors import ValidationFailed
from quantlab.platform.settings import Settings

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> Hasher:
    return Hasher(time_cost, memory_kib, parallelism)


def hasher_for(settings: Settings) -> Hasher:
    """The Argon2id hasher with ``settings``' costs (built once per cost triple)."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def normalise_username(value: str) -> str:
    """Lower-case, stripped; raises 422 when it is not a valid username."""
    name = value.strip().lower()
    if not USERNAME_RE.match(name):
        raise ValidationFailed(
            "username must be 3-64 characters: letters, digits, '.', '_' or '-'",
            details=[{"field": "username", "message": "invalid username"}],
        )
    return name


def normalise_email(value: str | None) -> str | None:
    """Lower-case, stripped; raises 422 when it does not look like an address."""
    if value is None or not value.strip():
        return None
    email = value.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationFailed(
            "email is not a valid address", details=[{"field": "email", "message": "invalid"}]
        )
    return email


def check_role(role: str) -> str:
    """The role if known, else 422."""
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    return role


async def count_users(session: AsyncSession) -> int:
    """How many accounts exist."""
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


async def create_user(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    password: str,
    email: str | None = None,
    display_name: str = "",
    role: str = "researcher",
    must_change_password: bool = False,
    actor_id: str | None = None,
    client_address: str | None = None,
    action: str = "user.create",
) -> User:
    """Create and commit an account (409 when the username or email is taken)."""
    name = normalise_username(username)
    mail = normalise_email(email)
    check_role(role)
    check_policy(password, username=name, email=mail)
    taken = User.username == name
    if mail is not None:
        taken = taken | (User.email == mail) | (User.username == mail)
    clash = await session.execute(select(User.id).where(taken))
    if clash.first() is not None:
        raise AccountExists()
    user = User(
        username=name,
        email=mail,
        display_name=(display_name or name).strip()[:100],
        role=role,
        password_hash=await hasher_for(settings).hash(password),
        must_change_password=must_change_password,
    )
    session.add(user)
    await session.flush()
    audit.record(
        session,
        action,
        actor_id=actor_id or user.id,
        resource_type="user",
        resource_id=user.id,
        details={"username": name, "role": role},
        client_address=client_address,
    )
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent create won the race
        await session.rollback()
        raise AccountExists() from exc
    return user


async def get_user(session: AsyncSession, user_id: str) -> User:
    """The account with ``user_id`` or 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


async def find_by_login(session: AsyncSession, login: str) -> User | None:
    """The account whose username or email is ``login`` (case-insensitive)."""
    value = login.strip().lower()
    stmt = select(User).where((User.username == value) | (User.email == value))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_users(
    session: AsyncSession,
    *,
    offset: int,
    limit: int,
    role: str | None = None,
    is_active: bool | None = None,
    q: str | None = None,
) -> tuple[list[User], int]:
    """A page of accounts, filtered, ordered by username."""
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(User.username.like(like) | User.email.like(like))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(User.username).offset(offset).limit(limit))
    return list(rows.scalars()), int(total)


async def _active_admins(session: AsyncSession, excluding: str) -> int:
    stmt = select(func.count()).where(
        User.role == "admin", User.is_active.is_(True), User.id != excluding
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke_all_sessions(session: AsyncSession, user: User, reason: str) -> int:
    """End every sign-in of ``user`` now (access tokens included, via the version bump);
    returns how many sessions were still open."""
    user.session_version += 1
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def update_user(
    session: AsyncSession,
    cache: Cache,
    user_id: str,
    *,
    actor_id: str,
    role: str | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
    client_address: str | None = None,
) -> User:
    """Change role, activity or display name (admin); refuses to remove the last admin."""
    user = await get_user(session, user_id)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if role is not None and role != user.role:
        check_role(role)
        old["role"], new["role"] = user.role, role
    if is_active is not None and is_active != user.is_active:
        old["is_active"], new["is_active"] = user.is_active, is_active
    if display_name is not None and display_name.strip() != user.display_name:
        old["display_name"], new["display_name"] = user.display_name, display_name.strip()[:100]
    demoted = new.get("role", "admin") != "admin" or new.get("is_active", True) is False
    if (
        user.role == "admin"
        and user.is_active
        and demoted
        and not await _active_admins(session, user.id)
    ):
        raise LastAdmin()
    if not new:
        return user
    for key, value in new.items():
        setattr(user, key, value)
    if new.get("is_active") is False:
        await revoke_all_sessions(session, user, "deactivated")
    audit.record(
        session,
        "user.update",
        actor_id=actor_id,
        resource_type="user",
        resource_id=user.id,
        details={"old": old, "new": new},
        client_address=client_address,
    )
    await session.commit()
    await cache.invalidate(user_key(user.id))
    return user


async def reset_password(
    session: AsyncSession,
    cache: Cache,
    settings: Settings,
    user_id: str,
    *,
    actor_id: str,
    client_address: str | None = None,
) -> str:
    """Set a random one-time password the user must change; ends every session and token."""
    user = await get_user(session, user_id)
    password = generate_password()
    user.password_hash = await hasher_for(settings).hash(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    await revoke_all_sessions(session, user, "password_reset")
    # A reset usually means the account may be compromised: scripts' tokens end too.
    live = (PersonalAccessToken.user_id == user.id) & PersonalAccessToken.revoked_at.is_(None)
    hashes = list(
        (await session.execute(select(PersonalAccessToken.token_hash).where(live))).scalars()
    )
    await session.execute(update(PersonalAccessToken).where(live).values(revoked_at=utcnow()))
    audit.record(
        session,
        "user.password.reset",
        actor_id=actor_id,
        resource_type="user",
        resource_id=user.id,
        details={"revoked_tokens": len(hashes)},
        client_address=client_address,
    )
    await session.commit()
    await cache.invalidate(user_key(user.id), *(pat_key(h) for h in hashes))
    return password


def user_public(user: User) -> dict[str, Any]:
    """The fields of an account a client may see (never the hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "is_active": user.is_active,
        "must_change_password": user.must_change_password,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
    }


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns a domain row, as ownership checks see it (jobs act on their owner's behalf)."""

    id: str
    is_admin: bool


async def owner_of(session: AsyncSession, user_id: str) -> Owner:
    """The :class:`Owner` for ``user_id`` (not an admin when the account is gone)."""
    user = await session.get(User, user_id)
    return Owner(user_id, bool(user is not None and user.role == "admin"))
