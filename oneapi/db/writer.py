"""The batch writer: consume logs and quota changes, written together every few seconds.

Requests never wait on the database. They hand their log row and quota deltas to the
writer, which sums the deltas per row and, every ``BATCH_UPDATE_INTERVAL`` seconds,
writes them in one transaction from the background thread (:mod:`oneapi.db.background`)
with ``col = col + :delta`` (never read-modify-write, so other processes' writes are
never overwritten). A failed flush (database down) keeps everything for the next tick;
log rows are capped so a long outage cannot exhaust memory, quota deltas are one entry
per row and always kept. ``stop()`` flushes until empty, and the Lambda handler awaits
:meth:`BatchWriter.flush` before it returns.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, insert, text
from sqlmodel import Session

from oneapi.db.background import run_in_background
from oneapi.db.engine import get_engine
from oneapi.db.models import Log
from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("BatchWriter",)

log = logging.getLogger("oneapi.db.writer")

MAX_PENDING_LOGS = 200_000
_ROWS_PER_STATEMENT = 50  # 17 parameters each: under SQLite's old limit of 999 per statement

_TOKEN_UPDATE = text("UPDATE tokens SET remain_quota = remain_quota + :remain,"
                     " used_quota = used_quota + :used, accessed_time = CASE WHEN accessed_time > :accessed"
                     " THEN accessed_time ELSE :accessed END WHERE id = :id")
_USER_UPDATE = text("UPDATE users SET quota = quota + :quota, used_quota = used_quota + :used,"
                    " request_count = request_count + :requests WHERE id = :id")
_CHANNEL_UPDATE = text("UPDATE channels SET used_quota = used_quota + :used WHERE id = :id")


@dataclass
class _Batch:
    tokens: dict[int, list[int]] = field(default_factory=dict)  # id -> [remain, used, accessed]
    users: dict[int, list[int]] = field(default_factory=dict)  # id -> [quota, used, requests]
    channels: dict[int, int] = field(default_factory=dict)  # id -> used
    logs: list[dict[str, Any]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.tokens or self.users or self.channels or self.logs)

    def absorb(self, other: _Batch) -> None:
        """Add the newer batch ``other`` into this one (a failed flush goes back this way)."""
        for key, (remain, used, accessed) in other.tokens.items():
            row = self.tokens.setdefault(key, [0, 0, 0])
            row[0] += remain
            row[1] += used
            row[2] = max(row[2], accessed)
        for key, (quota, used, requests) in other.users.items():
            row = self.users.setdefault(key, [0, 0, 0])
            row[0] += quota
            row[1] += used
            row[2] += requests
        for key, used in other.channels.items():
            self.channels[key] = self.channels.get(key, 0) + used
        self.logs.extend(other.logs)


def _write(batch: _Batch) -> None:
    engine = get_engine()
    with Session(engine) as session:
        connection = session.connection()
        if batch.tokens:
            connection.execute(_TOKEN_UPDATE, [{"id": k, "remain": v[0], "used": v[1], "accessed": v[2]}
                                               for k, v in batch.tokens.items()])
        if batch.users:
            connection.execute(_USER_UPDATE, [{"id": k, "quota": v[0], "used": v[1], "requests": v[2]}
                                              for k, v in batch.users.items()])
        if batch.channels:
            connection.execute(_CHANNEL_UPDATE, [{"id": k, "used": v} for k, v in batch.channels.items()])
        if batch.logs:
            _insert_logs(connection, engine.dialect, batch.logs)
        session.commit()


def _insert_logs(connection: Connection, dialect: Dialect, logs: list[dict[str, Any]]) -> None:
    """Insert the rows, several per statement where the driver takes positional parameters.

    SQLite lets go of the interpreter lock for every statement it steps and needs it back
    before the next one; while the relay keeps the lock busy, each hand-back waits for the
    switch interval. One statement per row made a flush of thousands of rows fall behind a
    saturated relay; 50 rows per statement take 50 times fewer hand-backs. (psycopg's
    executemany pipelines the rows itself.)
    """
    sql, fields, named = _log_insert(dialect)
    if named:
        connection.exec_driver_sql(sql, [{key: row.get(key, default) for key, default in fields}
                                         for row in logs])  # type: ignore[arg-type]
        return
    for start in range(0, len(logs), _ROWS_PER_STATEMENT):
        chunk = logs[start:start + _ROWS_PER_STATEMENT]
        values = tuple([row.get(key, default) for row in chunk for key, default in fields])
        connection.exec_driver_sql(_rows_statement(sql, len(chunk)), values)


@functools.cache
def _rows_statement(single_row: str, rows: int) -> str:
    """``INSERT ... VALUES (?, ...)`` made to insert ``rows`` rows at once."""
    head, _, values = single_row.partition(" VALUES ")
    return f"{head} VALUES {', '.join([values] * rows)}"


@functools.cache
def _log_insert(dialect: Dialect) -> tuple[str, tuple[tuple[str, Any], ...], bool]:
    """The driver's own INSERT of a log row, its parameters in order with the default each
    takes when a row leaves it out, and whether the driver wants them by name.

    Thousands of rows go in per flush; handing them to the driver directly skips
    SQLAlchemy's per-row parameter processing, which held the interpreter lock for about a
    third of a flush (the relay's requests wait for that lock, not for the database).
    """
    table = Log.__table__.columns
    columns = [column.key for column in table if not column.primary_key]
    compiled = insert(Log.__table__).compile(dialect=dialect, column_keys=columns)
    fields = tuple((key, table[key].default.arg if table[key].default is not None else None)
                   for key in (compiled.positiontup if compiled.positional else compiled.params))
    return str(compiled), fields, not compiled.positional


class BatchWriter:
    """A runtime component; register it first so it stops (and flushes) last."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.io_lock = asyncio.Lock()  # one flush or cache reload at a time
        self._pending = _Batch()
        self._in_flight: _Batch | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped_logs = 0
        self.failing = False  # the last flush failed (database unreachable); for /metrics

    # -- producers (event loop, never awaiting) ---------------------------------------
    def add_token(self, token_id: int, remain: int, used: int) -> None:
        row = self._pending.tokens.setdefault(token_id, [0, 0, 0])
        row[0] += remain
        row[1] += used
        row[2] = int(time.time())

    def add_user(self, user_id: int, quota: int, used: int, requests: int) -> None:
        row = self._pending.users.setdefault(user_id, [0, 0, 0])
        row[0] += quota
        row[1] += used
        row[2] += requests

    def add_channel(self, channel_id: int, used: int) -> None:
        self._pending.channels[channel_id] = self._pending.channels.get(channel_id, 0) + used

    def add_log(self, row: dict[str, Any]) -> None:
        """Queue a log row; the writer keeps ``row`` itself, so the caller must not change it."""
        logs = self._pending.logs
        if len(logs) >= MAX_PENDING_LOGS:
            del logs[0]
            self._dropped_logs += 1
        logs.append(row)

    def pending_quota(self) -> tuple[dict[int, int], dict[int, int]]:
        """Unwritten remaining-quota deltas of tokens and users (for cache reloads)."""
        tokens = {k: v[0] for k, v in self._pending.tokens.items()}
        users = {k: v[0] for k, v in self._pending.users.items()}
        if self._in_flight is not None:
            for key, row in self._in_flight.tokens.items():
                tokens[key] = tokens.get(key, 0) + row[0]
            for key, row in self._in_flight.users.items():
                users[key] = users.get(key, 0) + row[0]
        return tokens, users

    @property
    def pending_logs(self) -> int:
        return len(self._pending.logs) + (len(self._in_flight.logs) if self._in_flight else 0)

    # -- flushing -----------------------------------------------------------------------
    async def flush(self) -> bool:
        """Write everything pending now; False (and kept for later) when the write failed."""
        async with self.io_lock:
            if self._pending.empty():
                return True
            batch, self._pending = self._pending, _Batch()
            self._in_flight = batch
            try:
                await run_in_background(_write, batch)
            except Exception as exc:
                log.warning("batch write failed, keeping %d log row(s) for the next try: %s",
                            len(batch.logs), type(exc).__name__)
                batch.absorb(self._pending)
                self._pending = batch
                self.failing = True
                overflow = len(batch.logs) - MAX_PENDING_LOGS
                if overflow > 0:
                    del batch.logs[:overflow]
                    self._dropped_logs += overflow
                return False
            finally:
                self._in_flight = None
            self.failing = False
            if self._dropped_logs:
                log.error("dropped %d log row(s) while the database was unavailable", self._dropped_logs)
                self._dropped_logs = 0
            return True

    async def start(self, runtime: Runtime) -> None:
        self.interval = runtime.settings.batch_update_interval
        self._task = asyncio.create_task(self._flush_forever(), name="batch-writer")

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def stop(self) -> None:
        """Stop ticking and write everything; retry briefly if the database hiccups."""
        await stop_tasks(self._task)
        self._task = None
        for attempt in range(5):
            if await self.flush():
                return
            await asyncio.sleep(0.2 * (attempt + 1))
        log.error("could not write %d pending log row(s) before exit", self.pending_logs)
