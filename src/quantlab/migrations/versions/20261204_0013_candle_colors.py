"""onboarding: candle colour preference (auto follows the market: red up on CN A-shares)

Revision ID: 0013_candle_colors
Revises: 0012_dataset_universes
Create Date: 2026-12-04 21:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_candle_colors"
down_revision: str | None = "0012_dataset_universes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_preferences", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("candle_colors", sa.String(length=10), server_default="auto", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("user_preferences", schema=None) as batch_op:
        batch_op.drop_column("candle_colors")
