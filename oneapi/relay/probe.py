"""Channel tests: one real chat request through the channel's adapter.

The management API's ``GET /api/channel/test/{id}`` calls :func:`probe_channel`. The
request goes through the same adapter and URL rules as relayed traffic, so a passing
test means relaying works (the same success check included); it bills nobody and leaves
logging to the caller. The upstream's words are masked, as on the relay: an error that
echoes the channel's key must not show it in the test's answer or its log row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import msgspec

from oneapi.cache import CachedChannel, cached_channel
from oneapi.db.models import Channel
from oneapi.errors import GatewayError
from oneapi.relay.adapters import adapter_for
from oneapi.relay.adapters.base import bad_answer
from oneapi.relay.formats.events import TokenUsage
from oneapi.relay.request import RelayMode, parse_request
from oneapi.relay.upstream import UpstreamTransport
from oneapi.security import mask_secrets

__all__ = ("TEST_PROMPT", "ProbeResult", "probe_channel", "probe_model")

TEST_PROMPT = "Output only your specific model name with no additional text."
_FALLBACK_MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    success: bool
    elapsed: float  # seconds
    message: str
    usage: TokenUsage | None
    model: str
    status: int = 0  # the upstream's HTTP status when it answered with an error


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message | None = None


class _Reply(msgspec.Struct):
    choices: list[_Choice] = []


def _reply_text(body: bytes) -> str:
    """The model's answer in an OpenAI chat completion (one-api reports it as the test's message)."""
    try:
        choices = msgspec.json.decode(body, type=_Reply).choices
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    message = choices[0].message if choices else None
    return (message.content or "") if message is not None else ""


def probe_model(channel: CachedChannel, model: str | None = None) -> str:
    """The model a test uses: the one asked for, else the channel's first."""
    return model or next(iter(channel.models), "") or next(iter(channel.kind.default_models), _FALLBACK_MODEL)


async def probe_channel(client: UpstreamTransport, channel: Channel | CachedChannel,
                        model: str | None = None) -> ProbeResult:
    """Send one chat request to ``channel`` through ``client`` and report (success, seconds,
    message, usage)."""
    cached = channel if isinstance(channel, CachedChannel) else cached_channel(channel)
    name = probe_model(cached, model)
    adapter = adapter_for(cached.kind.api_format)
    if adapter is None:
        return ProbeResult(False, 0.0, f"channel type {cached.kind.name} is not supported", None, name)
    body = msgspec.json.encode({"model": name, "messages": [{"role": "user", "content": TEST_PROMPT}]})
    request = parse_request(RelayMode.CHAT, body, "application/json")
    try:
        key = await adapter.credential(cached, cached.next_key())
    except GatewayError as exc:
        return ProbeResult(False, 0.0, exc.message, None, name)
    outgoing = adapter.build_request(cached, key, request, cached.upstream_model(name))
    started = time.monotonic()
    try:
        response = await client.send(outgoing.method, outgoing.url, outgoing.headers, outgoing.body,
                                     client.limits.for_channel(cached.config))
        data = await response.read()
        elapsed = time.monotonic() - started
        if response.status >= 400:
            message = mask_secrets(adapter.error_message(response.status, data), cached.keys)
            return ProbeResult(False, elapsed, message, None, name, response.status)
        problem = adapter.answer_problem(request, response.content_type, data)
        if problem is not None:
            message = bad_answer(response.status, problem, cached.keys).message
            return ProbeResult(False, elapsed, message, None, name, response.status)
        converted = adapter.convert_response(request, data, response.content_type)
        return ProbeResult(True, elapsed, _reply_text(converted.body), converted.usage, name)
    except GatewayError as exc:
        message = mask_secrets(exc.message, cached.keys)
        return ProbeResult(False, time.monotonic() - started, message, None, name)
