"""The batch writer: settlements (quota charges and log rows), written together every few seconds.

Requests never wait on the database. A settled request hands its charge and log row to
the writer, which appends it to this process's settlement journal (:mod:`oneapi.db.journal`,
one ``write`` before the answer's last byte, so a ``kill -9`` loses nothing), sums the
charges per row and, every ``BATCH_UPDATE_INTERVAL`` seconds, writes them in one
transaction from the background thread (:mod:`oneapi.db.background`) with
``col = col + :delta`` (never read-modify-write, so other processes' writes are never
overwritten). That transaction also records how far the journal is written, and the
journal's sealed segments are deleted after it commits; at boot, :meth:`BatchWriter.start`
writes the journals dead processes left behind.

Reservations (quota held while a request is upstream) are *held* in memory only: they
reach this process's caches (and, through :meth:`BatchWriter.pending_quota`, every cache
reload) but never the database, so a crash cannot leave a request that was never answered
charged for its reservation; only settlements are written. The price: another replica
never sees them (before, it saw those of requests running longer than a flush plus its
reload), so without Redis a token's long-running requests can be over-granted by their
reservations across replicas; with Redis the shared counters hold them.

A failed flush (database down) keeps everything for the next tick; log rows are capped
so a long outage cannot exhaust memory, quota deltas are one entry per row and always
kept. ``stop()`` flushes until empty, and the Lambda handler awaits
:meth:`BatchWriter.flush` before it returns.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, insert, inspect, text
from sqlmodel import Session

from oneapi.db.background import run_in_background
from oneapi.db.engine import Database
from oneapi.db.journal import Journal, Settlement, dead_journals, read_settlements, remove_journal
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
_MARK_UPDATE = text("UPDATE settlement_journals SET seq = :seq WHERE journal = :journal")
_MARK_INSERT = text("INSERT INTO settlement_journals (journal, seq) VALUES (:journal, :seq)")
_MARK_SELECT = text("SELECT seq FROM settlement_journals WHERE journal = :journal")
_MARK_DELETE = text("DELETE FROM settlement_journals WHERE journal = :journal")


@dataclass
class _Batch:
    tokens: dict[int, list[int]] = field(default_factory=dict)  # id -> [remain, used, accessed]
    users: dict[int, list[int]] = field(default_factory=dict)  # id -> [quota, used, requests]
    channels: dict[int, int] = field(default_factory=dict)  # id -> used
    logs: list[dict[str, Any]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.tokens or self.users or self.channels or self.logs)

    def add(self, settlement: Settlement) -> None:
        used = settlement.used
        token = self.tokens.setdefault(settlement.token_id, [0, 0, 0])
        token[0] += settlement.token_remain
        token[1] += used
        token[2] = max(token[2], settlement.at)
        user = self.users.setdefault(settlement.user_id, [0, 0, 0])
        user[0] -= used
        user[1] += used
        user[2] += 1
        if used and settlement.channel_id:
            self.channels[settlement.channel_id] = self.channels.get(settlement.channel_id, 0) + used
        if settlement.log is not None:
            self.logs.append(settlement.log)

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


def _write(engine: Engine, batch: _Batch, mark: tuple[str, int] | None) -> None:
    """Write ``batch``; with ``mark`` (journal id, sequence number), record that journal as
    written up to that record in the same transaction."""
    with Session(engine) as session:
        connection = session.connection()
        if mark is not None:
            connection.execute(_MARK_UPDATE, {"journal": mark[0], "seq": mark[1]})
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
                                         for row in logs])
        return
    for start in range(0, len(logs), _ROWS_PER_STATEMENT):
        chunk = logs[start:start + _ROWS_PER_STATEMENT]
        values = tuple([row.get(key, default) for row in chunk for key, default in fields])
        connection.exec_driver_sql(_rows_statement(sql, len(chunk)), values)


def _open_journal(engine: Engine, directory: Path) -> Journal:
    """This process's journal, registered in the database (sequence 0) before it takes a record.

    The registration tells a later replay that the journal belongs to *this* database: one
    found in the directory without a row here was left by a gateway on another database
    (two sharing a directory) or before the database was recreated, and is not written.
    """
    journal = Journal(directory)
    try:
        with engine.begin() as connection:
            connection.execute(_MARK_INSERT, {"journal": journal.id, "seq": 0})
    except Exception:
        journal.close(written=True)
        raise
    return journal


def _forget(engine: Engine, journal: str) -> None:
    """Delete a journal's row once its files are gone (a leftover row would only take space)."""
    with engine.begin() as connection:
        connection.execute(_MARK_DELETE, {"journal": journal})


def _replay(engine: Engine, directory: Path) -> int:
    """Write what the journals of dead processes in ``directory`` hold and the database lacks."""
    replayed = 0
    with dead_journals(directory) as journals:
        for journal, paths in journals:
            with engine.connect() as connection:
                done = connection.execute(_MARK_SELECT, {"journal": journal}).scalar()
            if done is None:
                log.warning("settlement journal %s in %s is another database's; left alone", journal,
                            directory)
                continue
            batch, last = _Batch(), done
            for settlement in read_settlements(paths):
                if settlement.seq > done:
                    batch.add(settlement)
                    last = max(last, settlement.seq)
                    replayed += 1
            if not batch.empty():
                _write(engine, batch, (journal, last))
            remove_journal(directory, journal, paths)
            _forget(engine, journal)
    return replayed


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
    table = inspect(Log).local_table.columns
    columns = [column.key for column in table if not column.primary_key]
    compiled = insert(Log).compile(dialect=dialect, column_keys=columns)
    fields = tuple((key, table[key].default.arg if table[key].default is not None else None)
                   for key in (compiled.positiontup or () if compiled.positional else compiled.params))
    return str(compiled), fields, not compiled.positional


class BatchWriter:
    """A runtime component; register it first so it stops (and flushes) last."""

    def __init__(self, database: Database, interval: float = 2.0) -> None:
        self.database = database
        self.interval = interval
        self.io_lock = asyncio.Lock()  # one flush or cache reload at a time
        self.journal: Journal | None = None  # opened by start(); until then settlements are in memory only
        self._pending = _Batch()
        self._in_flight: _Batch | None = None
        self._held_tokens: dict[int, int] = {}  # id -> quota reserved by requests still running
        self._held_users: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._dropped_logs = 0
        self.failing = False  # the last flush failed (database unreachable); for /metrics
        self._journal_failing = False

    # -- producers (event loop, never awaiting) ---------------------------------------
    def hold(self, token_id: int, user_id: int, amount: int) -> None:
        """Count ``amount`` as reserved (negative: released) by a request of this token and user."""
        _add(self._held_users, user_id, amount)
        _add(self._held_tokens, token_id, amount)

    def held_by_user(self, user_id: int) -> int:
        """Quota reserved by this user's requests still running."""
        return self._held_users.get(user_id, 0)

    def settle(self, token_id: int, limited: bool, user_id: int, used: int, channel_id: int,
               log_row: dict[str, Any] | None) -> None:
        """Charge ``used`` to the token (its remaining quota only if ``limited``), the user and the
        channel, with the request's log row; journaled before this returns.

        The writer keeps ``log_row`` itself, so the caller must not change it.
        """
        settlement = Settlement(0, token_id, -used if limited else 0, user_id, used, channel_id,
                                int(time.time()), log_row)
        if self.journal is not None:
            try:
                self.journal.append(settlement)
            except OSError as exc:
                self._journal_failed(self.journal, exc)
            else:
                if self._journal_failing:
                    self._journal_failing = False
                    log.warning("the settlement journal takes records again")
        if log_row is not None and len(self._pending.logs) >= MAX_PENDING_LOGS:
            del self._pending.logs[0]
            self._dropped_logs += 1
        self._pending.add(settlement)

    def _journal_failed(self, journal: Journal, exc: OSError) -> None:
        """Keep serving: the settlement stays in memory (written at the next flush), logged once."""
        if not self._journal_failing:
            self._journal_failing = True
            log.error("cannot append to the settlement journal in %s (%s): until it works again, a crash "
                      "loses the settlements not yet in the database", journal.directory, exc)

    def pending_quota(self) -> tuple[dict[int, int], dict[int, int]]:
        """Remaining-quota deltas of tokens and users not in the database: unwritten charges and
        held reservations (for cache reloads)."""
        tokens = {k: v[0] for k, v in self._pending.tokens.items()}
        users = {k: v[0] for k, v in self._pending.users.items()}
        if self._in_flight is not None:
            for key, row in self._in_flight.tokens.items():
                tokens[key] = tokens.get(key, 0) + row[0]
            for key, row in self._in_flight.users.items():
                users[key] = users.get(key, 0) + row[0]
        for key, amount in self._held_tokens.items():
            tokens[key] = tokens.get(key, 0) - amount
        for key, amount in self._held_users.items():
            users[key] = users.get(key, 0) - amount
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
            mark = self._seal_journal()
            try:
                await run_in_background(_write, self.database.engine, batch, mark)
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
            if self.journal is not None:
                self.journal.discard_sealed()
            self.failing = False
            if self._dropped_logs:
                log.error("dropped %d log row(s) while the database was unavailable", self._dropped_logs)
                self._dropped_logs = 0
            return True

    def _seal_journal(self) -> tuple[str, int] | None:
        """The journal's mark for the batch being flushed: its id and the last record the batch has."""
        if self.journal is None:
            return None
        try:
            return self.journal.id, self.journal.seal()
        except OSError as exc:
            self._journal_failed(self.journal, exc)
            return self.journal.id, self.journal.seq

    async def start(self, runtime: Runtime) -> None:
        """Write what dead processes' journals hold, open this process's journal, start ticking."""
        self.interval = runtime.settings.batch_update_interval
        directory = Path(runtime.settings.journal_directory)
        try:
            replayed = await run_in_background(_replay, self.database.engine, directory)
        except Exception:
            log.exception("could not write the settlement journals left in %s; they are kept for the next "
                          "boot", directory)
        else:
            if replayed:
                log.warning("wrote %d settlement(s) that a process which did not stop cleanly left in its "
                            "journal (%s)", replayed, directory)
        try:
            self.journal = await run_in_background(_open_journal, self.database.engine, directory)
        except Exception as exc:
            log.error("cannot open a settlement journal in %s (%s): a crash will lose the settlements not "
                      "yet in the database; set JOURNAL_DIR to a writable directory", directory, exc)
        self._task = asyncio.create_task(self._flush_forever(), name="batch-writer")

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def stop(self) -> None:
        """Stop ticking and write everything; retry briefly if the database hiccups.

        What could not be written stays in the journal, which the next boot writes.
        """
        await stop_tasks(self._task)
        self._task = None
        written = False
        for attempt in range(5):
            if written := await self.flush():
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        else:
            log.error("could not write %d pending log row(s) before exit; the next boot writes them from "
                      "the settlement journal", self.pending_logs)
        journal, self.journal = self.journal, None
        if journal is not None:
            journal.close(written=written)
            if written:
                await run_in_background(_forget, self.database.engine, journal.id)


def _add(amounts: dict[int, int], key: int, amount: int) -> None:
    total = amounts.get(key, 0) + amount
    if total:
        amounts[key] = total
    else:
        amounts.pop(key, None)
