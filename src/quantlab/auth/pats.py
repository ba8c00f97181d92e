"""Personal access tokens for scripts and notebooks: created (shown once), listed, revoked.

Only a SHA-256 digest and a short display prefix are stored. A token may be read-only
(``WriteUser`` routes refuse it) and may expire; it dies with its owner's deactivation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth.exceptions import TokenNotFound
from quantlab.auth.models import PersonalAccessToken
from quantlab.auth.principal import pat_key
from quantlab.auth.tokens import PAT_PREFIX, digest, new_opaque
from quantlab.platform import audit
from quantlab.platform.cache import Cache
from quantlab.platform.db import utcnow
from quantlab.platform.errors import ValidationFailed

MAX_TOKENS_PER_USER = 50


def pat_public(pat: PersonalAccessToken) -> dict[str, Any]:
    """The listable fields of a token (never the secret or its digest)."""
    return {
        "id": pat.id,
        "name": pat.name,
        "prefix": pat.prefix,
        "read_only": pat.read_only,
        "created_at": pat.created_at,
        "expires_at": pat.expires_at,
        "last_used_at": pat.last_used_at,
        "revoked_at": pat.revoked_at,
    }


async def create(
    session: AsyncSession,
    *,
    user_id: str,
    name: str,
    read_only: bool,
    expires_at: datetime | None,
    client_address: str | None,
) -> tuple[PersonalAccessToken, str]:
    """Create a token; returns the row and the secret (the only time it is available)."""
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future")
    live = await session.execute(
        select(func.count()).where(
            PersonalAccessToken.user_id == user_id, PersonalAccessToken.revoked_at.is_(None)
        )
    )
    if live.scalar_one() >= MAX_TOKENS_PER_USER:
        raise ValidationFailed(f"at most {MAX_TOKENS_PER_USER} active tokens per user")
    secret = new_opaque(PAT_PREFIX)
    pat = PersonalAccessToken(
        user_id=user_id,
        name=name.strip()[:100],
        token_hash=digest(secret),
        prefix=secret[: len(PAT_PREFIX) + 6],
        read_only=read_only,
        expires_at=expires_at,
    )
    session.add(pat)
    await session.flush()
    audit.record(
        session,
        "auth.pat.create",
        actor_id=user_id,
        resource_type="personal_access_token",
        resource_id=pat.id,
        details={"name": pat.name, "read_only": read_only, "expires_at": str(expires_at)},
        client_address=client_address,
    )
    await session.commit()
    return pat, secret


async def list_for(
    session: AsyncSession, user_id: str, offset: int, limit: int
) -> tuple[list[PersonalAccessToken], int]:
    """A page of the user's tokens, newest first."""
    where = PersonalAccessToken.user_id == user_id
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    rows = await session.execute(
        select(PersonalAccessToken)
        .where(where)
        .order_by(PersonalAccessToken.created_at.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.scalars()), int(total)


async def revoke(
    session: AsyncSession,
    cache: Cache,
    *,
    user_id: str,
    token_id: str,
    client_address: str | None,
) -> PersonalAccessToken:
    """Revoke one of the user's tokens (404 for another user's token)."""
    pat = await session.get(PersonalAccessToken, token_id)
    if pat is None or pat.user_id != user_id:
        raise TokenNotFound(f"token {token_id} not found")
    if pat.revoked_at is None:
        pat.revoked_at = utcnow()
        audit.record(
            session,
            "auth.pat.revoke",
            actor_id=user_id,
            resource_type="personal_access_token",
            resource_id=pat.id,
            client_address=client_address,
        )
        await session.commit()
        await cache.invalidate(pat_key(pat.token_hash))
    return pat
