"""sandbox executions

Revision ID: 0004_sandbox
Revises: 0003_jobs
Create Date: 2026-11-26 06:58:14.299289
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_sandbox"
down_revision: str | None = "0003_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_executions",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("code_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_memory_mb", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("memory_used_mb", sa.Float(), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_sandbox_executions_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_executions")),
    )
    with op.batch_alter_table("sandbox_executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_executions_code_sha256"), ["code_sha256"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sandbox_executions_correlation_id"), ["correlation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sandbox_executions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sandbox_executions_outcome"), ["outcome"], unique=False
        )
        batch_op.create_index(
            "ix_sandbox_executions_owner_created", ["owner_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sandbox_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_executions_owner_created")
        batch_op.drop_index(batch_op.f("ix_sandbox_executions_outcome"))
        batch_op.drop_index(batch_op.f("ix_sandbox_executions_created_at"))
        batch_op.drop_index(batch_op.f("ix_sandbox_executions_correlation_id"))
        batch_op.drop_index(batch_op.f("ix_sandbox_executions_code_sha256"))

    op.drop_table("sandbox_executions")
