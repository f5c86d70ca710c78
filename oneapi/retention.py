"""Retention: delete log rows older than the ``LogRetentionDays`` option (0 keeps all), and
stored Responses API answers older than ``ResponseRetentionDays`` (30 by default, as OpenAI).

Runs shortly after start and then every hour, on one replica only: with Redis the
replica that sets the lock key (``SET NX`` with a lifetime of one interval) does the
work for that interval; without Redis a database lock decides (PostgreSQL advisory
lock, MySQL ``GET_LOCK``; SQLite serves one process). A lock call that fails on its way
skips the pass: it may have set the key, and the database lock would not keep this
replica from running after the one that holds it. Rows are deleted in batches so
a large backlog never holds a long lock on the logs table.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, TextClause, text

from oneapi.db.background import run_in_background
from oneapi.db.engine import Database
from oneapi.options import options
from oneapi.redis_state import RedisUnavailable
from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from oneapi.redis_state import SharedState
    from oneapi.runtime import Runtime

__all__ = ("LogRetention", "delete_old_rows")

log = logging.getLogger("oneapi.retention")

INTERVAL_SECONDS = 3600.0
FIRST_RUN_DELAY = 5.0
_BATCH = 5000
_PG_LOCK_KEY = 0x0_4E_E4_A2
_MYSQL_LOCK = "oneapi_log_retention"


_TABLES = (("logs", "LogRetentionDays", 0), ("responses", "ResponseRetentionDays", 30))  # option, default


def _delete_batches(connection: Connection, table: str, cutoff: int) -> int:
    deleted = 0
    dialect = connection.dialect.name
    while True:
        if dialect == "mysql":
            statement = text(f"DELETE FROM {table} WHERE created_at < :cutoff LIMIT :batch")
        else:
            statement = text(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
                             "WHERE created_at < :cutoff LIMIT :batch)")
        count = connection.execute(statement, {"cutoff": cutoff, "batch": _BATCH}).rowcount or 0
        connection.commit()
        deleted += count
        if count < _BATCH:
            return deleted


def _delete_expired(connection: Connection, days: dict[str, int]) -> dict[str, int]:
    now = int(time.time())
    return {table: _delete_batches(connection, table, now - kept * 86400) for table, kept in days.items()}


def delete_old_rows(database: Database, days: dict[str, int], *,
                    database_lock: bool) -> dict[str, int] | None:
    """Delete each table's rows older than its ``days``; None when another replica holds the lock."""
    with database.engine.connect() as connection:
        dialect = connection.dialect.name
        if not database_lock or dialect == "sqlite":
            return _delete_expired(connection, days)
        release: tuple[TextClause, dict[str, Any]]
        if dialect == "postgresql":
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                     {"key": _PG_LOCK_KEY}).scalar()
            release = text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY}
        else:
            got = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": _MYSQL_LOCK}).scalar() == 1
            release = text("SELECT RELEASE_LOCK(:name)"), {"name": _MYSQL_LOCK}
        connection.commit()
        if not got:
            return None
        try:
            return _delete_expired(connection, days)
        finally:
            connection.execute(*release)
            connection.commit()


class LogRetention:
    """A runtime component running :func:`delete_old_logs` on one replica per interval."""

    def __init__(self, database: Database, shared: SharedState | None = None,
                 interval: float = INTERVAL_SECONDS, first_delay: float = FIRST_RUN_DELAY) -> None:
        self.database = database
        self.shared = shared
        self.interval = interval
        self.first_delay = first_delay
        self._task: asyncio.Task[None] | None = None

    async def start(self, runtime: Runtime) -> None:
        if runtime.settings.on_lambda:
            return  # no background work between Lambda events
        self._task = asyncio.create_task(self._run_forever(), name="log-retention")

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None

    async def _run_forever(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                log.warning("log retention failed: %s", type(exc).__name__)
            await asyncio.sleep(self.interval)

    async def run_once(self) -> dict[str, int] | None:
        """One pass; the number of rows deleted per table, or None when skipped."""
        days = {table: options.get_int(option, default) for table, option, default in _TABLES}
        days = {table: kept for table, kept in days.items() if kept > 0}
        if not days:
            return None
        database_lock = True
        if self.shared is not None and self.shared.available:
            key = self.shared.key("lock", "log-retention")
            ttl = max(int(self.interval), 1)
            try:
                won = await self.shared.call(lambda client: client.set(key, "1", nx=True, ex=ttl))
            except RedisUnavailable:
                # the call failed on its way: it may have set the lock, and the replica holding it
                # takes no database lock, so this pass is skipped rather than run beside it
                return None
            if not won:
                return None
            database_lock = False
        deleted = await run_in_background(partial(delete_old_rows, self.database, days,
                                                  database_lock=database_lock))
        for table, count in (deleted or {}).items():
            if table == "logs" or count:
                log.info("log retention: deleted %d %s row(s) older than %d day(s)", count, table.rstrip("s"),
                         days[table])
        return deleted
