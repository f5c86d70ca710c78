"""Bring the database schema to head at boot, once, even when replicas boot together.

Each backend gets its own lock: an advisory lock on PostgreSQL, ``GET_LOCK`` on MySQL,
and a file lock beside the SQLite file. The second replica waits, then finds the
schema at head and does nothing.

Alembic (about 0.12 s of CPU and 12 MB that stayed loaded) is imported only when a database
needs its migrations: one at an older revision, or one made by one-api that has our tables
but no revision. The two common boots do without it, which matters on a free host capped at
a tenth of a CPU and on a Lambda cold start:

* a restart reads the stored revision with one ``SELECT`` and compares it with
  :data:`HEAD_REVISION` (kept equal to Alembic's head by a test);
* a new, empty database gets the tables from the models' metadata and the revision row
  in one transaction (MySQL commits each ``CREATE TABLE`` by itself; the lock still keeps
  other replicas out). ``tests/db/test_schema.py`` checks that this schema is the one the
  migrations build, table by table, on SQLite, PostgreSQL and MySQL.

After an upgrade from an older revision Alembic stays loaded until the process restarts,
once per release: dropping its 69 modules from ``sys.modules`` was measured to give back no
memory at all (66.5 MB before and after), and running it in a child process would need the
settings the app factory was given, which a child does not have.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ("HEAD_REVISION", "create_schema", "current_revision", "head_revision", "migration_lock",
           "run_migrations", "upgrade")

HEAD_REVISION = "0007"

log = logging.getLogger("oneapi.db.migrate")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_NAME = "oneapi_migrations"
_PG_LOCK_KEY = 0x0_4E_E4_A1  # any constant shared by every replica
_LOCK_TIMEOUT_S = 300

# Alembic's own version table, as Alembic creates it, for a schema created without Alembic
_VERSION_TABLE = Table("alembic_version", MetaData(),
                       Column("version_num", String(32), nullable=False),
                       PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


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
    """The revision stored in ``alembic_version``, or None for an unversioned database.

    One ``SELECT`` when the table exists (every boot but the first); only when it fails is
    the table looked for, so a lost connection still raises.
    """
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            connection.rollback()
            if inspect(connection).has_table("alembic_version"):
                raise
            return None


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
    with migration_lock(engine):
        before = current_revision(engine)
        if before == HEAD_REVISION:
            return HEAD_REVISION
        if before is None and not inspect(engine).get_table_names():
            log.info("creating the database schema at %s", HEAD_REVISION)
            create_schema(engine)
            return HEAD_REVISION
        return run_migrations(engine, before)


def create_schema(engine: Engine) -> None:
    """Every table from the models, and the revision row, on an empty database."""
    from sqlmodel import SQLModel

    import oneapi.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    with engine.begin() as connection:
        SQLModel.metadata.create_all(connection)
        _VERSION_TABLE.create(connection)
        connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))


def run_migrations(engine: Engine, before: str | None) -> str:
    """Alembic's upgrade to head, from ``before`` (None: unversioned, one-api's tables adopted)."""
    from alembic import command

    head = head_revision()
    if before is None:
        log.info("migrating the database schema to %s (adopting any existing one-api tables)", head)
    else:
        log.info("migrating the database schema from %s to %s", before, head)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    return head
