"""Add users.session_version: bumping it revokes every session cookie the user holds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_columns

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_columns("users", sa.Column("session_version", sa.Integer(), nullable=True, server_default="0"))


def downgrade() -> None:
    from alembic import op

    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
