"""factors: a factor may be a model run's predictions (kind "model")

Revision ID: 0018_model_factors
Revises: 0017_studies
Create Date: 2026-12-05 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_model_factors"
down_revision: str | None = "0017_studies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_run_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_factors_model_run_id"), ["model_run_id"])


def downgrade() -> None:
    with op.batch_alter_table("factors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_factors_model_run_id"))
        batch_op.drop_column("model_run_id")
