"""Settings, read once from environment variables only, by the entry points (``app.py``, ``oneapi``).

The app factory is given them and everything below it is given what it needs (``oneapi.services``).

The names and meanings follow One API's (see the README's "Configure" table), so an
existing deployment's environment carries over unchanged. A bad value stops the boot
with a message that names the variable, never with a traceback.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oneapi.i18n import LANGUAGES, normalise_language

__all__ = ("DEFAULT_ROOT_PASSWORD", "ConfigError", "Settings", "load_settings")

VALID_THEMES = ("default", "berry")
DEFAULT_ROOT_PASSWORD = "123456"  # one-api's: root's password on a first boot without INITIAL_ROOT_PASSWORD


class ConfigError(Exception):
    """The environment holds a value the gateway cannot run with."""


class Settings(BaseModel):
    """Every knob the gateway reads; field ``foo_bar`` is the variable ``FOO_BAR``.

    A plain pydantic model rather than pydantic-settings' ``BaseSettings``: every field is a
    scalar, which pydantic's own lax mode parses from the variable's text as pydantic-settings
    did (``"true"``, ``"12.5"``), and importing pydantic-settings cost 12-16 ms of CPU on
    every boot (its sources for dotenv, CLI, cloud secret stores), which a sleeping free
    instance's first visitor waits for. ``Settings()`` alone is the defaults;
    :func:`load_settings` is the one reader of the environment.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Server
    port: int = Field(3000, ge=1, le=65535)
    host: str = "0.0.0.0"
    debug: bool = False
    log_level: str = "INFO"
    # Connections (oneapi/connections.py): seconds for a request's head to arrive, seconds an
    # idle kept-alive connection stays open, and open connections beyond which new ones get 503
    header_timeout: float = Field(10.0, gt=0)
    keep_alive_timeout: int = Field(75, ge=1)
    max_connections: int = Field(10000, ge=1)

    # Storage
    sql_dsn: str = ""
    sqlite_path: str = "./data/one-api.db"
    sqlite_busy_timeout: int = Field(3000, ge=0)  # milliseconds, as One API
    sql_max_open_conns: int = Field(1000, ge=1)
    sql_max_idle_conns: int = Field(100, ge=0)
    sql_max_lifetime: int = Field(60, ge=1)  # seconds, as One API's code (not its README)
    db_connect_timeout: float = Field(10.0, gt=0)

    # Accounts and secrets
    session_secret: str = ""
    initial_root_password: str = DEFAULT_ROOT_PASSWORD
    initial_root_token: str = ""
    initial_root_access_token: str = ""

    # Web UI
    theme: str = "default"
    # the UI's, the management API's and the emails' language when neither the visitor's choice
    # (the header's switch) nor Accept-Language names a supported one; Chinese first, as one-api
    default_language: str = "zh-CN"

    # Cache, batching, relay
    redis_conn_string: str = ""
    redis_key_prefix: str = "oneapi:"  # keys and pub/sub channels; replicas of one deployment share it
    redis_timeout: float = Field(0.25, gt=0)  # seconds; a slower Redis counts as down for that call
    sync_frequency: int = Field(60, ge=1)  # seconds between full cache reloads
    batch_update_interval: float = Field(2.0, gt=0)  # seconds between batched writes
    # Where each process journals its settlements until they are in the database (oneapi/db/journal.py);
    # empty: the directory of SQLITE_PATH, or /tmp/one-api-journal on AWS Lambda
    journal_dir: str = ""
    relay_timeout: float = Field(0, ge=0)  # seconds, 0 = no overall limit (one-api's meaning)
    # per upstream call (oneapi/relay/upstream/), each overridable in a channel's config
    relay_connect_timeout: float = Field(10.0, gt=0)
    relay_first_byte_timeout: float = Field(600.0, gt=0)  # a non-streamed reasoning answer takes minutes
    relay_idle_timeout: float = Field(300.0, gt=0)  # between stream chunks; silent reasoning included
    relay_max_connections: int = Field(1000, ge=1)
    max_request_body_mb: int = Field(32, ge=1)
    channel_test_frequency: int = Field(0, ge=0)  # minutes, 0 = off
    shutdown_grace_period: float = Field(30.0, ge=0)

    # Rate limits (per client IP, per 3 minutes, as One API; 0 disables)
    global_api_rate_limit: int = Field(480, ge=0)
    global_web_rate_limit: int = Field(240, ge=0)

    # Operations
    metrics_token: str = ""
    # Proxies whose X-Forwarded-For names the client (uvicorn's setting): the client IP that
    # token subnets and the per-IP limits see. "*" only where every connection comes
    # through a platform's proxy (the Render, Koyeb and Hugging Face manifests set it).
    forwarded_allow_ips: str = "127.0.0.1"
    # Remote image_url parts are fetched for vendors that take only image bytes; by default
    # only from public addresses, so a client cannot make the gateway read its own network.
    allow_private_image_urls: bool = False
    # TESTS ONLY: sends the gateway's calls to GitHub's and Lark's fixed sign-in endpoints (and the
    # authorize links its pages show) to "<this origin>/<provider host><path>", where a test's mock
    # provider answers. Never set it in a deployment: sign-ins would trust whatever answers there.
    oauth_test_origin: str = ""

    @field_validator("theme")
    @classmethod
    def _known_theme(cls, value: str) -> str:
        value = value.strip().lower() or "default"
        if value not in VALID_THEMES:
            import logging

            logging.getLogger("oneapi.config").warning(
                "THEME=%r is not one of %s; falling back to 'default'", value, ", ".join(VALID_THEMES)
            )
            return "default"
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        tag = normalise_language(value)
        if tag is None:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return tag

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.strip().upper() or "INFO"

    @property
    def on_lambda(self) -> bool:
        """True inside AWS Lambda, where pools and background work must shrink."""
        return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))

    @property
    def journal_directory(self) -> str:
        """``JOURNAL_DIR``, else Lambda's /tmp on Lambda, else where SQLite's file is (a kept volume)."""
        if self.journal_dir.strip():
            return self.journal_dir.strip()
        if self.on_lambda:
            return "/tmp/one-api-journal"  # the only writable place there
        return os.path.dirname(self.sqlite_path) or "."


def load_settings() -> Settings:
    """Build settings from the process environment.

    Raises:
        ConfigError: naming each variable whose value is unusable (its value is shown
            only when the variable is not secret-bearing).
    """
    fields = Settings.model_fields
    values = {name.lower(): value for name, value in os.environ.items() if name.lower() in fields}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            shown = "<hidden>" if _is_secret(name) else repr(os.environ.get(name, ""))
            problems.append(f"{name}={shown}: {error['msg']}")
        raise ConfigError("invalid environment variable " + "; ".join(problems)) from None


def _is_secret(name: str) -> bool:
    return any(word in name for word in ("DSN", "SECRET", "TOKEN", "PASSWORD", "CONN_STRING"))

