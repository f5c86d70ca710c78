"""The database a test's environment points at, opened apart from any app, to seed or read rows.

Apps open their own (``app.state.runtime.services.database``); this one reads ``SQL_DSN`` /
``SQLITE_PATH`` as they are when first asked, and :func:`dispose_engine` forgets it (the
``clean_env`` fixture calls it around each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session

from oneapi.config import load_settings
from oneapi.db.engine import Database

_open: list[Database] = []


def env_database() -> Database:
    if not _open:
        _open.append(Database(load_settings()))
    return _open[0]


def get_engine() -> Engine:
    return env_database().engine


@contextmanager
def session_scope() -> Iterator[Session]:
    with env_database().scope() as session:
        yield session


def dispose_engine() -> None:
    while _open:
        _open.pop().dispose()
