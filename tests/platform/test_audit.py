"""The audit trail is written with the caller's transaction and never changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from quantlab.platform import audit
from quantlab.platform.db import Database
from quantlab.platform.logging import correlation_id_var


async def test_record_and_append_only(database_url: str, backend: str) -> None:
    db = Database(database_url)
    token = correlation_id_var.set("cid-audit-1")
    try:
        async with db.sessionmaker() as session:
            row = audit.record(
                session,
                "user.preferences.update",
                actor_id="u1",
                resource_type="preferences",
                resource_id="u1",
                details={"old": {"theme": "light"}, "new": {"theme": "dark"}, "password": "p"},
                client_address="127.0.0.1",
            )
            await session.commit()
            row_id = row.id
        async with db.sessionmaker() as session:
            stored = (
                await session.execute(select(audit.AuditEvent).where(audit.AuditEvent.id == row_id))
            ).scalar_one()
            assert stored.correlation_id == "cid-audit-1"
            assert stored.details == {
                "old": {"theme": "light"},
                "new": {"theme": "dark"},
                "password": "***",
            }
            stored.action = "tampered"
            with pytest.raises(RuntimeError, match="append-only"):
                await session.flush()
            await session.rollback()
        if backend == "postgres":
            async with db.engine.connect() as conn:
                with pytest.raises(Exception, match="append-only"):
                    await conn.execute(text("DELETE FROM audit_events"))
    finally:
        correlation_id_var.reset(token)
        await db.dispose()
