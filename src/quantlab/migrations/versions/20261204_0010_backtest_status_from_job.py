"""backtests: the status lives on the job only (drop the row's copy)

A backtest's status is its job's (``jobs.status``, read with a join); the row keeps the
results it stored and ``finished_at``. Downgrade restores the column from the jobs.

Revision ID: 0010_backtest_status_from_job
Revises: 0009_backtest_children
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_backtest_status_from_job"
down_revision: str | None = "0009_backtest_children"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtests_status"))
        batch_op.drop_column("status")


def downgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="pending")
        )
        batch_op.create_index(batch_op.f("ix_backtests_status"), ["status"], unique=False)
    op.execute(
        "UPDATE backtests SET status = (SELECT jobs.status FROM jobs "
        "WHERE jobs.id = backtests.job_id) WHERE job_id IS NOT NULL"
    )
