"""Add the users' two-factor sign-in columns: the TOTP secret, whether it is on, the last
time step accepted (so a code works once) and the hashes of the unused recovery codes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_columns

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("totp_secret", "totp_enabled", "totp_last_step", "totp_recovery")


def upgrade() -> None:
    ensure_columns("users",
                   sa.Column("totp_secret", sa.String(64), nullable=True, server_default=""),
                   sa.Column("totp_enabled", sa.Boolean(), nullable=True, server_default="0"),
                   sa.Column("totp_last_step", sa.BigInteger(), nullable=True, server_default="0"),
                   sa.Column("totp_recovery", sa.Text(), nullable=True))


def downgrade() -> None:
    from alembic import op

    with op.batch_alter_table("users") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
