"""studies: backtests record the study (and trial) they came from; trials have a state
(complete or pruned by early stopping); a study stores its early-stopping rule

Revision ID: 0020_studies_links_pruning
Revises: 0019_builder_graphs
Create Date: 2026-12-05 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_studies_links_pruning"
down_revision: str | None = "0019_builder_graphs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("study_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("study_trial", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_backtests_study_id"), ["study_id"])
    with op.batch_alter_table("study_trials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=10), nullable=False, server_default="complete")
        )
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("early_stopping", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_column("early_stopping")
    with op.batch_alter_table("study_trials", schema=None) as batch_op:
        batch_op.drop_column("state")
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtests_study_id"))
        batch_op.drop_column("study_trial")
        batch_op.drop_column("study_id")
