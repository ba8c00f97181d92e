"""backtests: robustness children point at the run they vary (parent_id, variant)

Revision ID: 0009_backtest_children
Revises: 0008_backtests
Create Date: 2026-11-26 07:43:40.303370
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_backtest_children"
down_revision: str | None = "0008_backtests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("variant", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_backtests_parent_id"), ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtests_parent_id"))
        batch_op.drop_column("variant")
        batch_op.drop_column("parent_id")
