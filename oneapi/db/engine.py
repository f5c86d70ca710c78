"""An app's database: its SQLAlchemy engine and sessions, built from that app's settings.

One :class:`Database` per app (``oneapi.services`` builds it from the settings the app factory
was given), so two apps in one process each use their own. The engine is synchronous on
purpose: it serves psycopg, PyMySQL and sqlite3 with one code path, and every call runs in a
worker thread or in the batch writer, so the event loop never waits on the database. It is
created on first use, which keeps Lambda cold starts and CLI commands cheap.

On AWS Lambda a connection lives for one invocation: the pool keeps the one it opened while
the invocation runs and :meth:`Database.close_idle` closes it when the handler is done, so a
frozen sandbox holds none. Without a pool a cold start opened four to six connections (the
schema check; root and options; the settlement journal's statements, one each; the relay
cache), each a TCP handshake and, against a server that asks for TLS and a SCRAM password as
RDS and Neon do, 60 M instructions (about 12 ms) of the sandbox's CPU; now it opens one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from oneapi.config import Settings
from oneapi.db.dsn import DatabaseTarget, parse_dsn
from oneapi.loading import collector_paused

__all__ = ("Database", "DatabaseUnavailable", "make_engine", "target_from_settings")

log = logging.getLogger("oneapi.db")

class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the message names the host, never the password."""


def target_from_settings(settings: Settings) -> DatabaseTarget:
    return parse_dsn(settings.sql_dsn, sqlite_path=settings.sqlite_path,
                     sqlite_busy_timeout_ms=settings.sqlite_busy_timeout,
                     connect_timeout=settings.db_connect_timeout)


def make_engine(target: DatabaseTarget, settings: Settings) -> Engine:
    """Build an engine sized for this host (on Lambda, one connection per invocation)."""
    kwargs: dict[str, Any] = {"connect_args": dict(target.connect_args), "pool_pre_ping": True}
    if target.backend == "sqlite":
        database = target.url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.pop("pool_pre_ping")
        if database == ":memory:":
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
    elif settings.on_lambda:  # one kept until close_idle; any more needed at once close when returned
        kwargs["pool_size"] = 1
        kwargs["max_overflow"] = -1
    else:
        pool_size = max(1, min(settings.sql_max_idle_conns, settings.sql_max_open_conns, 32))
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max(0, min(settings.sql_max_open_conns, 64) - pool_size)
        kwargs["pool_recycle"] = settings.sql_max_lifetime
        kwargs["pool_timeout"] = settings.db_connect_timeout
    with collector_paused():  # it loads the driver and SQLAlchemy's dialect for it: modules, kept
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
    import sqlite3  # here: a PostgreSQL or MySQL host never loads it (2 ms of every start)

    deadline = time.monotonic() + max(timeout_s, 0.1)
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Database:
    """The engine for one app's settings, created on first use; a runtime component that
    disposes of its pooled connections when the app stops (everything else stops first)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._target: DatabaseTarget | None = None
        self._engine: Engine | None = None

    @property
    def target(self) -> DatabaseTarget:
        """Where ``SQL_DSN`` / ``SQLITE_PATH`` point (raises DSNError on a bad DSN)."""
        if self._target is None:
            self._target = target_from_settings(self.settings)
        return self._target

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            target = self.target
            self._engine = make_engine(target, self.settings)
            log.info("database: %s (%s)", target.backend, target.safe_description)
        return self._engine

    def session(self, *, expire_on_commit: bool = True) -> Session:
        return Session(self.engine, expire_on_commit=expire_on_commit)

    @contextmanager
    def scope(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def describe_unreachable(self, exc: OperationalError) -> str:
        """Why the database did not answer, naming the host and never the password."""
        target = self.target
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        password = target.url.password
        if password:
            reason = reason.replace(str(password), "***")
        where = target.url.host or target.url.query.get("unix_socket") or target.url.database
        port = f":{target.url.port}" if target.url.port else ""
        return f"cannot reach the {target.backend} database at {where}{port}: {reason}"

    def close_idle(self) -> None:
        """Close the connections the pool keeps; the engine stays, with what it learnt of the server
        on its first connection (Lambda calls this after each invocation)."""
        if self._engine is not None:
            self._engine.dispose()

    def dispose(self) -> None:
        """Close every pooled connection and drop the engine; the next use builds a new one."""
        self.close_idle()
        self._engine = None

    async def start(self, runtime: object) -> None:
        """Nothing to do: the engine opens on first use."""

    async def stop(self) -> None:
        self.dispose()
