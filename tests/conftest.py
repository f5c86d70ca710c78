"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, temporary_database
from tests.support.db import dispose_engine


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """An environment with no gateway variables set and SQLite inside tmp_path."""
    import os

    for name in list(os.environ):
        if name.startswith(("SQL_", "SQLITE_", "REDIS_", "SESSION_SECRET", "INITIAL_ROOT", "THEME", "PORT",
                             "JOURNAL_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "one-api.db"))
    dispose_engine()
    yield monkeypatch
    dispose_engine()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sql_dsn(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database on ``backend``, as the SQL_DSN a user would set."""
    with temporary_database(backend, tmp_path) as dsn:
        yield dsn


@pytest.fixture
def db_env(clean_env: pytest.MonkeyPatch, sql_dsn: str) -> pytest.MonkeyPatch:
    """clean_env pointed at a fresh database of each backend."""
    if sql_dsn:
        clean_env.setenv("SQL_DSN", sql_dsn)
    dispose_engine()
    return clean_env
