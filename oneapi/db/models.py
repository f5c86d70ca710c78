"""The tables, with One API's table names, column names and types.

An existing one-api database opens as is: columns are only ever added, never renamed.
Columns this project adds are marked "(added)". Types follow what one-api's GORM
models produce: indexed strings are ``varchar(191)``, free text is ``text``, counters
and times are ``bigint``.

A new database gets its tables from this metadata rather than from the migrations
(:func:`oneapi.db.migrate.create_schema`), so the two must agree to the server default
and the index name: ``tests/db/test_schema.py`` compares them on every backend.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

__all__ = (
    "Ability",
    "Channel",
    "Log",
    "LogType",
    "Option",
    "Redemption",
    "Role",
    "SettlementJournal",
    "Status",
    "StoredResponse",
    "Token",
    "TokenStatus",
    "User",
)


class Role:
    GUEST = 0
    COMMON = 1
    ADMIN = 10
    ROOT = 100


class Status:
    """User, channel and redemption status codes (one-api's values)."""

    ENABLED = 1
    DISABLED = 2  # users, channels (manually); redemptions: used
    AUTO_DISABLED = 3  # channels; users: deleted


class TokenStatus:
    ENABLED = 1
    DISABLED = 2
    EXPIRED = 3
    EXHAUSTED = 4


class LogType:
    UNKNOWN = 0
    TOPUP = 1
    CONSUME = 2
    MANAGE = 3
    SYSTEM = 4
    TEST = 5


def _bigint(default: int = 0, *, index: bool = False) -> Column:
    return Column(BigInteger, nullable=True, default=default, server_default=str(default), index=index)


def _int(default: int = 0, *, index: bool = False) -> Column:
    return Column(Integer, nullable=True, default=default, server_default=str(default), index=index)


def _str(length: int = 191, *, index: bool = False) -> Column:
    return Column(String(length), nullable=True, default="", server_default="", index=index)


def _unique_str(length: int, *, nullable: bool = False) -> Column:
    """A unique index (``ix_<table>_<column>``), as the migrations make it, not a constraint."""
    return Column(String(length), unique=True, index=True, nullable=nullable)


def _bool(default: bool = False) -> Column:
    return Column(Boolean, nullable=True, default=default, server_default="1" if default else "0")


class LongText(TypeDecorator[str]):
    """``text``, and ``longtext`` on MySQL, whose ``text`` stops at 64 KB.

    MySQL's type is imported only when a MySQL database asks for it: importing
    ``sqlalchemy.dialects.mysql`` for ``with_variant`` cost every SQLite and PostgreSQL boot
    9 ms of CPU.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import LONGTEXT

            return dialect.type_descriptor(LONGTEXT())
        return super().load_dialect_impl(dialect)


class _Row(SQLModel):
    """The tables' base: pydantic's validator for a table is built on its first validation.

    Rows are made by the database driver or built from already checked values, so most
    processes never validate one (the relay's boot reads the caches from rows): building the
    validators of nine tables up front cost 10-12 ms of every boot's CPU.
    """

    model_config = SQLModelConfig(defer_build=True)


class User(_Row, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(191), unique=True, index=True, nullable=False))
    password: str = Field(sa_column=Column(Text, nullable=False))
    display_name: str = Field(default="", sa_column=_str(index=True))
    role: int = Field(default=Role.COMMON, sa_column=_int(Role.COMMON))
    status: int = Field(default=Status.ENABLED, sa_column=_int(Status.ENABLED))
    email: str = Field(default="", sa_column=_str(index=True))
    github_id: str = Field(default="", sa_column=_str(index=True))
    wechat_id: str = Field(default="", sa_column=_str(index=True))
    lark_id: str = Field(default="", sa_column=_str(index=True))
    oidc_id: str = Field(default="", sa_column=_str(index=True))
    access_token: str | None = Field(default=None, sa_column=_unique_str(32, nullable=True))
    quota: int = Field(default=0, sa_column=_bigint())
    used_quota: int = Field(default=0, sa_column=_bigint())
    request_count: int = Field(default=0, sa_column=_int())
    group: str = Field(default="default", sa_column=Column("group", String(32), default="default",
                                                           server_default="default"))
    aff_code: str | None = Field(default=None, sa_column=_unique_str(32, nullable=True))
    inviter_id: int = Field(default=0, sa_column=_int(index=True))
    # (added) changes whenever the user's sessions must end (logout, password, role, status):
    # a session cookie carries the version it was issued under
    session_version: int = Field(default=0, sa_column=_int())
    # (added) two-factor sign-in (oneapi.api.two_factor): the TOTP secret (set up, maybe not yet on),
    # whether codes are asked at login, the last time step accepted (a code works once) and the
    # SHA-256 hashes of the unused recovery codes, as JSON; none of it is ever returned by the API
    totp_secret: str = Field(default="", sa_column=Column(String(64), nullable=True, default="",
                                                          server_default=""))
    totp_enabled: bool = Field(default=False, sa_column=_bool())
    totp_last_step: int = Field(default=0, sa_column=_bigint())
    totp_recovery: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def end_sessions(self, *, access_token: bool = False) -> None:
        """Revoke every session cookie issued so far (and the access token with ``access_token``).

        Changes the row only; the caller's commit makes it so.
        """
        self.session_version = (self.session_version or 0) + 1
        if access_token:
            self.access_token = None


class Token(_Row, table=True):
    __tablename__ = "tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(default=0, sa_column=_int(index=True))
    key: str = Field(sa_column=_unique_str(48))
    status: int = Field(default=TokenStatus.ENABLED, sa_column=_int(TokenStatus.ENABLED))
    name: str = Field(default="", sa_column=_str(index=True))
    created_time: int = Field(default=0, sa_column=_bigint())
    accessed_time: int = Field(default=0, sa_column=_bigint())
    expired_time: int = Field(default=-1, sa_column=_bigint(-1))
    remain_quota: int = Field(default=0, sa_column=_bigint())
    unlimited_quota: bool = Field(default=False, sa_column=_bool())
    used_quota: int = Field(default=0, sa_column=_bigint())
    models: str | None = Field(default="", sa_column=Column(Text, nullable=True))
    subnet: str | None = Field(default="", sa_column=Column(Text, nullable=True))
    # (added) requests and tokens per minute for this token across all replicas; 0 = no limit
    rpm_limit: int = Field(default=0, sa_column=_int())
    tpm_limit: int = Field(default=0, sa_column=_int())


class Channel(_Row, table=True):
    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    type: int = Field(default=0, sa_column=_int())
    key: str = Field(sa_column=Column("key", Text, nullable=False))
    status: int = Field(default=Status.ENABLED, sa_column=_int(Status.ENABLED))
    name: str = Field(default="", sa_column=_str(index=True))
    weight: int | None = Field(default=0, sa_column=_int())
    created_time: int = Field(default=0, sa_column=_bigint())
    test_time: int = Field(default=0, sa_column=_bigint())
    response_time: int = Field(default=0, sa_column=_int())
    base_url: str | None = Field(default="", sa_column=Column(Text, nullable=True, default=""))
    other: str | None = Field(default="", sa_column=Column(Text, nullable=True))
    balance: float = Field(default=0.0,
                           sa_column=Column(Float, nullable=True, default=0.0, server_default="0"))
    balance_updated_time: int = Field(default=0, sa_column=_bigint())
    models: str = Field(default="", sa_column=Column(Text, nullable=True))
    group: str = Field(default="default", sa_column=Column("group", String(32), default="default",
                                                           server_default="default"))
    used_quota: int = Field(default=0, sa_column=_bigint())
    model_mapping: str | None = Field(default="", sa_column=_str(1024))
    priority: int | None = Field(default=0, sa_column=_bigint())
    config: str | None = Field(default="", sa_column=Column(Text, nullable=True))
    system_prompt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Ability(_Row, table=True):
    """The routing index: one row per (group, model, channel)."""

    __tablename__ = "abilities"

    group: str = Field(sa_column=Column("group", String(32), primary_key=True))
    model: str = Field(sa_column=Column(String(191), primary_key=True))
    channel_id: int = Field(sa_column=Column(Integer, primary_key=True, index=True, autoincrement=False))
    enabled: bool = Field(default=True, sa_column=_bool(True))
    priority: int | None = Field(default=0, sa_column=_bigint(index=True))


class Log(_Row, table=True):
    __tablename__ = "logs"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(default=0, sa_column=_int(index=True))
    created_at: int = Field(default=0, sa_column=_bigint(index=True))
    type: int = Field(default=LogType.UNKNOWN, sa_column=_int(index=True))
    content: str | None = Field(default="", sa_column=Column(Text, nullable=True))
    username: str = Field(default="", sa_column=_str(index=True))
    token_name: str = Field(default="", sa_column=_str(index=True))
    model_name: str = Field(default="", sa_column=_str(index=True))
    quota: int = Field(default=0, sa_column=_int())
    prompt_tokens: int = Field(default=0, sa_column=_int())
    completion_tokens: int = Field(default=0, sa_column=_int())
    channel_id: int = Field(default=0, sa_column=_int(index=True))
    request_id: str = Field(default="", sa_column=_str())
    elapsed_time: int = Field(default=0, sa_column=_bigint())  # milliseconds
    is_stream: bool = Field(default=False, sa_column=_bool())
    system_prompt_reset: bool = Field(default=False, sa_column=_bool())
    # (added) the token's id, for per-token statistics without a name lookup
    token_id: int = Field(default=0, sa_column=_int(index=True))
    # (added) JSON: retry path, ratios, cache tokens and other per-request facts
    other: str | None = Field(default="", sa_column=Column(Text, nullable=True))


class Option(_Row, table=True):
    __tablename__ = "options"

    key: str = Field(sa_column=Column("key", String(191), primary_key=True))
    value: str | None = Field(default="", sa_column=Column(Text, nullable=True))


class Redemption(_Row, table=True):
    __tablename__ = "redemptions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(default=0, sa_column=_int())
    key: str = Field(sa_column=_unique_str(32))
    status: int = Field(default=Status.ENABLED, sa_column=_int(Status.ENABLED))
    name: str = Field(default="", sa_column=_str(index=True))
    quota: int = Field(default=100, sa_column=_bigint(100))
    created_time: int = Field(default=0, sa_column=_bigint())
    redeemed_time: int = Field(default=0, sa_column=_bigint())


class StoredResponse(_Row, table=True):
    """(added) A Responses API answer the gateway produced by conversion, kept for
    ``previous_response_id``, ``item_reference`` and ``GET /v1/responses/{id}``
    (:mod:`oneapi.relay.responses_store`)."""

    __tablename__ = "responses"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(default=0, sa_column=_int(index=True))
    created_at: int = Field(default=0, sa_column=_bigint(index=True))
    size: int = Field(default=0, sa_column=_bigint())  # bytes of ``data``, for the per-user bound
    # JSON: {"response": {...}, "input": [items], "previous_response_id": str | null}
    data: str = Field(default="", sa_column=Column(LongText(), nullable=False))


class SettlementJournal(_Row, table=True):
    """(added) The last settlement of a process's journal (``oneapi.db.journal``) that is in the database."""

    __tablename__ = "settlement_journals"

    journal: str = Field(sa_column=Column(String(64), primary_key=True, autoincrement=False))
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default="0"))
