"""The execution history of the code sandbox: one row per run that reached an executor.

The submitted code is kept only for ``sandbox_code_retention_days``; after that the
``code`` column is cleared (``code_purged_at`` says when) while the hash, size and outcome
stay, as does the matching ``sandbox.execute`` audit event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, IdMixin, utcnow


class SandboxExecution(IdMixin, Base):
    """One run of user code: who, what (hash, size, code while retained), how it ended."""

    __tablename__ = "sandbox_executions"
    __table_args__ = (Index("ix_sandbox_executions_owner_created", "owner_id", "created_at"),)

    owner_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE")
    )  # indexed by ix_sandbox_executions_owner_created
    code_sha256: Mapped[str] = mapped_column(String(64), index=True)
    code_size: Mapped[int] = mapped_column(Integer, doc="characters of code submitted")
    code: Mapped[str | None] = mapped_column(Text, default=None)
    code_purged_at: Mapped[datetime | None] = mapped_column(default=None)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    max_memory_mb: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    error_type: Mapped[str | None] = mapped_column(String(100), default=None)
    duration_seconds: Mapped[float] = mapped_column(Float, doc="wall-clock seconds of the run")
    memory_used_mb: Mapped[float] = mapped_column(Float, doc="peak MiB above an idle child")
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
