"""The relay in this process over the in-memory transport: no socket, no database.

:class:`Gateway` builds a :class:`~oneapi.relay.service.Relay` on a cache filled by hand
(users, tokens, channels), a batch writer that records each settlement, and a
:class:`~oneapi.relay.upstream.memory.MemoryTransport` whose handler plays the vendors.
:meth:`Gateway.call` drives the relay's raw ASGI entry as the edge does and returns what
the client would have received, errors rendered as they are on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from oneapi.billing.ledger import Ledger
from oneapi.cache import CachedChannel, CachedToken, CachedUser, RelayCache, Tier
from oneapi.channel_types import channel_type
from oneapi.config import Settings
from oneapi.db.engine import Database
from oneapi.db.models import Role, Status, TokenStatus
from oneapi.db.writer import BatchWriter
from oneapi.errors import GatewayError, render_relay_error
from oneapi.metrics import Metrics
from oneapi.options import options
from oneapi.relay.client_formats import GEMINI_NATIVE
from oneapi.relay.lanes import relay_lanes
from oneapi.relay.request import RelayMode
from oneapi.relay.responses_store import ResponseStore
from oneapi.relay.service import Relay
from oneapi.relay.token_limits import RateLimits
from oneapi.relay.upstream import MemoryTransport, TimeLimits
from oneapi.relay.upstream.memory import Handler

VENDOR_URL = "http://vendor.test"


@dataclass(frozen=True, slots=True)
class Charge:
    """One settlement the relay handed to the batch writer."""

    token_id: int
    user_id: int
    quota: int
    channel_id: int
    log: dict[str, Any] | None


class RecordingWriter(BatchWriter):
    """A batch writer that is never started (no database) and keeps each settlement."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.charges: list[Charge] = []

    def settle(self, token_id: int, limited: bool, user_id: int, used: int, channel_id: int,
               log_row: dict[str, Any] | None) -> None:
        self.charges.append(Charge(token_id, user_id, used, channel_id, log_row))
        super().settle(token_id, limited, user_id, used, channel_id, log_row)


@dataclass
class Answer:
    """What the client received."""

    status: int
    headers: dict[str, str]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)  # the body's parts as they were sent

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[Any]:
        """The JSON of each ``data:`` line of an SSE body (``[DONE]`` left out)."""
        lines = self.body.decode().splitlines()
        return [json.loads(line[5:]) for line in lines
                if line.startswith("data:") and line[5:].strip() != "[DONE]"]


class Gateway:
    """A relay over ``handler``, with one user and token and the channels a test adds."""

    QUOTA = 10_000_000

    def __init__(self, handler: Handler, limits: TimeLimits | None = None) -> None:
        database = Database(Settings())  # opened on first use, which these tests never reach
        self.writer = RecordingWriter(database)
        self.cache = RelayCache(database, self.writer)
        self.transport = MemoryTransport(handler, limits or TimeLimits(connect=1, first_byte=1, idle=1))
        self.relay = Relay(self.cache, self.transport, Ledger(self.writer), RateLimits(), Metrics(),
                           ResponseStore(database))
        self.user = CachedUser(id=1, username="alice", role=Role.ROOT, status=Status.ENABLED, group="default",
                               quota=self.QUOTA)
        self.token = CachedToken(id=1, user_id=1, key="k" * 48, name="unit", status=TokenStatus.ENABLED,
                                 expired_time=-1, remain_quota=self.QUOTA, unlimited_quota=False, models=None,
                                 subnets=None)
        self.cache.users[1] = self.user
        self.cache.tokens[self.token.key] = self.token
        self.cache.tokens_by_id[1] = self.token
        self.key = f"sk-{self.token.key}"
        self._lanes = relay_lanes(self.relay)

    def channel(self, kind: int, models: list[str], *, priority: int = 0, key: str = "vendor-key",
                config: dict[str, Any] | None = None) -> CachedChannel:
        """Add an enabled channel of type ``kind`` at ``VENDOR_URL`` for the default group."""
        channel = CachedChannel(id=len(self.cache.channels) + 1, type=kind, name=f"ch{kind}",
                                status=Status.ENABLED, keys=(key,), base_url=VENDOR_URL,
                                weight=1, priority=priority, models=tuple(models), groups=("default",),
                                model_mapping={}, config=config or {}, other="", system_prompt="",
                                kind=channel_type(kind))
        self.cache.channels[channel.id] = channel
        for model in models:
            tiers = self.cache.abilities.setdefault(("default", model), [])
            tier = next((tier for tier in tiers if tier.priority == priority), None)
            if tier is None:
                tiers.append(Tier(priority, [channel], [1]))
                tiers.sort(key=lambda each: each.priority, reverse=True)
            else:
                tier.channels.append(channel)
                tier.weights.append(1)
        return channel

    @property
    def charges(self) -> list[Charge]:
        return self.writer.charges

    async def call(self, path: str, payload: dict[str, Any] | bytes, *, leave_after: float | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        """POST ``payload`` to ``path``: ``/v1/...``, ``/v1/messages``, ``/v1beta/models/<m>:<action>``.

        ``payload``: a document, or a body sent as it is (a recorded client's bytes).
        ``leave_after``: the client disconnects that many seconds after sending its body.
        ``headers``: sent besides the content type and the token.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        raw_headers = [(b"content-type", b"application/json"),
                       (b"authorization", f"Bearer {self.key}".encode()),
                       *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items())]
        path, _, query = path.partition("?")
        scope: dict[str, Any] = {"type": "http", "method": "POST", "path": path,
                                 "query_string": query.encode(), "headers": raw_headers,
                                 "client": ("127.0.0.1", 50000), "state": {}}
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await (asyncio.sleep(leave_after) if leave_after is not None else asyncio.Event().wait())
            return {"type": "http.disconnect"}

        answer = Answer(0, {}, b"")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            else:
                answer.chunks.append(message.get("body", b""))

        try:
            await self._entry(path, query)(scope, receive, send)
        except GatewayError as exc:
            status, document = render_relay_error(exc, path)
            return Answer(status, {}, json.dumps(document).encode())
        answer.body = b"".join(answer.chunks)
        return answer

    def _entry(self, path: str, query: str) -> Any:
        if path.startswith("/v1beta/models/"):
            model, _, action = path.removeprefix("/v1beta/models/").partition(":")
            sse = "alt=sse" in query

            async def gemini(scope: Any, receive: Any, send: Any) -> None:
                await self.relay.handle(scope, receive, send, RelayMode.CHAT,
                                        lambda body, _incoming: GEMINI_NATIVE.parse(body, model, action, sse))

            return gemini
        return self._lanes[path]


@pytest.fixture(autouse=True)
def default_options() -> Iterator[None]:
    """The built-in options for each test, and whatever was there before afterwards."""
    before = options.snapshot()
    options.replace({})
    yield
    options.replace(before)
