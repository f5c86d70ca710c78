"""Add the responses table: Responses API answers kept for previous_response_id and retrieval.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import LONGTEXT

from oneapi.db.migrations._schema import ensure_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_table(
        "responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=True, server_default="0"),
        sa.Column("created_at", sa.BigInteger(), nullable=True, server_default="0"),
        sa.Column("size", sa.BigInteger(), nullable=True, server_default="0"),
        sa.Column("data", sa.Text().with_variant(LONGTEXT(), "mysql"), nullable=False),
        indexes=(("ix_responses_user_id", ("user_id",), False),
                 ("ix_responses_created_at", ("created_at",), False)),
    )


def downgrade() -> None:
    from alembic import op

    op.drop_table("responses")
