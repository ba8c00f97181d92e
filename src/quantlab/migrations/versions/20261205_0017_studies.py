"""studies: optimisation studies, their streamed trials and the chunks their jobs claim

Revision ID: 0017_studies
Revises: 0016_builder_drafts
Create Date: 2026-12-05 01:16:31.057269
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_studies"
down_revision: str | None = "0016_builder_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "studies",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.String(length=32), nullable=True),
        sa.Column("strategy_version", sa.Integer(), nullable=True),
        sa.Column("template_key", sa.String(length=60), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("param_schema", sa.JSON(), nullable=False),
        sa.Column("space", sa.JSON(), nullable=False),
        sa.Column("objectives", sa.JSON(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("keep_returns", sa.Boolean(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("walk_forward", sa.JSON(), nullable=True),
        sa.Column("engine_version", sa.String(length=60), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_studies_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_studies_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_studies_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_studies_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_studies_strategy_id"), ["strategy_id"], unique=False)

    op.create_table(
        "study_chunks",
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("first", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_chunks_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("study_id", "index", name=op.f("pk_study_chunks")),
    )
    op.create_table(
        "study_trials",
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("feasible", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("returns", sa.LargeBinary(), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_trials_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("study_id", "number", name=op.f("pk_study_trials")),
    )


def downgrade() -> None:

    op.drop_table("study_trials")
    op.drop_table("study_chunks")
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_studies_strategy_id"))
        batch_op.drop_index(batch_op.f("ix_studies_owner_id"))
        batch_op.drop_index(batch_op.f("ix_studies_job_id"))
        batch_op.drop_index(batch_op.f("ix_studies_dataset_id"))

    op.drop_table("studies")
