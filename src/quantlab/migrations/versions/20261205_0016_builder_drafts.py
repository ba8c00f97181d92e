"""builder_drafts and builder_snapshots: autosaved builder graphs and their snapshots

Revision ID: 0016_builder_drafts
Revises: 0015_status_from_job
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_builder_drafts"
down_revision: str | None = "0015_status_from_job"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "builder_drafts",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.String(length=32), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_job_id", sa.String(length=32), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_builder_drafts_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builder_drafts")),
    )
    with op.batch_alter_table("builder_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_builder_drafts_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_builder_drafts_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "builder_snapshots",
        sa.Column("draft_id", sa.String(length=32), nullable=False),
        sa.Column("draft_version", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["builder_drafts.id"],
            name=op.f("fk_builder_snapshots_draft_id_builder_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builder_snapshots")),
    )
    with op.batch_alter_table("builder_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_builder_snapshots_draft_id"), ["draft_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("builder_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_builder_snapshots_draft_id"))
    op.drop_table("builder_snapshots")
    with op.batch_alter_table("builder_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_builder_drafts_owner_id"))
        batch_op.drop_index(batch_op.f("ix_builder_drafts_expires_at"))
    op.drop_table("builder_drafts")
