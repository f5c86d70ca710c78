"""Run the Alembic migrations at boot, once, even when replicas boot together.

Each backend gets its own lock: an advisory lock on PostgreSQL, ``GET_LOCK`` on MySQL,
and a file lock beside the SQLite file. The second replica waits, then finds the
schema at head and does nothing.

Alembic is imported only when the schema is behind: a restart compares the stored
revision with :data:`HEAD_REVISION` (kept equal to Alembic's head by a test), which
keeps boot fast on container hosts and Lambda cold starts.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ("HEAD_REVISION", "current_revision", "head_revision", "migration_lock", "upgrade")

HEAD_REVISION = "0007"

log = logging.getLogger("oneapi.db.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_NAME = "oneapi_migrations"
_PG_LOCK_KEY = 0x0_4E_E4_A1  # any constant shared by every replica
_LOCK_TIMEOUT_S = 300


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision among the migration scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The revision stored in ``alembic_version``, or None for an unversioned database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock that every replica of this database agrees on."""
    backend = engine.dialect.name
    if backend == "sqlite":
        database = engine.url.database or ""
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
        with lock_path.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        if backend == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
        else:
            got = connection.execute(
                text("SELECT GET_LOCK(:name, :timeout)"), {"name": _LOCK_NAME, "timeout": _LOCK_TIMEOUT_S}
            ).scalar()
            if got != 1:
                raise RuntimeError("timed out waiting for another replica's migration lock")
            try:
                yield
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK_NAME})


def upgrade(engine: Engine) -> str:
    """Bring the schema to head under the lock; return the revision reached."""
    if current_revision(engine) == HEAD_REVISION:
        return HEAD_REVISION
    from alembic import command

    with migration_lock(engine):
        before = current_revision(engine)
        head = head_revision()
        if before == head:
            return head
        if before is None:
            log.info("migrating the database schema to %s (adopting any existing one-api tables)", head)
        else:
            log.info("migrating the database schema from %s to %s", before, head)
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
        return head
