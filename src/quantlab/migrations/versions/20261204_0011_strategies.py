"""strategies: the strategy library (templates, saved strategies, versions, ratings,
favourites, computed examples) and the strategy a backtest ran

Revision ID: 0011_strategies
Revises: 0010_backtest_status_from_job
Create Date: 2026-12-04 21:38:13.815003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_strategies"
down_revision: str | None = "0010_backtest_status_from_job"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "strategies",
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("market", sa.String(length=8), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("is_template", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("template_key", sa.String(length=60), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("param_schema", sa.JSON(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("requires_fields", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("usage_count", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_strategies_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
    )
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_strategies_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_strategies_deleted_at"), ["deleted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_strategies_is_public"), ["is_public"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_strategies_is_template"), ["is_template"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_strategies_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_strategies_owner_name", ["owner_id", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_strategies_source_id"), ["source_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_strategies_usage_count"), ["usage_count"], unique=False
        )
        batch_op.create_index("uq_strategies_template_key", ["template_key"], unique=True)

    op.create_table(
        "strategy_examples",
        sa.Column("strategy_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("engine_version", sa.String(length=80), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_examples_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_examples")),
    )
    with op.batch_alter_table("strategy_examples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_strategy_examples_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            "uq_strategy_examples_target", ["strategy_id", "dataset_id"], unique=True
        )

    op.create_table(
        "strategy_favourites",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("strategy_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_favourites_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_strategy_favourites_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "strategy_id", name=op.f("pk_strategy_favourites")),
    )
    with op.batch_alter_table("strategy_favourites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_strategy_favourites_strategy_id"), ["strategy_id"], unique=False
        )

    op.create_table(
        "strategy_ratings",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("strategy_id", sa.String(length=32), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_ratings_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_strategy_ratings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "strategy_id", name=op.f("pk_strategy_ratings")),
    )
    with op.batch_alter_table("strategy_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_strategy_ratings_strategy_id"), ["strategy_id"], unique=False
        )

    op.create_table(
        "strategy_versions",
        sa.Column("strategy_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("param_schema", sa.JSON(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name=op.f("fk_strategy_versions_strategy_id_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_versions")),
    )
    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_strategy_versions_number", ["strategy_id", "version"], unique=True
        )

    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("strategy_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("strategy_version", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_backtests_strategy_id"), ["strategy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtests_strategy_id"))
        batch_op.drop_column("strategy_version")
        batch_op.drop_column("strategy_id")

    with op.batch_alter_table("strategy_versions", schema=None) as batch_op:
        batch_op.drop_index("uq_strategy_versions_number")

    op.drop_table("strategy_versions")
    with op.batch_alter_table("strategy_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategy_ratings_strategy_id"))

    op.drop_table("strategy_ratings")
    with op.batch_alter_table("strategy_favourites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategy_favourites_strategy_id"))

    op.drop_table("strategy_favourites")
    with op.batch_alter_table("strategy_examples", schema=None) as batch_op:
        batch_op.drop_index("uq_strategy_examples_target")
        batch_op.drop_index(batch_op.f("ix_strategy_examples_dataset_id"))

    op.drop_table("strategy_examples")
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_index("uq_strategies_template_key")
        batch_op.drop_index(batch_op.f("ix_strategies_usage_count"))
        batch_op.drop_index(batch_op.f("ix_strategies_source_id"))
        batch_op.drop_index("ix_strategies_owner_name")
        batch_op.drop_index(batch_op.f("ix_strategies_owner_id"))
        batch_op.drop_index(batch_op.f("ix_strategies_is_template"))
        batch_op.drop_index(batch_op.f("ix_strategies_is_public"))
        batch_op.drop_index(batch_op.f("ix_strategies_deleted_at"))
        batch_op.drop_index(batch_op.f("ix_strategies_category"))

    op.drop_table("strategies")
