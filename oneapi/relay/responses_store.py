"""Stored Responses API answers, so the API is stateful on channels that are not OpenAI's.

OpenAI keeps every response made with ``store`` (the default) for 30 days; clients build
on that: ``previous_response_id`` continues a conversation, ``item_reference`` input
items name earlier output items (the AI SDK's second step of a tool loop does), and
``GET``/``DELETE /v1/responses/{id}`` read and remove them. A channel of another vendor
knows nothing of it, so the gateway keeps the responses it produced by conversion: the
response, the request's own input items and the id it continued from.

The relay must not wait on the database. :meth:`ResponseStore.put` only queues the row;
one background write (:func:`~oneapi.db.background.run_in_background`) takes whatever
is queued, and rows queued while it runs go out in the next one, so a lone response is
written at once and a burst shares one transaction. Until written, and afterwards while
memory allows (``memory_bytes``, least recently used dropped first), a response is read
from memory, so a client that sends the next step a millisecond later finds it on this
replica. Another replica finds it once the write is done (a few milliseconds), in
the database.

Item ids name their response: ``msg_<response hex>_<n>``, so an ``item_reference`` is
resolved with one primary-key read. Rows belong to the token's user (another user's id
is a 404, as unknown ids are), expire after the ``ResponseRetentionDays`` option (reads
check the age; :mod:`oneapi.retention` deletes the rows), and each user's rows are kept
under ``ResponseStoreUserLimitMB``: the oldest go first when a write passes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import delete, insert, select

from oneapi.db.background import run_in_background
from oneapi.db.engine import Database
from oneapi.db.models import StoredResponse
from oneapi.errors import NotFound
from oneapi.options import options
from oneapi.runtime import stop_tasks

__all__ = ("ResponseStore", "Stored", "response_of_item")

log = logging.getLogger("oneapi.relay.responses")

_TABLE = StoredResponse.__table__  # type: ignore[attr-defined]  # SQLModel sets it, does not declare it
_RETRY_SECONDS = 1.0
MAX_PENDING = 10_000  # responses waiting for an unreachable database; older ones are dropped
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def response_of_item(item_id: str) -> str | None:
    """The response an output item id of this gateway belongs to (``msg_<hex>_<n>``)."""
    _, _, rest = item_id.partition("_")
    hex_id, _, number = rest.rpartition("_")
    return f"resp_{hex_id}" if hex_id and number.isdigit() else None


@dataclass(slots=True)
class Stored:
    """One stored response as the API needs it."""

    id: str
    user_id: int
    created_at: int
    response: dict[str, Any]
    input: list[dict[str, Any]]  # this request's own input items, ids given
    previous_response_id: str | None
    size: int = 0

    def row(self) -> dict[str, Any]:
        data = _encode({"response": self.response, "input": self.input,
                        "previous_response_id": self.previous_response_id})
        self.size = len(data)
        return {"id": self.id, "user_id": self.user_id, "created_at": self.created_at, "size": self.size,
                "data": data.decode()}

    @classmethod
    def from_row(cls, row: Any) -> Stored:
        data = _decode(row.data)
        return cls(row.id, row.user_id, row.created_at, data["response"], data["input"],
                   data.get("previous_response_id"), row.size)


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"No response found with id '{response_id}'.", param="response_id", code=None)


# -- the background thread's side ------------------------------------------------------
def _load(database: Database, response_id: str) -> Stored | None:
    with database.session() as session:
        row = session.execute(select(_TABLE).where(_TABLE.c.id == response_id)).first()
    return Stored.from_row(row) if row is not None else None


def _write(database: Database, rows: list[dict[str, Any]], user_limit: int) -> set[str]:
    """Insert ``rows``; then delete each writer's oldest rows past ``user_limit`` bytes.

    Returns the ids no longer stored (so memory forgets them too).
    """
    dropped = {row["id"] for row in rows if row["size"] > user_limit}
    kept = [row for row in rows if row["id"] not in dropped]
    with database.session() as session:
        connection = session.connection()
        if kept:
            connection.execute(insert(_TABLE), kept)
        for user_id in {row["user_id"] for row in kept}:
            sizes = connection.execute(select(_TABLE.c.id, _TABLE.c.size).where(_TABLE.c.user_id == user_id)
                                       .order_by(_TABLE.c.created_at.desc(), _TABLE.c.id.desc())).all()
            total, over = 0, []
            for response_id, size in sizes:
                total += size or 0
                if total > user_limit:
                    over.append(response_id)
            if over:
                connection.execute(delete(_TABLE).where(_TABLE.c.id.in_(over)))
                dropped.update(over)
        session.commit()
    return dropped


def _delete(database: Database, response_id: str) -> None:
    with database.session() as session:
        session.execute(delete(_TABLE).where(_TABLE.c.id == response_id))
        session.commit()


class ResponseStore:
    """A runtime component: stored responses, in memory first and in the database."""

    def __init__(self, database: Database, memory_bytes: int = 64 * 1024 * 1024) -> None:
        self.database = database
        self.memory_bytes = memory_bytes
        self._recent: OrderedDict[str, Stored] = OrderedDict()
        self._recent_bytes = 0
        self._pending: dict[str, dict[str, Any]] = {}  # id -> row not yet written
        self._writing: asyncio.Task[None] | None = None

    # -- the relay's side (event loop, never waiting on the database) -------------------
    def put(self, stored: Stored) -> None:
        """Keep ``stored``: in memory now, in the database by the background write."""
        row = stored.row()
        self._remember(stored)
        if len(self._pending) >= MAX_PENDING:
            dropped = next(iter(self._pending))
            del self._pending[dropped]
            self._forget(dropped)
            log.error("the database is unreachable: dropped stored response %s", dropped)
        self._pending[stored.id] = row
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._drain(), name="response-store")

    async def get(self, response_id: str, user_id: int) -> Stored:
        """The caller's stored response; :class:`NotFound` when unknown, another user's or expired."""
        stored = self._recent.get(response_id)
        if stored is None:
            stored = await run_in_background(_load, self.database, response_id)
            if stored is not None:
                self._remember(stored)
        else:
            self._recent.move_to_end(response_id)
        days = options.get_int("ResponseRetentionDays", 30)
        if stored is None or stored.user_id != user_id or (
                days > 0 and stored.created_at < time.time() - days * 86400):
            raise _not_found(response_id)
        return stored

    async def delete(self, response_id: str, user_id: int) -> None:
        await self.get(response_id, user_id)
        self._forget(response_id)
        self._pending.pop(response_id, None)
        await run_in_background(_delete, self.database, response_id)

    async def conversation(self, previous_id: str, user_id: int) -> list[dict[str, Any]]:
        """The items ``previous_id`` continued from, then its input and output, oldest first."""
        chain: list[Stored] = []
        next_id: str | None = previous_id
        while next_id:
            stored = await self.get(next_id, user_id)
            chain.append(stored)
            next_id = stored.previous_response_id
        items: list[dict[str, Any]] = []
        for stored in reversed(chain):
            items += stored.input
            items += stored.response.get("output") or []
        return items

    async def item(self, item_id: str, user_id: int) -> dict[str, Any] | None:
        """An output item of a stored response of the caller's, by its id."""
        response_id = response_of_item(item_id)
        if response_id is None:
            return None
        try:
            stored = await self.get(response_id, user_id)
        except NotFound:
            return None
        return next((item for item in stored.response.get("output") or () if item.get("id") == item_id), None)

    # -- memory ---------------------------------------------------------------------------
    def _remember(self, stored: Stored) -> None:
        self._forget(stored.id)
        self._recent[stored.id] = stored
        self._recent_bytes += stored.size
        while self._recent_bytes > self.memory_bytes and len(self._recent) > 1:
            oldest = next(iter(self._recent))
            if oldest in self._pending:  # not written yet: memory is its only copy
                break
            self._forget(oldest)

    def _forget(self, response_id: str) -> None:
        stored = self._recent.pop(response_id, None)
        if stored is not None:
            self._recent_bytes -= stored.size

    # -- writing ----------------------------------------------------------------------------
    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                limit = options.get_int("ResponseStoreUserLimitMB", 100) * 1024 * 1024
                try:
                    dropped = await run_in_background(_write, self.database, list(batch.values()), limit)
                except Exception as exc:
                    log.warning("storing %d response(s) failed, retrying: %s", len(batch), type(exc).__name__)
                    self._pending = {**batch, **self._pending}
                    await asyncio.sleep(_RETRY_SECONDS)
                    continue
                for response_id in dropped:
                    self._forget(response_id)
        finally:
            self._writing = None

    async def flush(self) -> None:
        """Wait until everything queued is written (shutdown, Lambda, tests)."""
        while self._writing is not None:
            await asyncio.shield(self._writing)

    async def start(self, runtime: Any) -> None:
        return None

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.flush(), 10)
        except TimeoutError:
            log.error("could not store %d response(s) before exit", len(self._pending))
            await stop_tasks(self._writing)
