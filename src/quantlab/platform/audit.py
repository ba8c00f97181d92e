"""Append-only audit trail: who did what to which resource, from where, under which request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, utcnow
from quantlab.platform.logging import correlation_id_var, mask_sensitive

# SQLite only autoincrements INTEGER PRIMARY KEY, PostgreSQL gets a BIGINT identity.
_AuditId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One audited action. Rows are never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(_AuditId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    resource_type: Mapped[str | None] = mapped_column(String(50), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    client_address: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(*_: Any) -> None:
    raise RuntimeError("audit events are append-only")


def record(
    session: AsyncSession,
    action: str,
    *,
    actor_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    details: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Add an audit event to ``session``; it is written with the caller's transaction."""
    row = AuditEvent(
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        details=mask_sensitive(details) if details else None,
        correlation_id=correlation_id_var.get(),
        client_address=client_address,
    )
    session.add(row)
    return row
