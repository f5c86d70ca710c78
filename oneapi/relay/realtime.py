"""``GET /v1/realtime?model=``: OpenAI's Realtime API, relayed over WebSockets.

The caller's ``sk-`` key comes in the ``Authorization`` header, or, from browsers, which
cannot set headers on a WebSocket, in the ``openai-insecure-api-key.<key>`` subprotocol.
Before the upgrade the key, the model, a channel (OpenAI-format or Azure) and a quota
reservation are checked, so a refused session is an HTTP refusal, not an open socket. Then
the upstream's realtime socket is opened with the channel's key and events pass both ways
untouched, text and binary frames alike.

Billing follows the ``response.done`` events as they pass: each one's usage is charged at
once (and logged), and a fresh reservation is taken for the next response; when the quota
cannot cover it, the client gets an ``insufficient_quota`` error event and the session ends.
Audio tokens cost more than text ones: they are charged as text tokens times the model's
audio multiplier (OpenAI's audio over text prices: 8x in and 4x out for ``gpt-realtime`` and
``gpt-4o-realtime``, about 16.7x and 8.3x for the mini models), and logged as those
text-token equivalents. When either side leaves, the other is closed and the unused
reservation returned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import msgspec
from litestar import WebSocket, websocket

from oneapi.billing.pricing import price_for
from oneapi.errors import GatewayError, NoAvailableChannel, UnsupportedFeature
from oneapi.options import options
from oneapi.relay.adapters.azure import api_version
from oneapi.relay.adapters.openai import ADAPTER as OPENAI
from oneapi.relay.auth import authenticate
from oneapi.relay.formats.events import TokenUsage, encode_json
from oneapi.relay.request import RelayMode, parse_request
from oneapi.relay.service import _Call
from oneapi.relay.upstream.tls import context_for

if TYPE_CHECKING:
    from oneapi.cache import CachedChannel
    from oneapi.relay.service import Relay

__all__ = ("audio_multipliers", "realtime_route", "upstream_target")

log = logging.getLogger("oneapi.relay.realtime")

KEY_PROTOCOL = "openai-insecure-api-key."
_CONNECT_TIMEOUT = 15.0
_POLICY_VIOLATION = 1008  # WebSocket close code for a refused session
_decode = msgspec.json.Decoder().decode


def audio_multipliers(model: str) -> tuple[float, float]:
    """How many text tokens an input and an output audio token cost for ``model``."""
    return (50 / 3, 25 / 3) if "mini" in model else (8.0, 4.0)


def upstream_target(channel: CachedChannel, key: str, model: str) -> tuple[str, dict[str, str]]:
    """The upstream realtime URL and its credential header, for OpenAI-format and Azure channels."""
    base = OPENAI.base_url(channel)
    base = "ws" + base[4:] if base.startswith("http") else base  # http(s):// -> ws(s)://
    if channel.kind.api_format == "azure":
        return (f"{base}/openai/realtime?api-version={api_version(channel)}&deployment={quote(model)}",
                {"api-key": key})
    prefix = "" if channel.kind.versioned_base else "/v1"
    return f"{base}{prefix}/realtime?model={quote(model)}", {"Authorization": f"Bearer {key}"}


def _weighted_usage(event: dict[str, Any], model: str) -> TokenUsage | None:
    """A ``response.done`` event's usage, audio tokens as their text-token equivalents."""
    usage = (event.get("response") or {}).get("usage")
    if not isinstance(usage, dict):
        return None
    inputs, outputs = usage.get("input_token_details") or {}, usage.get("output_token_details") or {}
    audio_in, audio_out = int(inputs.get("audio_tokens") or 0), int(outputs.get("audio_tokens") or 0)
    text_in = int(inputs.get("text_tokens", int(usage.get("input_tokens") or 0) - audio_in) or 0)
    text_out = int(outputs.get("text_tokens", int(usage.get("output_tokens") or 0) - audio_out) or 0)
    multiplier_in, multiplier_out = audio_multipliers(model)
    return TokenUsage(text_in + round(audio_in * multiplier_in), text_out + round(audio_out * multiplier_out))


class _Session:
    """One client socket, its upstream socket and its running bill."""

    def __init__(self, relay: Relay, socket: WebSocket[Any, Any, Any]) -> None:
        self.relay, self.socket = relay, socket
        offered = socket.headers.get("sec-websocket-protocol", "")
        self.offered = [protocol.strip() for protocol in offered.split(",") if protocol.strip()]

    async def run(self) -> None:
        try:
            call, channel = await self._admit()
        except GatewayError as exc:
            await self.socket.close(code=_POLICY_VIOLATION, reason=exc.message[:120])
            return
        relay, model = self.relay, call.upstream_model
        url, headers = upstream_target(channel, channel.next_key(), model)
        if beta := self.socket.headers.get("openai-beta"):
            headers["OpenAI-Beta"] = beta
        try:
            timeout = aiohttp.ClientTimeout(sock_connect=_CONNECT_TIMEOUT)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                try:
                    upstream = await http.ws_connect(url, headers=headers, autoping=True,
                                                     ssl=context_for(url))
                except (aiohttp.ClientError, TimeoutError) as exc:
                    relay.picker.failed(channel.id)
                    log.warning("realtime: channel #%d refused the socket: %s", channel.id, exc)
                    await self.socket.close(code=1011, reason="the upstream refused the realtime session")
                    return
                await self.socket.accept(subprotocols="realtime" if "realtime" in self.offered else None)
                async with upstream:
                    await self._pump(call, upstream)
        finally:
            relay.ledger.refund(call.reservation)

    async def _admit(self) -> tuple[_Call, CachedChannel]:
        relay, socket = self.relay, self.socket
        headers = {name.lower(): value for name, value in socket.headers.items()}
        for protocol in self.offered:
            if protocol.startswith(KEY_PROTOCOL):
                headers["authorization"] = f"Bearer {protocol[len(KEY_PROTOCOL):]}"
        caller = await authenticate(relay.cache, headers, socket.client.host if socket.client else "")
        model = socket.query_params.get("model") or ""
        caller.check_model(model)
        channel = relay.picker.pick(caller.user.group, model, [])
        if channel is None:
            raise NoAvailableChannel(f"no available channel for model {model} in group {caller.user.group}")
        if channel.kind.api_format not in ("openai", "azure"):
            raise UnsupportedFeature(f"channel type {channel.kind.name} has no Realtime API")
        request = parse_request(RelayMode.CHAT, encode_json({"model": model}), "application/json")
        price = price_for(model, caller.user.group, channel.type)
        reservation = await relay.admission.admit(caller.token, caller.user, self._hold(price.ratio))
        request_id = socket.scope.get("state", {}).get("request_id", "")
        call = _Call(caller, request, price, reservation, request_id, time.monotonic(), [channel.id], channel,
                     channel.upstream_model(model))
        return call, channel

    @staticmethod
    def _hold(ratio: float) -> int:
        return int(options.get_int("PreConsumedQuota", 500) * ratio)

    async def _pump(self, call: _Call, upstream: aiohttp.ClientWebSocketResponse) -> None:
        tasks = [asyncio.ensure_future(self._from_client(upstream)),
                 asyncio.ensure_future(self._from_upstream(call, upstream))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.socket.connection_state != "disconnect":
                await self.socket.close()

    async def _from_client(self, upstream: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] != "websocket.receive":
                continue
            if (text := message.get("text")) is not None:
                await upstream.send_str(text)
            elif (data := message.get("bytes")) is not None:
                await upstream.send_bytes(data)

    async def _from_upstream(self, call: _Call, upstream: aiohttp.ClientWebSocketResponse) -> None:
        async for message in upstream:
            if message.type is aiohttp.WSMsgType.BINARY:
                await self.socket.send_bytes(message.data)
                continue
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            await self.socket.send_text(message.data)
            if '"response.done"' in message.data and not await self._bill(call, message.data):
                return

    async def _bill(self, call: _Call, data: str) -> bool:
        """Charge one ``response.done``; False when the quota cannot cover another response."""
        try:
            event = _decode(data)
        except msgspec.DecodeError:
            return True
        usage = _weighted_usage(event, call.upstream_model) if isinstance(event, dict) else None
        if usage is None or event.get("type") != "response.done":
            return True
        self.relay._finish(call, usage, is_stream=True)
        try:
            call.reservation = await self.relay.admission.admit(call.caller.token, call.caller.user,
                                                                self._hold(call.price.ratio))
        except GatewayError as exc:  # QuotaExhausted, or a full rate-limit window
            await self.socket.send_text(encode_json({"type": "error", "error": {
                "type": "insufficient_quota", "code": exc.code or "insufficient_quota",
                "message": exc.message}}).decode())
            return False
        return True


@websocket("/v1/realtime", name="relay:realtime")
async def realtime_route(socket: WebSocket[Any, Any, Any]) -> None:
    """Relay a Realtime API session to a channel serving the model (see the module docstring)."""
    await _Session(socket.app.state.runtime.services.relay, socket).run()
