"""The DDL one-api's GORM models produce, written from the reference's column list.

Used to build "a database made by one-api" that the migrations must adopt. Go ``int``
is ``bigint`` in GORM, indexed strings are ``varchar(191)``, free text is ``longtext`` on
MySQL and ``text`` elsewhere; ``group`` and ``key`` are quoted reserved words.
"""

from __future__ import annotations

__all__ = ("one_api_ddl",)

_TABLES = {
    "users": [
        "{id}", "username varchar(191) UNIQUE", "password {text} NOT NULL", "display_name varchar(191)",
        "role bigint DEFAULT 1", "status bigint DEFAULT 1", "email varchar(191)", "github_id varchar(191)",
        "wechat_id varchar(191)", "lark_id varchar(191)", "oidc_id varchar(191)",
        "access_token char(32) UNIQUE", "quota bigint DEFAULT 0", "used_quota bigint DEFAULT 0",
        "request_count bigint DEFAULT 0", "{q}group{q} varchar(32) DEFAULT 'default'",
        "aff_code varchar(32) UNIQUE", "inviter_id bigint",
    ],
    "tokens": [
        "{id}", "user_id bigint", "{q}key{q} char(48) UNIQUE", "status bigint DEFAULT 1", "name varchar(191)",
        "created_time bigint", "accessed_time bigint", "expired_time bigint DEFAULT -1",
        "remain_quota bigint DEFAULT 0", "unlimited_quota {bool} DEFAULT false",
        "used_quota bigint DEFAULT 0",
        "models {text}", "subnet {text}",
    ],
    "channels": [
        "{id}", "type bigint DEFAULT 0", "{q}key{q} {text} NOT NULL", "status bigint DEFAULT 1",
        "name varchar(191)", "weight bigint DEFAULT 0", "created_time bigint", "test_time bigint",
        "response_time bigint", "base_url {text}", "other {text}", "balance {float}",
        "balance_updated_time bigint", "models {text}", "{q}group{q} varchar(32) DEFAULT 'default'",
        "used_quota bigint DEFAULT 0", "model_mapping varchar(1024) DEFAULT ''", "priority bigint DEFAULT 0",
        "config {text}", "system_prompt {text}",
    ],
    "abilities": [
        "{q}group{q} varchar(32) NOT NULL", "model varchar(191) NOT NULL", "channel_id bigint NOT NULL",
        "enabled {bool}", "priority bigint DEFAULT 0", "PRIMARY KEY ({q}group{q}, model, channel_id)",
    ],
    "logs": [
        "{id}", "user_id bigint", "created_at bigint", "type bigint", "content {text}",
        "username varchar(191) DEFAULT ''", "token_name varchar(191) DEFAULT ''",
        "model_name varchar(191) DEFAULT ''", "quota bigint DEFAULT 0", "prompt_tokens bigint DEFAULT 0",
        "completion_tokens bigint DEFAULT 0", "channel_id bigint", "request_id varchar(191) DEFAULT ''",
        "elapsed_time bigint DEFAULT 0", "is_stream {bool} DEFAULT false",
        "system_prompt_reset {bool} DEFAULT false",
    ],
    "options": ["{q}key{q} varchar(191) NOT NULL PRIMARY KEY", "value {text}"],
    "redemptions": [
        "{id}", "user_id bigint", "{q}key{q} char(32) UNIQUE", "status bigint DEFAULT 1", "name varchar(191)",
        "quota bigint DEFAULT 100", "created_time bigint", "redeemed_time bigint",
    ],
}

_DIALECT = {
    "sqlite": {"id": "id integer PRIMARY KEY AUTOINCREMENT", "text": "text", "bool": "numeric",
               "float": "real", "q": '"'},
    "postgresql": {"id": "id bigserial PRIMARY KEY", "text": "text", "bool": "boolean",
                   "float": "decimal", "q": '"'},
    "mysql": {"id": "id bigint AUTO_INCREMENT PRIMARY KEY", "text": "longtext", "bool": "boolean",
              "float": "double", "q": "`"},
}

_INDEXES = [
    ("idx_logs_created_at", "logs", "created_at"),
    ("idx_logs_user_id", "logs", "user_id"),
    ("idx_tokens_user_id", "tokens", "user_id"),
    ("idx_abilities_channel_id", "abilities", "channel_id"),
]


def one_api_ddl(dialect: str) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements as one-api would issue them."""
    words = _DIALECT[dialect]
    statements = [
        f"CREATE TABLE {table} (" + ", ".join(column.format(**words) for column in columns) + ")"
        for table, columns in _TABLES.items()
    ]
    statements += [f"CREATE INDEX {name} ON {table} ({column})" for name, table, column in _INDEXES]
    return statements
