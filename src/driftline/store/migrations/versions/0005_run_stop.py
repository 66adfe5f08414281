"""run stop: a stop request recorded on a training run (when, by whom, why)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("stop_requested_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("stop_requested_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("stop_reason")
        batch.drop_column("stop_requested_by")
        batch.drop_column("stop_requested_at")
