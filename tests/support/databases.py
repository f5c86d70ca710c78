"""Throw-away databases on each backend, one per test, so parallel runs never collide.

PostgreSQL and MySQL come from ``TEST_PG_DSN`` and ``TEST_MYSQL_DSN`` (One API DSN
styles). Without them a backend's tests are skipped, except in CI (``CI=true``), where a
missing or unreachable service is a failure: a green CI must mean the backend ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from oneapi.db.dsn import parse_dsn

__all__ = ("BACKENDS", "require_service", "temporary_database")

BACKENDS = ("sqlite", "postgresql", "mysql")
_ENV = {"postgresql": "TEST_PG_DSN", "mysql": "TEST_MYSQL_DSN", "redis": "TEST_REDIS_URL"}


def require_service(name: str) -> str:
    """The service's URL from the environment; skip (or fail in CI) when it is missing."""
    variable = _ENV[name]
    value = os.environ.get(variable, "")
    if not value:
        message = f"{variable} is not set"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the {name} tests")
        pytest.skip(message)
    return value


def _unreachable(name: str, exc: Exception) -> None:
    message = f"{name} at {_ENV[name]} is unreachable: {type(exc).__name__}: {exc}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def temporary_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield an ``SQL_DSN`` for a brand-new, empty database on ``backend``."""
    if backend == "sqlite":
        yield ""  # empty SQL_DSN: SQLite at SQLITE_PATH, which the caller points into tmp_path
        return
    server_dsn = require_service(backend)
    name = f"oneapi_t_{secrets.token_hex(5)}"
    admin_url = parse_dsn(server_dsn).url
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        _unreachable(backend, exc)
        raise
    try:
        yield _dsn_for(server_dsn, name)
    finally:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def _dsn_for(server_dsn: str, database: str) -> str:
    """The server DSN with its database name swapped, keeping the DSN's own style."""
    head, _, tail = server_dsn.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{database}" + (f"?{tail}" if tail else "")
