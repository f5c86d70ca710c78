"""Add logs.token_id and logs.other (JSON with retry path, ratios and cache tokens).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_columns, ensure_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_columns(
        "logs",
        sa.Column("token_id", sa.Integer(), nullable=True, server_default="0"),
        sa.Column("other", sa.Text(), nullable=True),
    )
    ensure_index("logs", "ix_logs_token_id", ("token_id",))


def downgrade() -> None:
    from alembic import op

    with op.batch_alter_table("logs") as batch:
        batch.drop_index("ix_logs_token_id")
        batch.drop_column("other")
        batch.drop_column("token_id")
