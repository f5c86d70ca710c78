"""Add settlement_journals: how far each process's settlement journal is in the database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_table(
        "settlement_journals",
        sa.Column("journal", sa.String(64), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    from alembic import op

    op.drop_table("settlement_journals")
