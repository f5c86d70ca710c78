"""Clients that speak another vendor's format: ``/v1/messages``, Gemini-native, ``/v1/responses``.

Route first, convert only when the channel needs it. A request in a client format is
read only for what auth, limits, routing and billing need (model, stream, the output
limit; the size stands in for the prompt), through a msgspec struct that builds no
objects for the rest, and is relayed like any other request. Per attempt,
:func:`serving_adapter` decides how the chosen channel serves it:

* a channel of the client's own vendor (``/v1/messages`` to Anthropic, Gemini-native to
  Gemini) gets the client's body unchanged (betas, server tools, documents,
  ``cache_control``, thinking signatures, roles the gateway does not know) and answers
  through untouched, with usage read from the vendor's fields on the way;
* any other channel gets the request converted to chat (once, on first need) and sent
  through its own adapter, and the answer converted from chat back into the client's
  format (streams through two converters). Hosted tools the conversion or the target
  vendor has no form for are left out and named in the ``X-Oneapi-Omitted-Tools``
  response header and in the log row (the adapter's ``notes``).

``/v1/responses`` is native to OpenAI-format channels; others serve it through chat,
and the answers made so are kept in :mod:`oneapi.relay.responses_store` for the API's
state (``previous_response_id``, ``item_reference``, ``GET /v1/responses/{id}``).

Each format's conversions are imported where they are first used: a gateway that only
relays chat completions never loads them (about 7 MB and 0.1 s of boot, ``bench/boot.py``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from oneapi.errors import InvalidRequest
from oneapi.relay.adapters.base import Adapter, ConvertedResponse, StreamConverter, UpstreamRequest
from oneapi.relay.checks import (
    AnthropicHead,
    GeminiHead,
    check_body,
    check_model,
    decode_document,
    field_error,
    too_deep,
)
from oneapi.relay.formats.events import TokenUsage, UsageSniffer, decode_json, encode_json
from oneapi.relay.request import RelayMode, RelayRequest, parse_request

if TYPE_CHECKING:
    from oneapi.cache import CachedChannel
    from oneapi.relay.formats.chat import ClientChat
    from oneapi.relay.formats.responses import ResponsesChat
    from oneapi.relay.responses_store import ResponseStore

__all__ = ("ANTHROPIC_MESSAGES", "GEMINI_NATIVE", "ClientFormat", "ClientRequest", "decode_body",
           "serving_adapter")

_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")


class _AnthropicAnswer(msgspec.Struct):
    usage: dict[str, Any] | None = None


class _GeminiAnswer(msgspec.Struct):
    usageMetadata: dict[str, Any] | None = None  # Gemini's spelling


_anthropic_head = msgspec.json.Decoder(AnthropicHead)
_gemini_head = msgspec.json.Decoder(GeminiHead)


def _head(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    """The fields the relay reads, checked at the door (``oneapi.relay.checks``)."""
    check_body(body)
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise field_error(exc) from None
    except msgspec.DecodeError:
        raise InvalidRequest("the request body is not valid JSON", code="invalid_json") from None
    except RecursionError:  # deeper than msgspec's own guard while skimming
        raise too_deep() from None


@dataclass(slots=True)
class ClientRequest:
    """The client's own request; its chat form is made only for a channel of another format."""

    format: ClientFormat
    body: bytes
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""  # Gemini: generateContent or streamGenerateContent
    sse: bool = True  # Gemini streams: SSE (alt=sse) or one JSON array
    _document: dict[str, Any] | None = None
    _chat: tuple[RelayRequest, ClientChat] | None = None

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = decode_body(self.body)
        return self._document

    def chat(self) -> tuple[RelayRequest, ClientChat]:
        """The request as chat (converted on first use) and what the conversion left out."""
        if self._chat is None:
            converted = self.format.to_chat(self)
            request = parse_request(RelayMode.CHAT, encode_json(converted.document), "application/json")
            request.client = self
            self._chat = request, converted
        return self._chat


def decode_body(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object."""
    try:
        document = decode_document(body) if body else None
    except msgspec.DecodeError:
        raise InvalidRequest("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_request")
    return document


def _relay_request(client: ClientRequest, stream: bool, max_tokens: int) -> RelayRequest:
    request = RelayRequest(mode=RelayMode.CHAT, body=client.body, content_type="application/json",
                           model=client.model, stream=stream, max_tokens=max(max_tokens, 0))
    request.client = client
    return request


class ClientFormat(ABC):
    """One client wire format served over chat completions."""

    #: the ``api_format`` of channels that take this format's bodies unchanged
    native_format: str

    def to_chat(self, client: ClientRequest) -> ClientChat:
        """The client's request as a chat request, from its document alone.

        The Responses API's conversion also needs the stored state, read asynchronously:
        it is made in its adapter's ``prepare`` instead, and never here.
        """
        raise NotImplementedError(f"{type(self).__name__} converts in its adapter's prepare")

    @abstractmethod
    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        """The pass-through adapter for a channel of this format's own vendor."""

    @abstractmethod
    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        """A whole chat completion in this format."""

    @abstractmethod
    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        """A converter from chat chunks to this format's stream."""

    def stream_media_type(self, client: ClientRequest) -> str:
        return "text/event-stream"


class _Chained:
    """Two stream converters in a row: vendor → chat chunks → the client's format."""

    def __init__(self, first: StreamConverter, second: StreamConverter) -> None:
        self._first, self._second = first, second

    @property
    def usage(self) -> TokenUsage | None:
        return self._first.usage or self._second.usage

    def feed(self, data: bytes) -> bytes:
        middle = self._first.feed(data)
        return self._second.feed(middle) if middle else b""

    def finish(self) -> bytes:
        return self._second.feed(self._first.finish()) + self._second.finish()

    def produced_text(self) -> str:
        return self._first.produced_text()


class _ViaChat(Adapter):
    """A channel's own adapter serving a client format through chat completions."""

    def __init__(self, inner: Adapter, client_format: ClientFormat, client: ClientRequest,
                 chat: RelayRequest, omitted: tuple[str, ...] = ()) -> None:
        self.inner, self.format, self.client, self.chat = inner, client_format, client, chat
        self.modes = frozenset({RelayMode.CHAT, RelayMode.RESPONSES})
        self.omitted = omitted

    @property
    def notes(self) -> dict[str, str]:
        return {"omitted-tools": ",".join(self.omitted)} if self.omitted else {}

    def build_request(self, channel: CachedChannel, key: str, request: RelayRequest,
                      model: str) -> UpstreamRequest:
        return self.inner.build_request(channel, key, self.chat, model)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return self.inner.request_url(channel, self.chat, model)

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return self.inner.request_headers(channel, key, self.chat)

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return self.inner.convert_request(channel, self.chat, model)

    async def prepare(self, request: RelayRequest, *, allow_private_images: bool) -> None:
        await self.inner.prepare(self.chat, allow_private_images=allow_private_images)

    async def credential(self, channel: CachedChannel, key: str) -> str:
        return await self.inner.credential(channel, key)

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        chat = self.inner.convert_response(self.chat, body, content_type)
        try:
            completion = decode_json(chat.body)
        except msgspec.DecodeError:
            return chat
        converted = self.format.from_chat(completion, self.client, request.model)
        return ConvertedResponse(encode_json(converted), "application/json", chat.usage)

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        return _Chained(self.inner.stream_converter(self.chat), self.format.stream_from_chat(self.client,
                                                                                               request.model))

    def is_stream(self, content_type: str) -> bool:
        return self.inner.is_stream(content_type)

    def answer_problem(self, request: RelayRequest, content_type: str, body: bytes) -> str | None:
        return self.inner.answer_problem(self.chat, content_type, body)

    def stream_problem(self, content_type: str, first: bytes) -> str | None:
        return self.inner.stream_problem(content_type, first)

    def stream_media_type(self, request: RelayRequest) -> str:
        return self.format.stream_media_type(self.client)

    def error_message(self, status: int, body: bytes) -> str:
        return self.inner.error_message(status, body)


class _PassThrough(Adapter):
    """The client's body to a channel of its own vendor, the answer back untouched."""

    def __init__(self, vendor: Adapter, client: ClientRequest) -> None:
        self.vendor, self.client = vendor, client
        self.modes = frozenset({RelayMode.CHAT})

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {**self.vendor.request_headers(channel, key, request), **self.client.headers}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.model == model:
            return self.client.body
        return encode_json({**self.client.document(), "model": model})

    def error_message(self, status: int, body: bytes) -> str:
        return self.vendor.error_message(status, body)

    async def credential(self, channel: CachedChannel, key: str) -> str:
        return await self.vendor.credential(channel, key)

    def answer_problem(self, request: RelayRequest, content_type: str, body: bytes) -> str | None:
        return self.vendor.answer_problem(request, content_type, body)

    def stream_problem(self, content_type: str, first: bytes) -> str | None:
        return self.vendor.stream_problem(content_type, first)

    #: decodes only the answer's usage object (a struct skipping the rest of the answer)
    usage_decoder: msgspec.json.Decoder[Any]

    @abstractmethod
    def usage(self, answer: Any) -> TokenUsage | None: ...

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        try:
            answer = self.usage_decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return ConvertedResponse(body, content_type, None)
        return ConvertedResponse(body, content_type, self.usage(answer))


class _AnthropicPassThrough(_PassThrough):
    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return self.vendor.request_url(channel, request, model)

    usage_decoder = msgspec.json.Decoder(_AnthropicAnswer)

    def usage(self, answer: _AnthropicAnswer) -> TokenUsage | None:
        from oneapi.relay.formats.anthropic_upstream import anthropic_usage

        return anthropic_usage(answer.usage) if answer.usage is not None else None

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        from oneapi.relay.formats.anthropic_upstream import read_anthropic_event

        return UsageSniffer(read_anthropic_event)


class _GeminiPassThrough(_PassThrough):
    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        # the vendor's chat URL (Gemini's or Vertex AI's): streams are always asked for as SSE,
        # so usage can be read; array clients get them re-framed
        return self.vendor.request_url(channel, request, model)

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return self.client.body  # the model is in the URL

    usage_decoder = msgspec.json.Decoder(_GeminiAnswer)

    def usage(self, answer: _GeminiAnswer) -> TokenUsage | None:
        from oneapi.relay.formats.gemini_upstream import gemini_usage

        return gemini_usage(answer.usageMetadata)

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        from oneapi.relay.formats.gemini_client import GeminiArrayFraming
        from oneapi.relay.formats.gemini_upstream import read_gemini_event

        sniffer = UsageSniffer(read_gemini_event)
        return sniffer if self.client.sse else GeminiArrayFraming(sniffer)

    def stream_media_type(self, request: RelayRequest) -> str:
        return "text/event-stream" if self.client.sse else "application/json"


class AnthropicMessages(ClientFormat):
    """``POST /v1/messages``: Anthropic's Messages API."""

    native_format = "anthropic"

    def parse(self, body: bytes, headers: dict[str, str]) -> RelayRequest:
        head = _head(_anthropic_head, body)
        if not check_model(head.model):
            raise InvalidRequest("model: Field required", param="model", code="missing_model")
        head.check()
        kept = {name: headers[name] for name in _ANTHROPIC_HEADERS if headers.get(name)}
        return _relay_request(ClientRequest(self, body, head.model, kept), head.stream, head.max_tokens)

    def to_chat(self, client: ClientRequest) -> ClientChat:
        from oneapi.relay.formats.anthropic_client import messages_to_chat

        return messages_to_chat(client.document())

    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        return _AnthropicPassThrough(vendor, client)

    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        from oneapi.relay.formats.anthropic_client import chat_to_message

        return chat_to_message(completion, model)

    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        from oneapi.relay.formats.anthropic_client import ChatToAnthropicStream

        return ChatToAnthropicStream(model)


class GeminiNative(ClientFormat):
    """``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``."""

    native_format = "gemini"
    actions = ("generateContent", "streamGenerateContent")

    def parse(self, body: bytes, model: str, action: str, sse: bool) -> RelayRequest:
        if action not in self.actions:
            raise InvalidRequest(f"unsupported Gemini method {action!r}; "
                                 f"use one of {', '.join(self.actions)}",
                                 code="unsupported_method")
        check_model(model)
        head = _head(_gemini_head, body)
        head.check()
        config = head.generationConfig
        client = ClientRequest(self, body, model, action=action, sse=sse)
        limit = config.maxOutputTokens if config else 0
        return _relay_request(client, action == "streamGenerateContent", limit)

    def to_chat(self, client: ClientRequest) -> ClientChat:
        from oneapi.relay.formats.gemini_client import gemini_request_to_chat

        return gemini_request_to_chat(client.document(), client.model,
                                      stream=client.action == "streamGenerateContent")

    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        return _GeminiPassThrough(vendor, client)

    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        from oneapi.relay.formats.gemini_client import chat_to_gemini_response

        return chat_to_gemini_response(completion, model)

    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        from oneapi.relay.formats.gemini_client import ChatToGeminiStream

        return ChatToGeminiStream(model, sse_format=client.sse)

    def stream_media_type(self, client: ClientRequest) -> str:
        return "text/event-stream" if client.sse else "application/json"


@dataclass(slots=True)
class _ResponsesClient(ClientRequest):
    """A ``/v1/responses`` request on its way through chat, and where its answer is stored."""

    conversion: ResponsesChat | None = None
    store: ResponseStore | None = None
    user_id: int = 0

    def keep(self, response: dict[str, Any]) -> None:
        """Store the answer unless the client said ``store: false`` (OpenAI's default is true)."""
        conversion = self.conversion
        if self.store is None or conversion is None or self.document().get("store") is False:
            return
        from oneapi.relay.responses_store import Stored

        previous = self.document().get("previous_response_id")
        self.store.put(Stored(response["id"], self.user_id, int(response.get("created_at") or time.time()),
                              response, conversion.items, str(previous) if previous else None))


class _Responses(ClientFormat):
    """``POST /v1/responses`` on channels whose format has no Responses API (see ``formats.responses``)."""

    native_format = "openai"

    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        return vendor

    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        from oneapi.relay.formats.responses import chat_to_response

        assert isinstance(client, _ResponsesClient) and client.conversion is not None
        response = chat_to_response(completion, client.conversion)
        client.keep(response)
        return response

    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        from oneapi.relay.formats.responses import ChatToResponsesStream

        assert isinstance(client, _ResponsesClient) and client.conversion is not None
        return ChatToResponsesStream(client.conversion, client.keep)


class _ResponsesViaChat(_ViaChat):
    """``/v1/responses`` through a chat channel: state read from the store before each attempt."""

    client: _ResponsesClient

    async def prepare(self, request: RelayRequest, *, allow_private_images: bool) -> None:
        from oneapi.relay.formats.responses import responses_to_chat, stored_context

        client = self.client
        history, references = ((None, {}) if client.store is None
                               else await stored_context(client.document(), client.store, client.user_id))
        conversion = responses_to_chat(client.document(), history=history, references=references,
                                       hosted=self.inner.hosted_tools)
        client.conversion = conversion
        self.chat = parse_request(RelayMode.CHAT, encode_json(conversion.chat), "application/json")
        await self.inner.prepare(self.chat, allow_private_images=allow_private_images)

    @property
    def notes(self) -> dict[str, str]:
        omitted = self.client.conversion.omitted if self.client.conversion is not None else ()
        return {"omitted-tools": ",".join(omitted)} if omitted else {}


ANTHROPIC_MESSAGES = AnthropicMessages()
GEMINI_NATIVE = GeminiNative()
_RESPONSES = _Responses()


def serving_adapter(adapter: Adapter | None, channel: CachedChannel, request: RelayRequest,
                    store: ResponseStore | None = None, user_id: int = 0) -> Adapter | None:
    """The adapter that serves ``request`` on ``channel`` (None: the channel cannot).

    ``store`` keeps the ``/v1/responses`` answers made through chat, owned by ``user_id``.
    """
    if adapter is None:
        return None
    client = request.client
    if isinstance(client, ClientRequest):
        if channel.kind.api_format == client.format.native_format:
            return client.format.native(adapter, client)
        if (hosted := adapter.native_adapter(channel, request)) is not None:
            return hosted
        return _via_chat(adapter, client) if RelayMode.CHAT in adapter.modes else None
    if request.mode is RelayMode.RESPONSES and RelayMode.RESPONSES not in adapter.modes \
            and RelayMode.CHAT in adapter.modes:
        client = _ResponsesClient(_RESPONSES, request.body, request.model, store=store, user_id=user_id)
        return _ResponsesViaChat(adapter, _RESPONSES, client, request)  # its chat request is made in prepare
    return adapter


def _via_chat(adapter: Adapter, client: ClientRequest) -> _ViaChat:
    """The chat form of ``client`` through ``adapter``, without web search if its vendor has none."""
    chat, converted = client.chat()
    omitted = tuple(converted.omitted)
    if converted.web_search and "web_search" not in adapter.hosted_tools:
        document = {name: value for name, value in chat.document().items() if name != "web_search_options"}
        chat = parse_request(RelayMode.CHAT, encode_json(document), "application/json")
        omitted += (converted.web_search,)
    return _ViaChat(adapter, client.format, client, chat, omitted)
