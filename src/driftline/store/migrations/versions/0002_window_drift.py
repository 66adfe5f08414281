"""window drift: per-bucket drift statistics and bucket revisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("window_profiles") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index(
        "ix_window_profiles_revision",
        "window_profiles",
        ["model_version_id", "bucket_seconds", "bucket_start", "revision"],
    )
    op.create_table(
        "window_drift",
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.Float(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("reference_revision", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_window_drift_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_version_id",
            "bucket_seconds",
            "bucket_start",
            name=op.f("pk_window_drift"),
        ),
        sqlite_with_rowid=False,
    )
    # Feature chunks hold binary floats that do not compress: store them out of
    # line without PostgreSQL's (slow, useless) pglz compression.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE feature_chunks ALTER COLUMN columns SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("window_drift")
    op.drop_index("ix_window_profiles_revision", table_name="window_profiles")
    with op.batch_alter_table("window_profiles") as batch:
        batch.drop_column("revision")
