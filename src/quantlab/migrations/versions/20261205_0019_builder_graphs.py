"""builder: the last quick-test results per draft, and the graph of each strategy version
saved from the builder

Revision ID: 0019_builder_graphs
Revises: 0018_model_factors
Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_builder_graphs"
down_revision: str | None = "0018_model_factors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("builder_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("results", sa.JSON(), nullable=True))
    op.create_table(
        "builder_strategy_graphs",
        sa.Column("strategy_id", sa.String(length=32), nullable=False),
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.String(length=32), nullable=True),
        sa.Column("graph", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_builder_strategy_graphs_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builder_strategy_graphs")),
        sa.UniqueConstraint(
            "strategy_id",
            "strategy_version",
            name=op.f("uq_builder_strategy_graphs_strategy_id_strategy_version"),
        ),
    )
    with op.batch_alter_table("builder_strategy_graphs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_builder_strategy_graphs_strategy_id"), ["strategy_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("builder_strategy_graphs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_builder_strategy_graphs_strategy_id"))
    op.drop_table("builder_strategy_graphs")
    with op.batch_alter_table("builder_drafts", schema=None) as batch_op:
        batch_op.drop_column("results")
