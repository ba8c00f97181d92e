"""Single-use, short-lived WebSocket tickets (browsers cannot send headers on WebSockets)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.db import Database, utcnow
from quantlab.tasks.models import WsTicket


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue(
    session: AsyncSession, job_id: str, user_id: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """A new ticket for ``user_id`` to watch ``job_id`` (only its hash is stored)."""
    ticket = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(
        WsTicket(token_hash=_digest(ticket), job_id=job_id, user_id=user_id, expires_at=expires)
    )
    await session.commit()
    return ticket, expires


async def redeem(db: Database, ticket: str, job_id: str) -> str | None:
    """The ticket's user id if it is valid for ``job_id``, unused and unexpired; burns it."""
    now = utcnow()
    async with db.sessionmaker() as session:
        result = await session.execute(
            update(WsTicket)
            .where(
                WsTicket.token_hash == _digest(ticket),
                WsTicket.job_id == job_id,
                WsTicket.used_at.is_(None),
                WsTicket.expires_at > now,
            )
            .values(used_at=now)
            .returning(WsTicket.user_id)
        )
        user_id = result.scalar_one_or_none()
        await session.commit()
    return user_id


async def purge_expired(db: Database) -> int:
    """Delete tickets that expired over an hour ago (used or not); returns how many."""
    async with db.sessionmaker() as session:
        result = await session.execute(
            delete(WsTicket).where(WsTicket.expires_at < utcnow() - timedelta(hours=1))
        )
        await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
