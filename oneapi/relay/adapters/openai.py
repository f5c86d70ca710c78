"""OpenAI and every OpenAI-compatible vendor (OpenAI, DeepSeek, Groq, Moonshot, custom, ...).

The body is forwarded byte for byte unless something must change: the model name after
the channel's mapping, ``stream_options.include_usage`` on streams (so usage comes from
the upstream rather than a local count), or the channel's forced system prompt. Types
whose base URL already carries the API version (``versioned_base``) get the path
without ``/v1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.account import get_json, number
from oneapi.relay.adapters.base import Adapter, ConvertedResponse, UpstreamRequest
from oneapi.relay.formats.events import TokenUsage
from oneapi.relay.formats.rerank import check_rerank_request, rerank_usage
from oneapi.relay.request import RelayMode, RelayRequest, replace_form_field
from oneapi.relay.sse import OpenAIEventStream
from oneapi.relay.upstream import UpstreamTransport

__all__ = ("ADAPTER", "OpenAIAdapter")


class _WithUsage(msgspec.Struct):
    usage: dict[str, Any] | None = None  # only this small object of the answer is decoded


_usage_decoder = msgspec.json.Decoder(_WithUsage)
_encode = msgspec.json.Encoder().encode


def _read_usage(body: bytes) -> TokenUsage | None:
    try:
        found = _usage_decoder.decode(body).usage
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return TokenUsage.from_openai(found)


def _rerank_usage(body: bytes) -> TokenUsage | None:
    """Jina reports ``usage.total_tokens``; Cohere and SiliconFlow ``meta.tokens``."""
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    return rerank_usage(answer) if isinstance(answer, dict) else None


class OpenAIAdapter(Adapter):
    modes = frozenset(RelayMode)
    hosted_tools = frozenset({"web_search"})  # web_search_options, on the search models
    answer_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        RelayMode.CHAT: ("choices",), RelayMode.COMPLETIONS: ("choices",), RelayMode.EMBEDDINGS: ("data",),
        RelayMode.MODERATIONS: ("results",), RelayMode.IMAGES: ("data",), RelayMode.IMAGE_EDITS: ("data",),
        RelayMode.RESPONSES: ("output",), RelayMode.RERANK: ("results",)}

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        prefix = "" if channel.kind.versioned_base else "/v1"
        return f"{self.base_url(channel)}{prefix}/{request.mode.value}"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        headers = self.auth_headers(key)
        headers["Content-Type"] = request.content_type
        if request.stream:
            headers["Accept"] = "text/event-stream"
        return headers

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if not request.is_json:
            return request.body if model == request.model else replace_form_field(request, "model", model)
        if request.mode is RelayMode.RERANK:
            check_rerank_request(request.document())
        inject_usage = request.hides_usage_chunk
        force_prompt = bool(channel.system_prompt) and request.mode is RelayMode.CHAT
        if model == request.model and not inject_usage and not force_prompt:
            return request.body
        document: dict[str, Any] = dict(request.document())
        document["model"] = model
        if inject_usage:
            options = document.get("stream_options")
            options = options if isinstance(options, dict) else {}
            document["stream_options"] = {**options, "include_usage": True}
        if force_prompt:
            messages = [m for m in document.get("messages") or () if not (isinstance(m, dict)
                                                                          and m.get("role") == "system")]
            document["messages"] = [{"role": "system", "content": channel.system_prompt}, *messages]
        return _encode(document)

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        if not content_type.startswith("application/json"):
            usage = None
        else:
            usage = _rerank_usage(body) if request.mode is RelayMode.RERANK else _read_usage(body)
        return ConvertedResponse(body, content_type, usage)

    def stream_converter(self, request: RelayRequest) -> OpenAIEventStream:
        return OpenAIEventStream(hide_usage_chunk=request.hides_usage_chunk)

    async def balance(self, client: UpstreamTransport, channel: CachedChannel, key: str) -> float:
        """OpenAI's legacy billing dashboard: the hard limit less the last 100 days' usage."""
        base, auth = self.base_url(channel), self.auth_headers(key)
        subscription = await get_json(client, f"{base}/v1/dashboard/billing/subscription", auth)
        today = dt.datetime.now(dt.UTC).date()
        start, end = today - dt.timedelta(days=100), today + dt.timedelta(days=1)
        usage = await get_json(client, f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}",
                               auth)
        limit = number((subscription or {}).get("hard_limit_usd"), "hard_limit_usd")
        return limit - number((usage or {}).get("total_usage", 0), "total_usage") / 100

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        prefix = "" if channel.kind.versioned_base else "/v1"
        url = f"{self.base_url(channel)}{prefix}/models"
        return UpstreamRequest("GET", url, self.auth_headers(key), None)


ADAPTER = OpenAIAdapter()
