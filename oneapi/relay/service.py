"""One relayed request: auth, reservation, channel choice with retries, answer, settlement.

The flow touches only memory, the upstream and the settlement journal (one local
``write``, :mod:`oneapi.db.journal`). Every answer is settled before its last byte is sent,
so a crash cannot lose a charge whose answer arrived. Retries replay the same body to another
channel on connection errors, timeouts (the upstream transport's time limits), 429, 5xx and
2xx answers that fail the adapter's success check (an HTML page, truncated JSON, an
``error`` object; never on other 4xx), same priority tier first, up to the ``RetryTimes``
option; a pinned channel is never retried. Nothing is billed before an answer passes that
check. While the upstream is awaited, :class:`_ClientWatch` looks out for the client's
``http.disconnect``: a client that leaves cancels the upstream call (its connection is
closed) and is refunded.
Streams are passed through as they arrive; a complete one is billed before its last chunk,
and one that ends early in the ``finally`` block, which runs also when the client goes
away or the upstream cuts the stream: what was produced is billed, and the reservation is
returned only when nothing reached the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from oneapi.admission import Admission
from oneapi.billing.ledger import Ledger, Reservation
from oneapi.billing.pricing import Price, price_for
from oneapi.cache import CachedChannel, RelayCache
from oneapi.db.models import LogType, Status
from oneapi.errors import (
    GatewayError,
    NoAvailableChannel,
    RateLimited,
    UnsupportedFeature,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from oneapi.metrics import Metrics
from oneapi.options import options
from oneapi.relay.adapters import Adapter, adapter_for
from oneapi.relay.adapters.base import ConvertedResponse, StreamConverter, bad_answer
from oneapi.relay.asgi import ClientDisconnected, Incoming, read_body, send_bytes, start_stream
from oneapi.relay.auth import Caller, authenticate
from oneapi.relay.client_formats import serving_adapter
from oneapi.relay.counting import count_prompt, count_usage
from oneapi.relay.formats.events import TokenUsage
from oneapi.relay.picker import ChannelPicker
from oneapi.relay.request import RelayMode, RelayRequest, parse_request
from oneapi.relay.responses_store import ResponseStore
from oneapi.relay.token_limits import RateLimits
from oneapi.relay.tokenizer import count_text
from oneapi.relay.upstream import UpstreamResponse, UpstreamTransport
from oneapi.security import mask_secrets

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

__all__ = ("Relay",)

log = logging.getLogger("oneapi.relay")

_encode = msgspec.json.Encoder().encode
_IMAGE_MODES = frozenset((RelayMode.IMAGES, RelayMode.IMAGE_EDITS))  # billed per image, not per token

def _note_headers(notes: dict[str, str]) -> dict[str, str] | None:
    return {f"x-oneapi-{name}": value for name, value in notes.items()} if notes else None


@dataclass(slots=True)
class _Call:
    """The state of one relayed request, from reservation to log row."""

    caller: Caller
    request: RelayRequest
    price: Price
    reservation: Reservation
    request_id: str
    started: float
    path: list[int] = field(default_factory=list)
    channel: CachedChannel | None = None
    upstream_model: str = ""
    notes: dict[str, str] = field(default_factory=dict)  # the serving adapter's, for headers and log


@dataclass(slots=True)
class _Answer:
    """A checked upstream success: a whole converted answer, or a stream and its first chunk."""

    adapter: Adapter
    response: UpstreamResponse
    converted: ConvertedResponse | None = None
    first: bytes = b""
    chunks: AsyncGenerator[bytes, None] | None = None


class _WatchTicker:
    """Starts the disconnect watchers of requests that have run for a while: one timer for all.

    Requests are kept in two generations, moved on every ``interval`` seconds; a request's
    watcher starts when its generation leaves, so between one and two intervals after it
    began. Registering is a set insertion, where a timer per request (created and nearly
    always cancelled) cost a measurable share of a short request's CPU. The timer runs only
    while requests are waiting.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._young: set[_ClientWatch] = set()
        self._old: set[_ClientWatch] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, watch: _ClientWatch) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # another event loop (tests): what the last one left is gone
            self._loop, self._young, self._old, self._timer = loop, set(), set(), None
        self._young.add(watch)
        if self._timer is None:
            self._timer = loop.call_later(self.interval, self._tick)

    def discard(self, watch: _ClientWatch) -> None:
        self._young.discard(watch)
        self._old.discard(watch)

    def _tick(self) -> None:
        due, self._old, self._young = self._old, self._young, set()
        for watch in due:
            watch.start()
        loop = self._loop
        self._timer = loop.call_later(self.interval, self._tick) if self._old and loop is not None else None


class _ClientWatch:
    """Notices the client's ``http.disconnect`` while its request is served.

    Only ``receive()`` tells, so a task must wait on it. That task starts once the request
    has run for ``WATCH_AFTER / 2`` to ``WATCH_AFTER`` seconds (:class:`_WatchTicker`), or
    when a stream starts, not with every request: a task costs a turn of the event loop,
    most short answers are done before then, and a client that left earlier is noticed the
    moment the task starts.
    """

    WATCH_AFTER = 0.25

    def __init__(self, receive: Receive, ticker: _WatchTicker) -> None:
        self._receive = receive
        self._task = asyncio.current_task()
        self._guarding = False
        self._ticker = ticker
        self.watcher: asyncio.Future[Any] | None = None
        ticker.add(self)

    def start(self) -> asyncio.Future[Any]:
        watcher = self.watcher
        if watcher is None:
            self._ticker.discard(self)
            watcher = self.watcher = asyncio.ensure_future(self._receive())
            watcher.add_done_callback(self._on_leave)
        return watcher

    @property
    def left(self) -> bool:
        return self.watcher is not None and self.watcher.done() and not self.watcher.cancelled()

    def _on_leave(self, _: object) -> None:
        if self._guarding and self.left and self._task is not None:
            self._task.cancel()

    async def guard(self, work: Awaitable[_Answer]) -> _Answer:
        """``work``'s result; a client that leaves cancels this task, closing the upstream call.

        Raises:
            ClientDisconnected: the client left; the caller refunds the reservation.
        """
        self._guarding = True
        try:
            return await work
        except asyncio.CancelledError:
            if self.left and self._task is not None and self._task.uncancel() == 0:
                raise ClientDisconnected from None
            raise
        finally:
            self._guarding = False

    def stop(self) -> None:
        self._ticker.discard(self)
        if self.watcher is not None:
            self.watcher.cancel()


class Relay:
    def __init__(self, cache: RelayCache, upstream: UpstreamTransport, ledger: Ledger, limits: RateLimits,
                 metrics: Metrics, responses: ResponseStore, *, max_body_bytes: int = 32 * 1024 * 1024,
                 allow_private_images: bool = False) -> None:
        self.max_body_bytes = max_body_bytes
        self.allow_private_images = allow_private_images  # ALLOW_PRIVATE_IMAGE_URLS
        self.cache = cache
        self.upstream = upstream
        self.responses = responses
        self.ledger = ledger
        self.picker = ChannelPicker(cache)
        self.limits = limits  # in Redis, shared across replicas, when REDIS_CONN_STRING is set
        self.admission = Admission(self.limits, self.ledger)
        self.metrics = metrics
        self._watches = _WatchTicker(_ClientWatch.WATCH_AFTER / 2)

    async def handle(self, scope: Scope, receive: Receive, send: Send, mode: RelayMode,
                     parse: Callable[[bytes, Incoming], RelayRequest] | None = None) -> None:
        """Answer one relay request on the raw ASGI interface (errors raise GatewayError).

        ``parse`` reads a body in a client format other than OpenAI's (``oneapi.relay.client_formats``).
        """
        started = time.monotonic()
        incoming = Incoming(scope)
        caller = await authenticate(self.cache, incoming.headers, incoming.client_host)
        body = await read_body(incoming, receive, self.max_body_bytes)
        request = (parse(body, incoming) if parse is not None
                   else parse_request(mode, body, incoming.headers.get("content-type", "")))
        caller.check_model(request.model)
        self.metrics.model(request.model)
        price = price_for(request.model, caller.user.group)
        reservation = await self.admission.admit(caller.token, caller.user, self._reservation(request, price))
        call = _Call(caller, request, price, reservation, incoming.request_id, started)
        watch = _ClientWatch(receive, self._watches)
        try:
            answer = await watch.guard(self._send(call))
        except BaseException:
            watch.stop()
            self.ledger.refund(reservation)
            raise
        if answer.converted is None:
            await self._stream(call, answer, watch, send)
            return
        watch.stop()
        converted = answer.converted
        usage = converted.usage or count_usage(request, converted.body, converted.media_type)
        self._finish(call, usage, is_stream=False)
        await send_bytes(send, answer.response.status, converted.media_type, converted.body,
                         _note_headers(call.notes))

    @staticmethod
    def _reservation(request: RelayRequest, price: Price) -> int:
        if request.mode in _IMAGE_MODES:
            return price.image_quota(request.model, request.size, request.quality, request.n)
        tokens = options.get_int("PreConsumedQuota", 500) + request.prompt_estimate() + request.max_tokens
        return int(tokens * price.ratio)

    # -- upstream, with retries ---------------------------------------------------------
    async def _send(self, call: _Call) -> _Answer:
        request, caller = call.request, call.caller
        group = caller.user.group
        retries = 0 if caller.pinned_channel is not None else max(options.get_int("RetryTimes", 2), 0)
        last_error: GatewayError | None = None
        for _ in range(retries + 1):
            channel = self._choose(call, group)
            if channel is None:
                break
            call.path.append(channel.id)
            self.metrics.attempt(channel.id, request.model, retry=len(call.path) > 1)
            adapter = serving_adapter(adapter_for(channel.kind.api_format), channel, request, self.responses,
                                      caller.user.id)
            if adapter is None or request.mode not in adapter.modes:
                last_error = UnsupportedFeature(f"channel type {channel.kind.name} cannot serve "
                                                f"/v1/{request.mode.value}")
                continue
            call.channel, call.upstream_model = channel, channel.upstream_model(request.model)
            outcome = await self._attempt(call, channel, adapter)
            if isinstance(outcome, _Answer):
                self.picker.succeeded(channel.id)
                return outcome
            last_error = outcome
        if last_error is None:
            raise NoAvailableChannel(f"no available channel for model {request.model} in group {group}")
        raise last_error

    async def _attempt(self, call: _Call, channel: CachedChannel, adapter: Adapter) -> _Answer | GatewayError:
        """One channel's try: a checked answer, or the error to retry on (raises what is not retried).

        Upstream text is masked (:func:`~oneapi.security.mask_secrets`) before it is logged or kept.
        """
        await adapter.prepare(call.request, allow_private_images=self.allow_private_images)
        call.notes = adapter.notes
        key = await adapter.credential(channel, channel.next_key())
        outgoing = adapter.build_request(channel, key, call.request, call.upstream_model)
        sent_at = time.perf_counter()
        try:
            limits = self.upstream.limits.for_channel(channel.config)
            response = await self.upstream.send(outgoing.method, outgoing.url, outgoing.headers,
                                                outgoing.body, limits)
            self.metrics.upstream(channel.id, time.perf_counter() - sent_at)
            if response.status < 400:
                return await self._checked(call.request, channel, adapter, response)
            status, error_body = response.status, await response.read()
        except (UpstreamTimeout, UpstreamError) as exc:  # unreachable, stalled, or junk under a 2xx
            log.warning("channel #%d failed: %s", channel.id, exc.message)
            self.picker.failed(channel.id)
            return exc
        message = mask_secrets(adapter.error_message(status, error_body), channel.keys)
        log.warning("channel #%d answered HTTP %d: %s", channel.id, status, message[:200])
        if status == 429:
            self.picker.rate_limited(channel.id, call.request.model)
            return RateLimited(message, code="upstream_rate_limited")
        if status >= 500:
            self.picker.failed(channel.id)
            return UpstreamError(message)
        if status in (401, 403):
            raise UpstreamError(f"the upstream refused the channel's credentials: {message}")
        raise GatewayError(message, status_code=status, error_type="invalid_request_error",
                           code="upstream_rejected")

    @staticmethod
    async def _checked(request: RelayRequest, channel: CachedChannel, adapter: Adapter,
                       response: UpstreamResponse) -> _Answer:
        """The answer once it is known to be a success: a whole converted body, or a stream
        whose first chunk has been read; anything else under a 2xx is an UpstreamError."""
        content_type = response.content_type  # a header look-up: read once
        if request.stream and adapter.is_stream(content_type):
            chunks = response.iter_chunks()
            try:
                first = await anext(chunks, b"")
            except BaseException:
                response.close()
                raise
            problem = adapter.stream_problem(content_type, first)
            if problem is None:
                return _Answer(adapter, response, first=first, chunks=chunks)
            response.close()
        else:
            body = await response.read()
            problem = adapter.answer_problem(request, content_type, body)
            if problem is None:
                converted = adapter.convert_response(request, body, content_type)
                return _Answer(adapter, response, converted)
        raise bad_answer(response.status, problem, channel.keys)

    def _choose(self, call: _Call, group: str) -> CachedChannel | None:
        pinned = call.caller.pinned_channel
        if pinned is None:
            return self.picker.pick(group, call.request.model, call.path)
        if call.path:
            return None
        channel = self.cache.channels.get(pinned)
        if channel is None or channel.status != Status.ENABLED:
            raise NoAvailableChannel(f"channel #{pinned} does not exist or is disabled")
        return channel

    # -- answers ----------------------------------------------------------------------
    async def _stream(self, call: _Call, answer: _Answer, watch: _ClientWatch, send: Send) -> None:
        """Pass the stream on as it arrives; bill before the last chunk, or in ``finally`` if it ends early.

        When the client's ``http.disconnect`` comes, the upstream connection is closed,
        which ends the read loop at once.
        """
        adapter, response, chunks = answer.adapter, answer.response, answer.chunks
        assert chunks is not None
        converter = adapter.stream_converter(call.request)
        sent = False
        watch.start().add_done_callback(lambda _: response.close())
        try:
            await start_stream(send, response.status, adapter.stream_media_type(call.request),
                               _note_headers(call.notes))
            chunk = answer.first
            while chunk:
                out = converter.feed(chunk)
                if out:
                    sent = True
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                chunk = await anext(chunks, b"")
            tail = converter.finish()
            self._bill_stream(call, converter, sent=sent or bool(tail))  # journaled before the last byte
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except (UpstreamTimeout, UpstreamProtocolError, OSError) as exc:
            reason = "the client went away" if watch.left else getattr(exc, "message", type(exc).__name__)
            log.info("stream from channel #%d ended early: %s", call.path[-1], reason)
        finally:
            watch.stop()
            response.close()
            await chunks.aclose()
            self._bill_stream(call, converter, sent=sent)

    def _bill_stream(self, call: _Call, converter: StreamConverter, *, sent: bool) -> None:
        """Charge what the stream produced, or refund if nothing reached the client (once)."""
        if call.reservation.settled:
            return
        usage = converter.usage
        if usage is None:
            produced = converter.produced_text()
            usage = TokenUsage(count_prompt(call.request), count_text(produced, call.request.model))
            sent = sent or bool(produced)
        if sent or usage.completion_tokens:
            self._finish(call, usage, is_stream=True)
        else:
            self.ledger.refund(call.reservation)

    def _finish(self, call: _Call, usage: TokenUsage, *, is_stream: bool) -> None:
        request, channel = call.request, call.channel
        price = call.price
        if channel is not None:
            price = price.for_channel(request.model, call.caller.user.group, channel.type)
        if request.mode in _IMAGE_MODES:
            quota = price.image_quota(request.model, request.size, request.quality, request.n)
        else:
            quota = price.text_quota(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
                                     usage.cache_write_tokens)
        channel_id = channel.id if channel is not None else 0
        log_row = _log_row(call, price, quota, usage, is_stream=is_stream)
        self.ledger.settle(call.reservation, quota, channel_id, log_row)  # journaled: the answer may go
        self.metrics.charged(request.model, channel_id, quota, usage.prompt_tokens, usage.completion_tokens)
        self.limits.used(call.caller.token, call.caller.user, usage.prompt_tokens + usage.completion_tokens)


def _log_row(call: _Call, price: Price, quota: int, usage: TokenUsage, *,
             is_stream: bool) -> dict[str, Any] | None:
    """The consume log row (None when the ``LogConsumeEnabled`` option is off)."""
    if not options.get_bool("LogConsumeEnabled"):
        return None
    request, channel = call.request, call.channel
    token, user = call.caller.token, call.caller.user
    other = {"channel_path": call.path, "upstream_model": call.upstream_model,
             "model_ratio": price.model_ratio, "group_ratio": price.group_ratio,
             "completion_ratio": price.completion_ratio, **call.notes}
    content = price.description
    if usage.cached_tokens or usage.cache_write_tokens:
        other.update(cache_read_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens,
                     cache_ratio=price.cache_ratio, create_cache_ratio=price.create_cache_ratio)
        content = price.cache_description()
    return {
        "user_id": user.id, "created_at": int(time.time()), "type": LogType.CONSUME,
        "content": content, "username": user.username, "token_name": token.name,
        "model_name": request.model, "quota": quota, "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens, "channel_id": channel.id if channel else 0,
        "request_id": call.request_id, "elapsed_time": int((time.monotonic() - call.started) * 1000),
        "is_stream": is_stream, "system_prompt_reset": bool(channel and channel.system_prompt),
        "token_id": token.id, "other": _encode(other).decode(),
    }
