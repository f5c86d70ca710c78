"""The process-wide SQLAlchemy engine and sessions.

The engine is synchronous on purpose: it serves psycopg, PyMySQL and sqlite3 with one
code path, and every call runs in a worker thread or in the batch writer, so the event
loop never waits on the database. It is created lazily, which keeps Lambda cold starts
and CLI commands cheap.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from oneapi.config import Settings, get_settings
from oneapi.db.dsn import DatabaseTarget, parse_dsn

__all__ = (
    "DatabaseUnavailable",
    "dispose_engine",
    "get_engine",
    "get_target",
    "make_engine",
    "session_scope",
    "target_from_settings",
)

log = logging.getLogger("oneapi.db")

_engine: Engine | None = None
_target: DatabaseTarget | None = None


class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the message names the host, never the password."""


def target_from_settings(settings: Settings) -> DatabaseTarget:
    return parse_dsn(settings.sql_dsn, sqlite_path=settings.sqlite_path,
                     sqlite_busy_timeout_ms=settings.sqlite_busy_timeout,
                     connect_timeout=settings.db_connect_timeout)


def make_engine(target: DatabaseTarget, settings: Settings) -> Engine:
    """Build an engine sized for this host (one connection per request on Lambda)."""
    kwargs: dict[str, Any] = {"connect_args": dict(target.connect_args), "pool_pre_ping": True}
    if target.backend == "sqlite":
        database = target.url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.pop("pool_pre_ping")
        if database == ":memory:":
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
    elif settings.on_lambda:
        kwargs["poolclass"] = NullPool
    else:
        pool_size = max(1, min(settings.sql_max_idle_conns, settings.sql_max_open_conns, 32))
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max(0, min(settings.sql_max_open_conns, 64) - pool_size)
        kwargs["pool_recycle"] = settings.sql_max_lifetime
        kwargs["pool_timeout"] = settings.db_connect_timeout
    engine = create_engine(target.url, **kwargs)
    if target.backend == "sqlite":
        busy_ms = settings.sqlite_busy_timeout

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            _enable_wal(cursor, busy_ms / 1000)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    return engine


def _enable_wal(cursor: Any, timeout_s: float) -> None:
    """Switch a SQLite file to WAL once; retry while another process holds it.

    Two processes opening a brand-new file at once may both try the switch, and SQLite
    refuses the loser with "database is locked" without waiting on the busy timeout.
    """
    deadline = time.monotonic() + max(timeout_s, 0.1)
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def get_target() -> DatabaseTarget:
    global _target
    if _target is None:
        _target = target_from_settings(get_settings())
    return _target


def get_engine() -> Engine:
    """The shared engine, created on first use."""
    global _engine
    if _engine is None:
        target = get_target()
        _engine = make_engine(target, get_settings())
        log.info("database: %s (%s)", target.backend, target.safe_description)
    return _engine


def dispose_engine() -> None:
    """Close every pooled connection and forget the engine (shutdown, tests)."""
    global _engine, _target
    if _engine is not None:
        _engine.dispose()
    _engine = None
    _target = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
