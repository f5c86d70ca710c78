"""The relay's in-memory view of the database: tokens, users, channels, abilities, options.

The hot path reads only this snapshot. It is loaded at start, reloaded every
``SYNC_FREQUENCY`` seconds and, for the tables it names, at once when an admin write calls
``runtime.data_changed(...)``. Remaining quota lives here too: requests adjust it on the
event loop (check and change with no ``await`` between, so they are atomic) and the batch
writer carries the deltas to the database. A reload therefore shows the database value
plus the deltas not flushed yet, and it never overlaps a flush (both hold the writer's
I/O lock), so nothing is counted twice or lost.

Reloads update cached objects in place, so a request that holds a token or user while a
reload happens settles against the object the next request will see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from oneapi.channel_types import ChannelType, channel_type
from oneapi.db.background import run_in_background
from oneapi.db.engine import Database, DatabaseUnavailable
from oneapi.db.models import Ability, Channel, Option, Status, Token, User
from oneapi.errors import ServiceUnavailable
from oneapi.options import options
from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from oneapi.db.writer import BatchWriter
    from oneapi.runtime import Runtime

__all__ = ("CachedChannel", "CachedToken", "CachedUser", "RelayCache", "Tier", "cached_channel")

log = logging.getLogger("oneapi.cache")

_MISS_MEMORY = 5.0  # seconds a key not found in the database stays "unknown"
_MISS_LIMIT = 10_000
_LOOKUPS_PER_SECOND = 20  # database look-ups for keys the snapshot lacks (guessed keys cost little)


@dataclass(slots=True, eq=False)
class CachedUser:
    id: int
    username: str
    role: int
    status: int
    group: str
    quota: int


@dataclass(slots=True, eq=False)
class CachedToken:
    id: int
    user_id: int
    key: str
    name: str
    status: int
    expired_time: int
    remain_quota: int
    unlimited_quota: bool
    models: frozenset[str] | None
    subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None
    rpm_limit: int = 0
    tpm_limit: int = 0


@dataclass(slots=True, eq=False)
class CachedChannel:
    id: int
    type: int
    name: str
    status: int
    keys: tuple[str, ...]
    base_url: str
    weight: int
    priority: int
    models: tuple[str, ...]
    groups: tuple[str, ...]
    model_mapping: dict[str, str]
    config: dict[str, Any]
    other: str
    system_prompt: str
    kind: ChannelType = field(repr=False)
    _next_key: int = 0

    def next_key(self) -> str:
        """The channel's keys (one per line) in rotation."""
        if not self.keys:
            return ""
        index = self._next_key % len(self.keys)
        self._next_key = index + 1
        return self.keys[index]

    def upstream_model(self, model: str) -> str:
        mapped = self.model_mapping.get(model)
        return mapped if isinstance(mapped, str) and mapped else model


@dataclass(slots=True)
class Tier:
    """Channels sharing one priority, with their weights (0 counts as 1)."""

    priority: int
    channels: list[CachedChannel]
    weights: list[int]


def _split(text: str | None, sep: str = ",") -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(sep) if part.strip())


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _subnets(text: str | None) -> tuple[Any, ...] | None:
    parts = _split(text)
    if not parts:
        return None
    networks = []
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            log.warning("ignoring invalid subnet %r on a token", part)
    return tuple(networks)


def cached_channel(row: Channel) -> CachedChannel:
    """A channel row as the relay uses it (also used by the channel probe)."""
    keys = tuple(line.strip() for line in (row.key or "").splitlines() if line.strip())
    return CachedChannel(
        id=row.id or 0, type=row.type or 0, name=row.name or "", status=row.status or 0, keys=keys,
        base_url=(row.base_url or "").strip().rstrip("/"), weight=max(int(row.weight or 0), 0),
        priority=int(row.priority or 0), models=_split(row.models), groups=_split(row.group) or ("default",),
        model_mapping={k: v for k, v in _json_object(row.model_mapping).items() if isinstance(v, str)},
        config=_json_object(row.config), other=row.other or "", system_prompt=row.system_prompt or "",
        kind=channel_type(row.type or 0),
    )


def _cached_token(row: Token) -> CachedToken:
    models = _split(row.models)
    return CachedToken(id=row.id or 0, user_id=row.user_id, key=row.key, name=row.name or "",
                       status=row.status or 0,
                       expired_time=int(row.expired_time if row.expired_time is not None else -1),
                       remain_quota=int(row.remain_quota or 0), unlimited_quota=bool(row.unlimited_quota),
                       models=frozenset(models) if models else None, subnets=_subnets(row.subnet),
                       rpm_limit=int(row.rpm_limit or 0), tpm_limit=int(row.tpm_limit or 0))


def _cached_user(row: User) -> CachedUser:
    return CachedUser(id=row.id or 0, username=row.username, role=row.role or 0, status=row.status or 0,
                      group=row.group or "default", quota=int(row.quota or 0))


TABLES = frozenset(("tokens", "users", "channels", "abilities", "options"))


@dataclass
class _Loaded:
    """The tables read by one reload; None for a table left as it was."""

    tokens: list[Token] | None = None
    users: list[User] | None = None
    channels: list[Channel] | None = None
    abilities: list[Ability] | None = None
    options: dict[str, str] | None = None


def _load(database: Database, tables: frozenset[str]) -> _Loaded:
    loaded = _Loaded()
    with database.session(expire_on_commit=False) as session:
        if "tokens" in tables:
            loaded.tokens = list(session.scalars(select(Token)))
        if "users" in tables:
            loaded.users = list(session.scalars(select(User)))
        if "channels" in tables:
            loaded.channels = list(session.scalars(select(Channel)))
            loaded.abilities = list(session.scalars(select(Ability).where(col(Ability.enabled) == True)))  # noqa: E712
        if "options" in tables:
            loaded.options = {row.key: row.value or "" for row in session.scalars(select(Option))}
    return loaded


def tables_for(kinds: Iterable[str]) -> frozenset[str]:
    """The tables a reload reads after a change to ``kinds`` (every table for unknown kinds).

    A table comes with the one its rows point at: abilities with channels, tokens with
    users (a new token may belong to a user this snapshot has not seen yet).
    """
    tables = set(kinds)
    if not tables or not tables <= TABLES:
        return TABLES
    if "abilities" in tables:
        tables.add("channels")
    if "tokens" in tables:
        tables.add("users")
    return frozenset(tables)


def _load_token(database: Database, key: str) -> tuple[Token, User] | None:
    with database.session(expire_on_commit=False) as session:
        token = session.scalars(select(Token).where(col(Token.key) == key)).first()
        if token is None:
            return None
        user = session.get(User, token.user_id)
        return (token, user) if user is not None else None


class RelayCache:
    """A runtime component holding the snapshot and reloading it."""

    def __init__(self, database: Database, writer: BatchWriter) -> None:
        self.database = database
        self.writer = writer
        self.tokens: dict[str, CachedToken] = {}
        self.tokens_by_id: dict[int, CachedToken] = {}
        self.users: dict[int, CachedUser] = {}
        self.channels: dict[int, CachedChannel] = {}
        self.abilities: dict[tuple[str, str], list[Tier]] = {}
        self.wildcards: dict[str, list[tuple[str, list[Tier]]]] = {}
        self.loaded_at = 0.0
        self._misses: dict[str, float] = {}
        self._lookup_window = (0, 0)  # (second, look-ups in it)
        self._lookups: dict[str, asyncio.Future[CachedToken | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._interval = 60.0

    # -- lifecycle ------------------------------------------------------------------
    async def start(self, runtime: Runtime) -> None:
        self._interval = float(runtime.settings.sync_frequency)
        await self.reload()
        runtime.on_data_changed(self._on_change)
        self._task = asyncio.create_task(self._sync_forever(), name="relay-cache-sync")

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None

    async def _on_change(self, kinds: tuple[str, ...]) -> None:
        await self.reload(tables_for(kinds))

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.reload()
            except Exception:
                log.exception("cache reload failed; keeping the previous snapshot")

    # -- loading --------------------------------------------------------------------
    async def reload(self, tables: frozenset[str] = TABLES) -> None:
        """Read ``tables`` and apply them together with the deltas not yet flushed."""
        async with self.writer.io_lock:
            loaded = await run_in_background(_load, self.database, tables)
            self._apply(loaded)

    def _apply(self, loaded: _Loaded) -> None:
        pending_tokens, pending_users = self.writer.pending_quota()
        if loaded.users is not None:
            users: dict[int, CachedUser] = {}
            for user_row in loaded.users:
                user = _cached_user(user_row)
                user.quota += pending_users.get(user.id, 0)
                users[user.id] = _update(self.users.get(user.id), user)
            self.users = users
        if loaded.tokens is not None:
            tokens: dict[str, CachedToken] = {}
            by_id: dict[int, CachedToken] = {}
            for token_row in loaded.tokens:
                fresh_token = _cached_token(token_row)
                fresh_token.remain_quota += pending_tokens.get(fresh_token.id, 0)
                token = _update(self.tokens_by_id.get(fresh_token.id), fresh_token)
                tokens[token.key] = token
                by_id[token.id] = token
            self.tokens, self.tokens_by_id = tokens, by_id
        if loaded.channels is not None and loaded.abilities is not None:
            channels: dict[int, CachedChannel] = {}
            for channel_row in loaded.channels:
                channel = cached_channel(channel_row)
                old = self.channels.get(channel.id)
                if old is not None and old.keys == channel.keys:
                    channel._next_key = old._next_key
                channels[channel.id] = channel
            self.channels = channels
            self.abilities, self.wildcards = _index(loaded.abilities, channels)
        if loaded.options is not None:
            options.replace(loaded.options)
        self._misses.clear()
        if loaded.tokens is not None and loaded.users is not None and loaded.options is not None:
            self.loaded_at = time.time()

    # -- lookups --------------------------------------------------------------------
    async def token_for_key(self, key: str) -> CachedToken | None:
        """The token for ``key``; a key this snapshot lacks is looked up once in the database.

        The fallback covers tokens created by another process since the last reload.
        Concurrent requests with the same new key share one look-up; a key that is not
        there either is remembered as unknown for a few seconds, and at most
        ``_LOOKUPS_PER_SECOND`` distinct keys are looked up each second (guessed keys
        cost little).

        Raises:
            ServiceUnavailable: the database could not be asked. The snapshot cannot tell a
                key created since the last reload from a wrong one, so this is a 503 the
                client may retry, not a 401 that would reject a valid new key for good.
        """
        token = self.tokens.get(key)
        if token is not None:
            return token
        pending = self._lookups.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        missed_at = self._misses.get(key)
        if missed_at is not None and time.monotonic() - missed_at < _MISS_MEMORY:
            return None
        second, count = self._lookup_window
        now = int(time.monotonic())
        if now == second and count >= _LOOKUPS_PER_SECOND:
            return None  # a flood of unknown keys: answer 401 without asking the database
        self._lookup_window = (now, count + 1) if now == second else (now, 1)
        lookup = asyncio.ensure_future(self._look_up(key))
        self._lookups[key] = lookup
        lookup.add_done_callback(lambda _: self._lookups.pop(key, None))
        return await asyncio.shield(lookup)

    async def _look_up(self, key: str) -> CachedToken | None:
        try:
            found = await asyncio.to_thread(_load_token, self.database, key)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            log.warning("looking up a key not in the cache failed: %s", type(exc).__name__)
            raise ServiceUnavailable("the database is unavailable, so this API key cannot be checked "
                                     "right now; try again shortly") from None
        if found is None:
            if len(self._misses) >= _MISS_LIMIT:
                self._misses.clear()
            self._misses[key] = time.monotonic()
            return None
        token = self.tokens.get(key)  # a reload may have landed meanwhile
        if token is not None:
            return token
        pending_tokens, pending_users = self.writer.pending_quota()
        token = _cached_token(found[0])
        token.remain_quota += pending_tokens.get(token.id, 0)
        if token.user_id not in self.users:
            user = _cached_user(found[1])
            user.quota += pending_users.get(user.id, 0)
            self.users[user.id] = user
        self.tokens[key] = token
        self.tokens_by_id[token.id] = token
        return token

    def tiers(self, group: str, model: str) -> list[Tier]:
        """Priority tiers (highest first) of enabled channels serving ``model`` to ``group``."""
        found = self.abilities.get((group, model))
        if found is not None:
            return found
        for prefix, tiers in self.wildcards.get(group, ()):
            if model.startswith(prefix):
                return tiers
        return []

    def models_for_group(self, group: str) -> list[str]:
        models = {model for (g, model) in self.abilities if g == group}
        models.update(prefix + "*" for prefix, _ in self.wildcards.get(group, ()))
        return sorted(models)


def _update(old: Any, fresh: Any) -> Any:
    """Copy ``fresh``'s fields into ``old`` (keeping its identity) or return ``fresh``."""
    if old is None:
        return fresh
    for name in fresh.__slots__:
        setattr(old, name, getattr(fresh, name))
    return old


def _index(abilities: Iterable[Ability], channels: dict[int, CachedChannel]
           ) -> tuple[dict[tuple[str, str], list[Tier]], dict[str, list[tuple[str, list[Tier]]]]]:
    grouped: dict[tuple[str, str], dict[int, list[CachedChannel]]] = {}
    for ability in abilities:
        channel = channels.get(ability.channel_id)
        if channel is None or channel.status != Status.ENABLED:
            continue
        by_priority = grouped.setdefault((ability.group, ability.model), {})
        by_priority.setdefault(int(ability.priority or 0), []).append(channel)
    exact: dict[tuple[str, str], list[Tier]] = {}
    wildcards: dict[str, list[tuple[str, list[Tier]]]] = {}
    for (group, model), by_priority in grouped.items():
        tiers = [Tier(priority, members, [max(c.weight, 1) for c in members])
                 for priority, members in sorted(by_priority.items(), reverse=True)]
        if model.endswith("*"):
            wildcards.setdefault(group, []).append((model[:-1], tiers))
        else:
            exact[(group, model)] = tiers
    for entries in wildcards.values():
        entries.sort(key=lambda entry: len(entry[0]), reverse=True)  # most specific first
    return exact, wildcards
