"""Redis as the replicas' shared fast state: change fan-out, shared counters, one-replica locks.

Enabled whenever ``REDIS_CONN_STRING`` is set. Every call has a tight timeout
(``REDIS_TIMEOUT``) and no client-side retries, so a slow or dead Redis costs a request
at most one timeout, once: the first failure marks Redis down, and from then on callers
skip it at once and use their local state. A watcher pings every second; when Redis
answers again it is marked up (logged once each way), the change channel is subscribed
again and every ``on_resync`` callback runs, so caches reload what they may have missed.

Admin writes call ``runtime.data_changed(...)``; this module publishes them on
``<prefix>changes`` and replays other replicas' messages into the same
``runtime.data_changed`` on this replica (not published again), so an admin change on
one replica reaches every replica well within a second.

The ``redis`` package is imported by :class:`SharedState` itself, not at the top: the
relay imports :class:`RedisUnavailable` and :class:`Script` whether or not Redis is
configured, and without Redis the client library (about 7 MB and 40-60 ms) stays unloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from oneapi.runtime import stop_tasks

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    from oneapi.runtime import Runtime

__all__ = ("RedisUnavailable", "Script", "SharedState")

log = logging.getLogger("oneapi.redis")

T = TypeVar("T")

_WATCH_INTERVAL = 1.0
_replaying: contextvars.ContextVar[bool] = contextvars.ContextVar("replaying_remote_change", default=False)


class RedisUnavailable(Exception):
    """Redis is not configured or is down; the caller uses its local state."""


class Script:
    """A Lua script sent by its SHA1, loaded into Redis on first use and after Redis restarts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, client: Redis, keys: Sequence[str], args: Sequence[object]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]
        except NoScriptError:
            await client.script_load(self.text)
            return await client.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]


class SharedState:
    """A runtime component; ``available`` tells callers whether to use Redis right now."""

    def __init__(self, url: str, prefix: str = "oneapi:", timeout: float = 0.25) -> None:
        from redis.exceptions import RedisError

        self._failures = (RedisError, OSError, TimeoutError)
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.available = False
        self.origin = os.urandom(6).hex()  # tells this replica's own messages apart
        self.client: Redis | None = None
        self._pubsub_client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._runtime: Runtime | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._resync: list[Callable[[], Awaitable[None]]] = []

    @property
    def changes_channel(self) -> str:
        return self.prefix + "changes"

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` each time Redis comes back after being down."""
        self._resync.append(callback)

    # -- lifecycle ------------------------------------------------------------------
    async def start(self, runtime: Runtime) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._runtime = runtime
        no_retry = Retry(NoBackoff(), 0)
        self.client = Redis.from_url(self.url, socket_timeout=self.timeout,
                                     socket_connect_timeout=self.timeout, retry=no_retry,
                                     retry_on_timeout=False, max_connections=256, health_check_interval=0)
        # Pub/sub waits for messages without a socket timeout; it is never on a request's path.
        self._pubsub_client = Redis.from_url(self.url, socket_connect_timeout=self.timeout, retry=no_retry)
        runtime.on_data_changed(self._publish)
        if await self._connect():
            log.info("redis: connected (%s)", self.describe())
        else:
            log.warning("redis: unreachable at start; serving with local state until it answers")
        self._tasks = [asyncio.create_task(self._watch(), name="redis-watch"),
                       asyncio.create_task(self._listen(), name="redis-changes")]

    async def stop(self) -> None:
        await stop_tasks(*self._tasks)
        self._tasks = []
        if self._pubsub is not None:
            await _quietly(self._pubsub.aclose())
            self._pubsub = None
        for client in (self.client, self._pubsub_client):
            if client is not None:
                await _quietly(client.aclose())
        self.client = self._pubsub_client = None
        self.available = False

    def describe(self) -> str:
        """Host, port and db of the URL, never its password."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"

    # -- calls ----------------------------------------------------------------------
    async def call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run ``operation`` on the client, or raise :class:`RedisUnavailable` at once.

        A timeout or connection error marks Redis down (the watcher brings it back).
        """
        client = self.client
        if not self.available or client is None:
            raise RedisUnavailable
        try:
            async with asyncio.timeout(self.timeout * 2):  # no extra task, unlike wait_for
                return await operation(client)
        except self._failures as exc:
            self._mark_down(exc)
            raise RedisUnavailable from None

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[object]) -> Any:
        """Run ``script`` through :meth:`call` (same timeout, same :class:`RedisUnavailable`)."""
        return await self.call(lambda client: script(client, keys, args))

    def _mark_down(self, exc: BaseException) -> None:
        if self.available:
            self.available = False
            log.warning("redis: unavailable (%s); serving with local state until it answers again",
                        type(exc).__name__)

    async def _connect(self) -> bool:
        assert self.client is not None and self._pubsub_client is not None
        try:
            await self.client.connection_pool.disconnect()  # sockets from before an outage are dead
            await asyncio.wait_for(self.client.ping(), self.timeout * 2)
            if self._pubsub is not None:
                await _quietly(self._pubsub.aclose())
            self._pubsub = self._pubsub_client.pubsub(ignore_subscribe_messages=True)
            await asyncio.wait_for(self._pubsub.subscribe(self.changes_channel), self.timeout * 4)
        except self._failures:
            return False
        self.available = True
        return True

    async def _watch(self) -> None:
        """Ping while up (to notice an idle outage); reconnect and resync while down."""
        while True:
            await asyncio.sleep(_WATCH_INTERVAL)
            if self.available and self.client is not None:
                try:  # a busy event loop must not read as an outage: a longer limit here
                    await asyncio.wait_for(self.client.ping(), max(1.0, self.timeout * 4))
                except self._failures as exc:
                    self._mark_down(exc)
                continue
            if await self._connect():
                log.warning("redis: available again (%s); resynchronising", self.describe())
                for callback in self._resync:
                    try:
                        await callback()
                    except Exception:
                        log.exception("redis: resync step failed")

    # -- change fan-out ---------------------------------------------------------------
    async def _publish(self, kinds: tuple[str, ...]) -> None:
        if _replaying.get():
            return
        message = json.dumps({"origin": self.origin, "kinds": list(kinds)})
        with contextlib.suppress(RedisUnavailable):  # if so, the others reload it at their next sync
            await self.call(lambda client: client.publish(self.changes_channel, message))

    async def _listen(self) -> None:
        while True:
            pubsub = self._pubsub
            if not self.available or pubsub is None:
                await asyncio.sleep(0.1)
                continue
            try:
                message = await pubsub.get_message(timeout=1.0)
            except self._failures as exc:
                self._mark_down(exc)
                continue
            if message is not None:
                await self._replay(message.get("data"))

    async def _replay(self, data: Any) -> None:
        try:
            payload = json.loads(data)
            if payload.get("origin") == self.origin:
                return
            kinds = tuple(str(kind) for kind in payload.get("kinds") or ())
        except (TypeError, ValueError, AttributeError):
            return
        assert self._runtime is not None
        marker = _replaying.set(True)
        try:
            await self._runtime.data_changed(*kinds)
        except Exception:
            log.exception("applying another replica's change failed")
        finally:
            _replaying.reset(marker)


async def _quietly(awaitable: Awaitable[Any]) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection may fail in any way
        await awaitable
