"""Clients that speak another vendor's format: ``/v1/messages``, Gemini-native, ``/v1/responses``.

A request in a client format is relayed like any other, as a chat completion, so the
same auth, channel choice, retries, billing and logs apply. Per attempt,
:func:`serving_adapter` decides how the chosen channel serves it:

* a channel of the client's own vendor (``/v1/messages`` to Anthropic, Gemini-native to
  Gemini) gets the client's body unchanged and answers through untouched, with usage
  read from the vendor's fields on the way;
* any other channel gets the chat request through its own adapter, and the answer is
  converted from chat back into the client's format (streams through two converters).

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
from oneapi.relay.checks import AnthropicHead, GeminiHead, check_body, decode_document, field_error
from oneapi.relay.formats.events import TokenUsage, UsageSniffer, decode_json, encode_json
from oneapi.relay.request import RelayMode, RelayRequest, parse_request

if TYPE_CHECKING:
    from oneapi.cache import CachedChannel
    from oneapi.relay.formats.responses import ResponsesChat
    from oneapi.relay.responses_store import ResponseStore

__all__ = ("ANTHROPIC_MESSAGES", "GEMINI_NATIVE", "ClientFormat", "ClientRequest", "serving_adapter")

_ANTHROPIC_HEADERS = ("anthropic-version", "anthropic-beta")


@dataclass(slots=True)
class ClientRequest:
    """The client's own request, kept beside the chat request it became."""

    format: ClientFormat
    document: dict[str, Any]
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    action: str = ""  # Gemini: generateContent or streamGenerateContent
    sse: bool = True  # Gemini streams: SSE (alt=sse) or one JSON array


def _decode(body: bytes, head: type[msgspec.Struct]) -> dict[str, Any]:
    """The client's document, checked at the door (``oneapi.relay.checks``) against ``head``."""
    check_body(body)
    try:
        document = decode_document(body) if body else None
    except msgspec.DecodeError:
        raise InvalidRequest("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_request")
    try:
        msgspec.convert(document, head)
    except msgspec.ValidationError as exc:
        raise field_error(exc) from None
    return document


def _chat_request(chat: dict[str, Any], client: ClientRequest) -> RelayRequest:
    request = parse_request(RelayMode.CHAT, encode_json(chat), "application/json")
    request.client = client
    return request


class ClientFormat(ABC):
    """One client wire format served over chat completions."""

    #: the ``api_format`` of channels that take this format's bodies unchanged
    native_format: str

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
                 chat: RelayRequest) -> None:
        self.inner, self.format, self.client, self.chat = inner, client_format, client, chat
        self.modes = frozenset({RelayMode.CHAT, RelayMode.RESPONSES})

    def build_request(self, channel: CachedChannel, key: str, request: RelayRequest,
                      model: str) -> UpstreamRequest:
        return self.inner.build_request(channel, key, self.chat, model)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return self.inner.request_url(channel, self.chat, model)

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return self.inner.request_headers(channel, key, self.chat)

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return self.inner.convert_request(channel, self.chat, model)

    async def prepare(self, request: RelayRequest) -> None:
        await self.inner.prepare(self.chat)

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

    def stream_problem(self, first: bytes) -> str | None:
        return self.inner.stream_problem(first)

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
        if self.client.document.get("model", model) == model:
            return self.client.body
        return encode_json({**self.client.document, "model": model})

    def error_message(self, status: int, body: bytes) -> str:
        return self.vendor.error_message(status, body)

    def answer_problem(self, request: RelayRequest, content_type: str, body: bytes) -> str | None:
        return self.vendor.answer_problem(request, content_type, body)

    def stream_problem(self, first: bytes) -> str | None:
        return self.vendor.stream_problem(first)

    @abstractmethod
    def usage(self, answer: dict[str, Any]) -> TokenUsage | None: ...

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        try:
            answer = decode_json(body)
        except msgspec.DecodeError:
            answer = None
        return ConvertedResponse(body, content_type, self.usage(answer) if isinstance(answer, dict) else None)


class _AnthropicPassThrough(_PassThrough):
    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return self.vendor.request_url(channel, request, model)

    def usage(self, answer: dict[str, Any]) -> TokenUsage | None:
        from oneapi.relay.formats.anthropic import anthropic_usage

        return anthropic_usage(answer.get("usage")) if "usage" in answer else None

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        from oneapi.relay.formats.anthropic import read_anthropic_event

        return UsageSniffer(read_anthropic_event)


class _GeminiPassThrough(_PassThrough):
    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        from oneapi.relay.adapters.gemini import GeminiAdapter

        assert isinstance(self.vendor, GeminiAdapter)
        # streams are always asked for as SSE, so usage can be read; array clients get them re-framed
        action = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return f"{self.vendor.model_url(channel, model)}:{action}"

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return self.client.body  # the model is in the URL

    def usage(self, answer: dict[str, Any]) -> TokenUsage | None:
        from oneapi.relay.formats.gemini import gemini_usage

        return gemini_usage(answer.get("usageMetadata"))

    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        from oneapi.relay.formats.gemini import read_gemini_event
        from oneapi.relay.formats.gemini_in import GeminiArrayFraming

        sniffer = UsageSniffer(read_gemini_event)
        return sniffer if self.client.sse else GeminiArrayFraming(sniffer)

    def stream_media_type(self, request: RelayRequest) -> str:
        return "text/event-stream" if self.client.sse else "application/json"


class AnthropicMessages(ClientFormat):
    """``POST /v1/messages``: Anthropic's Messages API."""

    native_format = "anthropic"

    def parse(self, body: bytes, headers: dict[str, str]) -> RelayRequest:
        document = _decode(body, AnthropicHead)
        if not document.get("model"):
            raise InvalidRequest("model: field required", param="model", code="missing_model")
        from oneapi.relay.formats.anthropic_in import messages_to_chat

        kept = {name: headers[name] for name in _ANTHROPIC_HEADERS if headers.get(name)}
        return _chat_request(messages_to_chat(document), ClientRequest(self, document, body, kept))

    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        return _AnthropicPassThrough(vendor, client)

    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        from oneapi.relay.formats.anthropic_in import chat_to_message

        return chat_to_message(completion, model)

    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        from oneapi.relay.formats.anthropic_in import ChatToAnthropicStream

        return ChatToAnthropicStream(model)


class GeminiNative(ClientFormat):
    """``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``."""

    native_format = "gemini"
    actions = ("generateContent", "streamGenerateContent")

    def parse(self, body: bytes, model: str, action: str, sse: bool) -> RelayRequest:
        if action not in self.actions:
            raise InvalidRequest(f"unsupported Gemini method {action!r}; use one of {', '.join(self.actions)}",
                                 code="unsupported_method")
        from oneapi.relay.formats.gemini_in import gemini_request_to_chat

        document = _decode(body, GeminiHead)
        stream = action == "streamGenerateContent"
        chat = gemini_request_to_chat(document, model, stream=stream)
        return _chat_request(chat, ClientRequest(self, document, body, action=action, sse=sse))

    def native(self, vendor: Adapter, client: ClientRequest) -> Adapter:
        return _GeminiPassThrough(vendor, client)

    def from_chat(self, completion: dict[str, Any], client: ClientRequest, model: str) -> dict[str, Any]:
        from oneapi.relay.formats.gemini_in import chat_to_gemini_response

        return chat_to_gemini_response(completion, model)

    def stream_from_chat(self, client: ClientRequest, model: str) -> StreamConverter:
        from oneapi.relay.formats.gemini_in import ChatToGeminiStream

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
        if self.store is None or conversion is None or self.document.get("store") is False:
            return
        from oneapi.relay.responses_store import Stored

        previous = self.document.get("previous_response_id")
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

    async def prepare(self, request: RelayRequest) -> None:
        from oneapi.relay.formats.responses import responses_to_chat, stored_context

        client = self.client
        history, references = ((None, {}) if client.store is None
                               else await stored_context(client.document, client.store, client.user_id))
        conversion = responses_to_chat(client.document, history=history, references=references,
                                       hosted=self.inner.hosted_tools)
        client.conversion = conversion
        self.chat = parse_request(RelayMode.CHAT, encode_json(conversion.chat), "application/json")
        await self.inner.prepare(self.chat)

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
        return _ViaChat(adapter, client.format, client, request) if RelayMode.CHAT in adapter.modes else None
    if request.mode is RelayMode.RESPONSES and RelayMode.RESPONSES not in adapter.modes \
            and RelayMode.CHAT in adapter.modes:
        client = _ResponsesClient(_RESPONSES, request.document(), request.body, store=store, user_id=user_id)
        return _ResponsesViaChat(adapter, _RESPONSES, client, request)  # its chat request is made in prepare
    return adapter
