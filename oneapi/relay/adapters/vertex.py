"""Google Vertex AI (channel type 42): Gemini and Claude through Google Cloud.

URL ``{endpoint}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}``.
Gemini models (publisher ``google``) take Gemini's own body at ``generateContent`` /
``streamGenerateContent?alt=sse`` and embeddings at ``predict``; Claude models (publisher
``anthropic``) take Anthropic's Messages body, without ``model`` and with
``anthropic_version: vertex-2023-10-16``, at ``rawPredict`` / ``streamRawPredict``. The
endpoint is ``https://{region}-aiplatform.googleapis.com`` (``aiplatform.googleapis.com``
for the ``global`` region) unless the channel sets a base URL.

Settings as one-api stores them: the channel config's ``region``, ``vertex_ai_project_id``
and ``vertex_ai_adc`` (the service account's JSON key), else the key
``REGION|PROJECT_ID|KEY_JSON``; the project defaults to the key's ``project_id``. The key
is exchanged for an access token (:mod:`oneapi.relay.google_auth`) by
:meth:`VertexAdapter.credential`, cached and shared across requests.

A ``/v1/messages`` client asking for Claude gets :class:`VertexMessages`: its own body to
``rawPredict``, so prompt caching and thinking survive; a Gemini-API client asking for Gemini
has its body passed to ``generateContent`` untouched, as on a Gemini channel.

Claude's Vertex names carry the version after ``@`` (``claude-sonnet-4-5@20250929``);
Anthropic's names are mapped to them, and a name with ``@`` is sent as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.anthropic import anthropic_answer
from oneapi.relay.adapters.base import Adapter, ConvertedResponse, StreamConverter
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.anthropic_upstream import (
    AnthropicChatStream,
    chat_to_anthropic,
    message_to_chat,
    needs_json_tool,
    read_anthropic_event,
)
from oneapi.relay.formats.chat import embedding_texts
from oneapi.relay.formats.events import TokenUsage, UsageSniffer, encode_json
from oneapi.relay.formats.gemini_upstream import GeminiChatStream, chat_to_gemini, gemini_to_chat
from oneapi.relay.google_auth import ServiceAccount, ServiceAccountTokens, service_account
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "VertexAdapter", "VertexMessages", "VertexSettings", "vertex_claude_model",
           "vertex_settings")

ANTHROPIC_VERSION = "vertex-2023-10-16"
_CLAUDE_NAMES = {"claude-3-5-sonnet-20241022": "claude-3-5-sonnet-v2@20241022",
                 "claude-3-5-sonnet-latest": "claude-3-5-sonnet-v2@20241022",
                 "claude-3-5-haiku-latest": "claude-3-5-haiku@20241022",
                 "claude-3-7-sonnet-latest": "claude-3-7-sonnet@20250219",
                 "claude-sonnet-4-0": "claude-sonnet-4@20250514", "claude-opus-4-0": "claude-opus-4@20250514",
                 "claude-sonnet-4-20250514": "claude-sonnet-4@20250514",
                 "claude-opus-4-20250514": "claude-opus-4@20250514",
                 "claude-opus-4-1": "claude-opus-4-1@20250805",
                 "claude-sonnet-4-5": "claude-sonnet-4-5@20250929",
                 "claude-haiku-4-5": "claude-haiku-4-5@20251001",
                 "claude-opus-4-5": "claude-opus-4-5@20251101"}


def vertex_claude_model(model: str) -> str:
    """Claude's Vertex name: ``claude-x-YYYYMMDD`` is ``claude-x@YYYYMMDD``; aliases are looked up."""
    if "@" in model:
        return model
    if model in _CLAUDE_NAMES:
        return _CLAUDE_NAMES[model]
    stem, _, date = model.rpartition("-")
    return f"{stem}@{date}" if len(date) == 8 and date.isdigit() else model


@dataclass(frozen=True, slots=True)
class VertexSettings:
    region: str
    project: str
    account: ServiceAccount


def vertex_settings(channel: CachedChannel) -> VertexSettings:
    """Region, project and service account from the channel's config, else from its key."""
    config = channel.config
    region, project, key_json = (config.get("region"), config.get("vertex_ai_project_id"),
                                 config.get("vertex_ai_adc"))
    if not (isinstance(region, str) and region and isinstance(key_json, str) and key_json):
        # the key column holds REGION|PROJECT|JSON; the cache split it into lines, which JSON does not mind
        region, project, key_json = ([*"\n".join(channel.keys).split("|", 2), "", ""])[:3]
    if not region or not key_json:
        raise UpstreamError(f"channel #{channel.id} (Vertex AI) needs region, vertex_ai_project_id and "
                            "vertex_ai_adc in its config, or the key REGION|PROJECT_ID|SERVICE_ACCOUNT_JSON",
                            code="invalid_channel_key")
    account = service_account(key_json.strip())
    return VertexSettings(region.strip(), (project or "").strip() or account.project_id, account)


def _is_claude(model: str) -> bool:
    return model.startswith("claude")


class VertexStream:
    """Gemini's or Claude's SSE, told apart by the first bytes (Claude names its events)."""

    def __init__(self, request: RelayRequest) -> None:
        self._request = request
        self._inner: StreamConverter | None = None

    @property
    def usage(self) -> TokenUsage | None:
        return self._inner.usage if self._inner is not None else None

    def _converter(self, first: bytes) -> StreamConverter:
        if self._inner is None:
            request = self._request
            if first.lstrip().startswith(b"event:"):
                self._inner = AnthropicChatStream(request.model, include_usage=request.client_wants_usage,
                                                  json_tool=needs_json_tool(request.document()))
            else:
                self._inner = GeminiChatStream(request.model, include_usage=request.client_wants_usage)
        return self._inner

    def feed(self, data: bytes) -> bytes:
        return self._converter(data).feed(data)

    def finish(self) -> bytes:
        return self._converter(b"").finish()

    def produced_text(self) -> str:
        return self._inner.produced_text() if self._inner is not None else ""


class VertexAdapter(VendorAdapter):
    vendor = "Vertex AI"
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS})

    def __init__(self) -> None:
        self._tokens = ServiceAccountTokens()

    async def credential(self, channel: CachedChannel, key: str) -> str:
        return await self._tokens.token(vertex_settings(channel).account)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        settings = vertex_settings(channel)
        region = settings.region
        host = "aiplatform.googleapis.com" if region == "global" else f"{region}-aiplatform.googleapis.com"
        base = self.base_url(channel, f"https://{host}")
        prefix = f"{base}/v1/projects/{settings.project}/locations/{region}/publishers"
        if request.mode is RelayMode.EMBEDDINGS:
            return f"{prefix}/google/models/{model}:predict"
        if _is_claude(model):
            method = "streamRawPredict?alt=sse" if request.stream else "rawPredict"
            return f"{prefix}/anthropic/models/{vertex_claude_model(model)}:{method}"
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return f"{prefix}/google/models/{model}:{method}"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        document = request.document()
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(_embeddings_request(document))
        if _is_claude(model):
            body = chat_to_anthropic(document, model, request.images).body
            del body["model"]
            return encode_json({"anthropic_version": ANTHROPIC_VERSION, **body})
        return encode_json(chat_to_gemini(document, request.images))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            return _embeddings_answer(answer, model)
        if answer.get("type") == "message":
            return message_to_chat(answer, json_tool=needs_json_tool(request.document()))
        return gemini_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> VertexStream:
        return VertexStream(request)

    def native_adapter(self, channel: CachedChannel, request: RelayRequest) -> Adapter | None:
        from oneapi.relay.client_formats import ANTHROPIC_MESSAGES, GEMINI_NATIVE

        client, model = request.client, channel.upstream_model(request.model)
        if client.format is ANTHROPIC_MESSAGES and _is_claude(model):
            return VertexMessages(self, client)
        if client.format is GEMINI_NATIVE and not _is_claude(model):
            return GEMINI_NATIVE.native(self, client)  # Gemini's own body, to Vertex's URL
        return None


class VertexMessages(Adapter):
    """A ``/v1/messages`` request for Claude: Anthropic's own body to ``rawPredict``, answered untouched.

    The body loses ``model`` (it is in the URL) and gains ``anthropic_version``; the answer,
    streamed or whole, is Anthropic's own, so it passes back as it came, usage read on the way.
    """

    modes = frozenset({RelayMode.CHAT})

    def __init__(self, vertex: VertexAdapter, client: Any) -> None:
        self.vertex, self.client = vertex, client

    async def credential(self, channel: CachedChannel, key: str) -> str:
        return await self.vertex.credential(channel, key)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return self.vertex.request_url(channel, request, model)

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return self.vertex.request_headers(channel, key, request)

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        body = {name: value for name, value in self.client.document().items() if name != "model"}
        return encode_json({**body, "anthropic_version": ANTHROPIC_VERSION})

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        return anthropic_answer(body, content_type)

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        return UsageSniffer(read_anthropic_event)

    def error_message(self, status: int, body: bytes) -> str:
        return self.vertex.error_message(status, body)


def _embeddings_request(document: dict[str, Any]) -> dict[str, Any]:
    texts = embedding_texts(document, "Vertex AI")
    body: dict[str, Any] = {"instances": [{"content": text} for text in texts]}
    if document.get("dimensions"):
        body["parameters"] = {"outputDimensionality": document["dimensions"]}
    return body


def _embeddings_answer(answer: dict[str, Any], model: str) -> dict[str, Any]:
    data, tokens = [], 0
    for index, prediction in enumerate(answer.get("predictions") or ()):
        embeddings = prediction.get("embeddings") or {}
        data.append({"object": "embedding", "index": index, "embedding": embeddings.get("values") or []})
        tokens += int((embeddings.get("statistics") or {}).get("token_count") or 0)
    usage = TokenUsage(prompt_tokens=tokens).openai()
    return {"object": "list", "data": data, "model": model, "usage": usage}


ADAPTER = VertexAdapter()
