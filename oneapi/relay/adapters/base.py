"""The interface every upstream format implements.

An adapter turns an OpenAI-shaped client request into the vendor's HTTP request and the
vendor's answer back into OpenAI's shape, and says how many tokens were used. The relay
(``oneapi.relay.service``) owns everything else: auth, channel choice, retries, billing.

To add a vendor: a module ``oneapi/relay/adapters/<api_format>.py`` exposing ``ADAPTER``,
an instance of a subclass of :class:`Adapter`; ``channel_types`` names the module by the
channel type's ``api_format``. Streams are converted by a :class:`StreamConverter`,
which is fed raw upstream bytes and returns the bytes to send to the client.

A 2xx answer is checked before it is relayed or billed (:meth:`Adapter.answer_problem`,
:meth:`Adapter.stream_problem`): vendors and the proxies in front of them answer 200 with
an HTML page, a truncated body or an ``error`` object, and those are upstream failures,
retried like a 5xx. The check decodes only the top level of the answer (a dict of raw
values), a few microseconds for a chat completion.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import msgspec

from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.formats.events import TokenUsage
from oneapi.security import mask_secrets

if TYPE_CHECKING:
    from oneapi.cache import CachedChannel
    from oneapi.relay.request import RelayMode, RelayRequest
    from oneapi.relay.upstream import UpstreamTransport

__all__ = ("Adapter", "ConvertedResponse", "StreamConverter", "UpstreamRequest", "bad_answer")


@dataclass(slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(slots=True)
class ConvertedResponse:
    """A whole (non-streamed) answer in OpenAI's shape, and the usage it reported."""

    body: bytes
    media_type: str
    usage: TokenUsage | None


class StreamConverter(Protocol):
    """Turns an upstream byte stream into the client's; one instance per response."""

    @property
    def usage(self) -> TokenUsage | None:
        """Usage the upstream reported so far (read-only: converters own it)."""

    def feed(self, data: bytes) -> bytes:
        """Bytes to send now for ``data`` just read (may be empty while an event is partial)."""

    def finish(self) -> bytes:
        """Bytes still owed when the upstream ended."""

    def produced_text(self) -> str:
        """Text generated so far, for counting when the upstream reported no usage."""


class _Message(msgspec.Struct):
    message: str = ""


class _ErrorBody(msgspec.Struct):
    error: _Message | str | None = None
    message: str = ""


_top_level = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")


def bad_answer(status: int, problem: str, keys: Iterable[str]) -> UpstreamError:
    """The failure a 2xx answer that is no success becomes (502, retried, not billed)."""
    message = mask_secrets(f"the upstream answered HTTP {status} with {problem}", keys)
    return UpstreamError(message, code="bad_upstream_answer")


def _error_object(fields: Mapping[str, msgspec.Raw]) -> bool:
    error = fields.get("error")
    return error is not None and bytes(error) not in (b"null", b"false", b'""')


class Adapter(ABC):
    """One upstream wire format."""

    #: the relay modes this format can serve; others are answered with 400
    modes: frozenset[RelayMode]
    #: top-level fields of which a successful JSON answer has one, per mode; a mode not named
    #: here (audio: text, subtitles or sound) may answer with any body but HTML or an error
    answer_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: hosted tools the vendor runs itself, asked for as chat's ``web_search_options`` ("web_search")
    hosted_tools: frozenset[str] = frozenset()

    def base_url(self, channel: CachedChannel, default: str = "") -> str:
        """The channel's base URL when set, else ``default`` or its type's, without a trailing slash.

        The one rule for every vendor: a base URL set on the channel replaces the vendor's
        endpoint (private endpoints, regional gateways, test servers); vendors whose endpoint
        depends on the channel's config (AWS and Google regions) pass it as ``default``.
        """
        return (channel.base_url or default or channel.kind.base_url).rstrip("/")

    def build_request(self, channel: CachedChannel, key: str, request: RelayRequest,
                      model: str) -> UpstreamRequest:
        """The upstream call for ``request`` with ``model`` (after the channel's mapping)."""
        return UpstreamRequest("POST", self.request_url(channel, request, model),
                               self.request_headers(channel, key, request),
                               self.convert_request(channel, request, model))

    @abstractmethod
    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        """The vendor URL for ``request`` on ``channel``; ``model`` is the upstream name (after mapping)."""

    @abstractmethod
    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        """The upstream headers: ``key`` (as :meth:`credential` gave it) put the vendor's way."""

    @abstractmethod
    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        """The upstream body: the client's OpenAI request (``request.document()``) in the vendor's format.

        Raises:
            UnsupportedFeature: a field the vendor cannot honour (a 400 naming it and the vendor).
        """

    @abstractmethod
    def convert_response(self, request: RelayRequest, body: bytes,
                         content_type: str) -> ConvertedResponse:
        """A whole successful answer (``body`` as read) in OpenAI's shape, with the usage it reports."""

    @abstractmethod
    def stream_converter(self, request: RelayRequest) -> StreamConverter:
        """A fresh converter for one streamed answer: vendor bytes in, the client's stream out."""

    def error_message(self, status: int, body: bytes) -> str:
        """The upstream's own error message (most vendors use ``{"error": {"message"}}``)."""
        try:
            parsed = msgspec.json.decode(body, type=_ErrorBody)
        except (msgspec.DecodeError, msgspec.ValidationError):
            text = body[:300].decode(errors="replace").strip()
            return text or f"the upstream answered HTTP {status}"
        if isinstance(parsed.error, _Message) and parsed.error.message:
            return parsed.error.message
        if isinstance(parsed.error, str) and parsed.error:
            return parsed.error
        return parsed.message or f"the upstream answered HTTP {status}"

    def answer_problem(self, request: RelayRequest, content_type: str, body: bytes) -> str | None:
        """Why a 2xx whole answer is not a success, or None when it is one."""
        if "html" in content_type:
            return "an HTML page"
        expected = self.answer_fields.get(request.mode)
        if "json" not in content_type:
            return None if expected is None else f"a {content_type or 'untyped'} body where JSON was expected"
        try:
            fields = _top_level.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return "a body that is not a whole JSON object"
        if _error_object(fields):
            return f"an error: {self.error_message(200, body)}"
        if expected is not None and not any(name in fields for name in expected):
            return f"an answer without {' or '.join(map(repr, expected))}"
        return None

    def stream_problem(self, content_type: str, first: bytes) -> str | None:
        """Why a 2xx stream whose first chunk is ``first`` is not a success (None: it is one).

        An event stream must start with an SSE field, and an ``error`` object as its first
        event is a failure; other framings (AWS event streams, a whole JSON answer sent as
        chunks) are only checked for being empty or an HTML page.
        """
        head = first.lstrip()
        if not head:
            return "an empty stream"
        if "html" in content_type:
            return "an HTML page"
        if "event-stream" not in content_type:
            return None
        if not head.startswith(_SSE_FIELDS):
            return "a stream that is not server-sent events"
        start = head.find(b"data:")
        if start < 0 or b'"error"' not in head:
            return None
        line = head[start + 5:].split(b"\n", 1)[0]
        try:
            fields = _top_level.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None  # an event cut by the chunk boundary, or not an object: not an error object
        return f"an error event: {self.error_message(200, line)}" if _error_object(fields) else None
    async def credential(self, channel: CachedChannel, key: str) -> str:
        """The credential :meth:`build_request` gets for the channel key ``key``.

        The key itself for most vendors; vendors that trade a long-lived key for a short-lived
        token (Vertex AI's service accounts) return the token, cached across requests.
        """
        return key

    def native_adapter(self, channel: CachedChannel, request: RelayRequest) -> Adapter | None:
        """An adapter taking the client's own body (``request.client``) to ``channel`` unconverted.

        For vendors that host another vendor's API: Bedrock and Vertex AI take Anthropic's
        Messages body for Claude, Vertex AI Gemini's own body, so such a client keeps what the
        chat conversion would drop (prompt caching, thinking signatures). None: go through chat.
        """
        return None

    async def balance(self, client: UpstreamTransport, channel: CachedChannel, key: str) -> float:
        """The account's remaining balance (USD, or the vendor's own currency), read with ``key``.

        Only types whose ``ChannelType.balance`` is set are asked; others raise.
        """
        raise InvalidRequest(f"channel type {channel.kind.name} does not report a balance")

    async def prepare(self, request: RelayRequest, *, allow_private_images: bool) -> None:
        """Asynchronous work before :meth:`build_request` (fetching remote images, from private
        addresses too when ``ALLOW_PRIVATE_IMAGE_URLS`` allows it); idempotent."""
        return None

    @property
    def notes(self) -> dict[str, str]:
        """What the gateway changed in the request that the client should know (after
        :meth:`prepare`): sent as ``X-Oneapi-<name>`` headers and kept in the log row."""
        return {}

    def is_stream(self, content_type: str) -> bool:
        """Whether an answer with this content type is a stream to convert as it arrives."""
        return "event-stream" in content_type

    def stream_media_type(self, request: RelayRequest) -> str:
        """The content type of the converted stream sent to the client."""
        return "text/event-stream"

    def models(self, channel: CachedChannel) -> list[str]:
        """Models the channel offers: its own list, else its type's defaults."""
        return list(channel.models or channel.kind.default_models)

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        """The vendor's model-list call, when it has one (used by admin tools)."""
        return None
