"""datasets: dated universe membership per dataset (Qlib instruments files, CSV uploads)

Revision ID: 0012_dataset_universes
Revises: 0011_strategies
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_dataset_universes"
down_revision: str | None = "0011_strategies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_universes",
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("symbols_count", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_universes_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_universes")),
    )
    with op.batch_alter_table("dataset_universes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_universes_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            "uq_dataset_universes_dataset_name", ["dataset_id", "name"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset_universes", schema=None) as batch_op:
        batch_op.drop_index("uq_dataset_universes_dataset_name")
        batch_op.drop_index(batch_op.f("ix_dataset_universes_dataset_id"))
    op.drop_table("dataset_universes")
