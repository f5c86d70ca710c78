"""Add tokens.rpm_limit and tokens.tpm_limit (requests and tokens per minute, 0 = none).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_columns(
        "tokens",
        sa.Column("rpm_limit", sa.Integer(), nullable=True, server_default="0"),
        sa.Column("tpm_limit", sa.Integer(), nullable=True, server_default="0"),
    )


def downgrade() -> None:
    from alembic import op

    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("tpm_limit")
        batch.drop_column("rpm_limit")
