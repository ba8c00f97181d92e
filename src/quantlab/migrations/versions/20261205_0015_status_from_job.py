"""factor evaluations and data imports: the status lives on the job only (drop the copies)

Like backtests (0010): an evaluation's or an import's status is its job's
(``jobs.status``, read by id); the rows keep their results, report and error. Downgrade
restores the columns from the jobs (``pending`` where a row has no job).

Revision ID: 0015_status_from_job
Revises: 0014_model_runs
Create Date: 2026-12-05 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_status_from_job"
down_revision: str | None = "0014_model_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("factor_evaluations", "data_imports")
RESTORE = {
    "factor_evaluations": "UPDATE factor_evaluations SET status = (SELECT jobs.status FROM jobs "
    "WHERE jobs.id = factor_evaluations.job_id) WHERE EXISTS (SELECT 1 FROM jobs "
    "WHERE jobs.id = factor_evaluations.job_id)",
    "data_imports": "UPDATE data_imports SET status = (SELECT jobs.status FROM jobs "
    "WHERE jobs.id = data_imports.job_id) WHERE EXISTS (SELECT 1 FROM jobs "
    "WHERE jobs.id = data_imports.job_id)",
}


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_status"))
            batch_op.drop_column("status")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("status", sa.String(length=20), nullable=False, server_default="pending")
            )
            batch_op.create_index(batch_op.f(f"ix_{table}_status"), ["status"], unique=False)
        op.execute(RESTORE[table])
