"""Who is calling: resolving a bearer token to an :class:`AuthUser`, through the cache.

Every request re-checks the account (active, role, session version) and the session
(not revoked), so deactivation, logout and password changes take effect at once. The
lookups are cached with generation-checked invalidation (:mod:`quantlab.platform.cache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantlab.auth.models import AuthSession, PersonalAccessToken, User
from quantlab.auth.tokens import PAT_PREFIX, TokenCodec, digest, invalid
from quantlab.platform.cache import Cache, KeysFor, remember_prefetched


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The signed-in caller as routes see it (what ``CurrentUser`` resolves to)."""

    id: str
    username: str
    email: str | None
    display_name: str
    role: str
    must_change_password: bool = False
    read_only: bool = False  # a read-only personal access token
    token_kind: str = "access"  # noqa: S105 - "access" (JWT) or "pat", not a secret
    session_id: str | None = None
    token_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        """True when the role and the token scope allow changing research data."""
        return self.role in ("admin", "researcher") and not self.read_only


def user_key(user_id: str) -> str:
    """Cache key of a user's access snapshot."""
    return f"auth:user:{user_id}"


def session_key(session_id: str) -> str:
    """Cache key of a sign-in session's state."""
    return f"auth:session:{session_id}"


def pat_key(token_hash: str) -> str:
    """Cache key of a personal access token's state."""
    return f"auth:pat:{token_hash}"


def user_snapshot(user: User) -> dict[str, Any]:
    """What authentication needs of a user row, JSON-serialisable for the cache."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "is_active": user.is_active,
        "sv": user.session_version,
        "must_change_password": user.must_change_password,
    }


async def _load_user(sm: async_sessionmaker[AsyncSession], user_id: str) -> dict[str, Any] | None:
    async with sm() as session:
        user = await session.get(User, user_id)
        return user_snapshot(user) if user is not None else None


async def _load_session(sm: async_sessionmaker[AsyncSession], sid: str) -> dict[str, Any] | None:
    async with sm() as session:
        row = await session.get(AuthSession, sid)
        if row is None:
            return None
        return {"user_id": row.user_id, "revoked": row.revoked_at is not None}


async def _load_pat(sm: async_sessionmaker[AsyncSession], token_hash: str) -> dict[str, Any] | None:
    async with sm() as session:
        pat = (
            await session.execute(
                select(PersonalAccessToken).where(PersonalAccessToken.token_hash == token_hash)
            )
        ).scalar_one_or_none()
        if pat is None:
            return None
        if pat.revoked_at is None:  # recorded once per cache fill, not on every request
            pat.last_used_at = datetime.now(UTC)
            await session.commit()
        return {
            "id": pat.id,
            "user_id": pat.user_id,
            "read_only": pat.read_only,
            "revoked": pat.revoked_at is not None,
            "expires_at": pat.expires_at.timestamp() if pat.expires_at else None,
        }


async def _cached(
    cache: Cache,
    sm: async_sessionmaker[AsyncSession],
    keys: list[str],
    loaders: list[Any],
    ahead: list[str] | None = None,
) -> list[Any]:
    """Values of ``keys`` (loading misses); ``ahead`` keys are read in the same round trip
    and kept for the route (see :func:`quantlab.platform.cache.prefetch`)."""
    values, gens = await cache.get_many(keys + (ahead or []))
    if ahead:
        n = len(keys)
        remember_prefetched({k: (values[n + i], gens[n + i]) for i, k in enumerate(ahead)})
        values, gens = values[:n], gens[:n]
    for i, value in enumerate(values):
        if value is None:
            values[i] = await loaders[i](sm)
            if values[i] is not None:
                await cache.fill(keys[i], values[i], gens[i])
    return values


def _to_user(snap: dict[str, Any] | None, **extra: Any) -> AuthUser:
    if snap is None or not snap["is_active"]:
        raise invalid("account is unknown or deactivated")
    return AuthUser(
        id=snap["id"],
        username=snap["username"],
        email=snap["email"],
        display_name=snap["display_name"],
        role=snap["role"],
        must_change_password=snap["must_change_password"],
        **extra,
    )


async def resolve(
    token: str,
    codec: TokenCodec,
    cache: Cache,
    sm: async_sessionmaker[AsyncSession],
    ahead: KeysFor | None = None,
) -> AuthUser:
    """The user a bearer ``token`` (access JWT or personal access token) belongs to;
    ``ahead`` names cache keys of that user the route will read (fetched together)."""
    remember_prefetched({})  # nothing read ahead survives from an earlier request
    if token.startswith(PAT_PREFIX):
        return await _resolve_pat(token, cache, sm)
    claims = codec.verify(token)
    snap, sess = await _cached(
        cache,
        sm,
        [user_key(claims.user_id), session_key(claims.session_id)],
        [lambda s: _load_user(s, claims.user_id), lambda s: _load_session(s, claims.session_id)],
        ahead(claims.user_id) if ahead is not None and cache.enabled else None,
    )
    if sess is None or sess["revoked"] or sess["user_id"] != claims.user_id:
        raise invalid("session has ended")
    if snap is not None and snap["sv"] != claims.session_version:
        raise invalid("session has ended")
    return _to_user(snap, session_id=claims.session_id)


async def _resolve_pat(token: str, cache: Cache, sm: async_sessionmaker[AsyncSession]) -> AuthUser:
    token_hash = digest(token)
    (pat,) = await _cached(cache, sm, [pat_key(token_hash)], [lambda s: _load_pat(s, token_hash)])
    if pat is None or pat["revoked"]:
        raise invalid("personal access token is unknown or revoked")
    if pat["expires_at"] is not None and pat["expires_at"] <= datetime.now(UTC).timestamp():
        raise invalid("personal access token has expired")
    (snap,) = await _cached(
        cache, sm, [user_key(pat["user_id"])], [lambda s: _load_user(s, pat["user_id"])]
    )
    return _to_user(snap, read_only=pat["read_only"], token_kind="pat", token_id=pat["id"])  # noqa: S106
