"""One API's schema: users, tokens, channels, abilities, logs, options, redemptions.

On an empty database this creates the tables; on a database made by one-api it only
adds the columns an older one-api release did not have.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa

from oneapi.db.migrations._schema import ensure_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _big(name: str, default: int = 0) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=True, server_default=str(default))


def _int(name: str, default: int = 0) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=True, server_default=str(default))


def _bool(name: str, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=True, server_default="1" if default else "0")


def _str(name: str, length: int = 191, default: str | None = "") -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=True, server_default=default)


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=True)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    ensure_table(
        "users",
        _id(),
        sa.Column("username", sa.String(191), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        _str("display_name"), _int("role", 1), _int("status", 1), _str("email"),
        _str("github_id"), _str("wechat_id"), _str("lark_id"), _str("oidc_id"),
        _str("access_token", 32, None), _big("quota"), _big("used_quota"), _int("request_count"),
        _str("group", 32, "default"), _str("aff_code", 32, None), _int("inviter_id"),
        indexes=(
            ("ix_users_username", ("username",), True),
            ("ix_users_display_name", ("display_name",), False),
            ("ix_users_email", ("email",), False),
            ("ix_users_github_id", ("github_id",), False),
            ("ix_users_wechat_id", ("wechat_id",), False),
            ("ix_users_lark_id", ("lark_id",), False),
            ("ix_users_oidc_id", ("oidc_id",), False),
            ("ix_users_access_token", ("access_token",), True),
            ("ix_users_aff_code", ("aff_code",), True),
            ("ix_users_inviter_id", ("inviter_id",), False),
        ),
    )
    ensure_table(
        "tokens",
        _id(), _int("user_id"),
        sa.Column("key", sa.String(48), nullable=False),
        _int("status", 1), _str("name"), _big("created_time"), _big("accessed_time"),
        _big("expired_time", -1), _big("remain_quota"), _bool("unlimited_quota"), _big("used_quota"),
        _text("models"), _text("subnet"),
        indexes=(
            ("ix_tokens_key", ("key",), True),
            ("ix_tokens_user_id", ("user_id",), False),
            ("ix_tokens_name", ("name",), False),
        ),
    )
    ensure_table(
        "channels",
        _id(), _int("type"),
        sa.Column("key", sa.Text(), nullable=False),
        _int("status", 1), _str("name"), _int("weight"), _big("created_time"), _big("test_time"),
        _int("response_time"), _text("base_url"), _text("other"),
        sa.Column("balance", sa.Float(), nullable=True, server_default="0"),
        _big("balance_updated_time"), _text("models"), _str("group", 32, "default"), _big("used_quota"),
        _str("model_mapping", 1024), _big("priority"), _text("config"), _text("system_prompt"),
        indexes=(("ix_channels_name", ("name",), False),),
    )
    ensure_table(
        "abilities",
        sa.Column("group", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(191), primary_key=True),
        sa.Column("channel_id", sa.Integer(), primary_key=True, autoincrement=False),
        _bool("enabled", True), _big("priority"),
        indexes=(
            ("ix_abilities_channel_id", ("channel_id",), False),
            ("ix_abilities_priority", ("priority",), False),
        ),
    )
    ensure_table(
        "logs",
        _id(), _int("user_id"), _big("created_at"), _int("type"), _text("content"), _str("username"),
        _str("token_name"), _str("model_name"), _int("quota"), _int("prompt_tokens"),
        _int("completion_tokens"), _int("channel_id"), _str("request_id"), _big("elapsed_time"),
        _bool("is_stream"), _bool("system_prompt_reset"),
        indexes=(
            ("ix_logs_user_id", ("user_id",), False),
            ("ix_logs_created_at", ("created_at",), False),
            ("ix_logs_type", ("type",), False),
            ("ix_logs_username", ("username",), False),
            ("ix_logs_token_name", ("token_name",), False),
            ("ix_logs_model_name", ("model_name",), False),
            ("ix_logs_channel_id", ("channel_id",), False),
        ),
    )
    ensure_table(
        "options",
        sa.Column("key", sa.String(191), primary_key=True),
        _text("value"),
    )
    ensure_table(
        "redemptions",
        _id(), _int("user_id"),
        sa.Column("key", sa.String(32), nullable=False),
        _int("status", 1), _str("name"), _big("quota", 100), _big("created_time"), _big("redeemed_time"),
        indexes=(
            ("ix_redemptions_key", ("key",), True),
            ("ix_redemptions_name", ("name",), False),
        ),
    )


def downgrade() -> None:
    """One API's own tables hold the users' data: a downgrade past here keeps them."""
