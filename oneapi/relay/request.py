"""The client's request as the relay sees it: route, raw body and the few fields it needs.

JSON bodies are decoded once with msgspec into a small struct that names only the fields
the relay reads (model, stream, limits); msgspec still checks the whole document's syntax
but builds no Python objects for the rest, so a pass-through request costs microseconds.
The full document is decoded only when something must change (model mapping, usage
injection, a forced system prompt). Multipart bodies (audio, image edits) are forwarded
as they came; only their text fields are read, and the ``model`` field's value is
swapped in place when a channel maps the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec

from oneapi.errors import InvalidRequest
from oneapi.relay.checks import (
    Count,
    Penalty,
    Probability,
    Temperature,
    Tokens,
    check_body,
    check_model,
    check_top_level,
    decode_document,
    field_error,
    too_deep,
)

__all__ = ("RelayMode", "RelayRequest", "parse_request", "replace_form_field")


class RelayMode(StrEnum):
    """An OpenAI endpoint, named by its path after ``/v1/``."""

    CHAT = "chat/completions"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    MODERATIONS = "moderations"
    IMAGES = "images/generations"
    IMAGE_EDITS = "images/edits"
    TRANSCRIPTIONS = "audio/transcriptions"
    TRANSLATIONS = "audio/translations"
    SPEECH = "audio/speech"
    RESPONSES = "responses"
    RERANK = "rerank"

    @property
    def multipart(self) -> bool:
        return self in _MULTIPART

    @property
    def streams_usage(self) -> bool:
        """Endpoints whose streams can end with a usage-only chunk on request."""
        return self in _STREAMS_USAGE


# module-level sets: naming members inside a property costs an enum look-up each time
_MULTIPART = frozenset((RelayMode.IMAGE_EDITS, RelayMode.TRANSCRIPTIONS, RelayMode.TRANSLATIONS))
_STREAMS_USAGE = frozenset((RelayMode.CHAT, RelayMode.COMPLETIONS))


_DEFAULT_MODELS = {RelayMode.MODERATIONS: "text-moderation-latest"}


class _Head(msgspec.Struct):
    """The fields the relay reads or checks in a JSON body; everything else is skipped.

    Types and ranges are checked by the decode itself (``oneapi.relay.checks``); the
    body's main field is kept undecoded (``Raw``) and only its first byte is looked at.
    """

    model: str = ""
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    max_tokens: Tokens | None = None
    max_completion_tokens: Tokens | None = None
    max_output_tokens: Tokens | None = None
    n: Count | None = None
    size: str | None = None
    quality: str | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    messages: msgspec.Raw = msgspec.Raw()
    input: msgspec.Raw = msgspec.Raw()
    prompt: msgspec.Raw = msgspec.Raw()


#: per mode, the body's main field: (name, JSON types it may be ('[' array, '"' string), required)
_MAIN_FIELD = {
    RelayMode.CHAT: ("messages", "[", False),  # optional: a realtime session relays a chat without any
    RelayMode.COMPLETIONS: ("prompt", '"[', False),
    RelayMode.EMBEDDINGS: ("input", '"[', True),
    RelayMode.MODERATIONS: ("input", '"[', False),
    RelayMode.IMAGES: ("prompt", '"', False),
    RelayMode.SPEECH: ("input", '"', False),
    RelayMode.RESPONSES: ("input", '"[', False),
}


_head_decoder = msgspec.json.Decoder(_Head)


@dataclass(slots=True)
class RelayRequest:
    mode: RelayMode
    body: bytes
    content_type: str
    model: str
    stream: bool = False
    client_wants_usage: bool = False
    max_tokens: int = 0
    n: int = 1
    size: str = ""
    quality: str = ""
    form: dict[str, str] = field(default_factory=dict)
    #: remote images an adapter's ``prepare`` fetched (URL -> ``InlineImage``)
    images: dict[str, Any] = field(default_factory=dict)
    #: the client's own request when it spoke another format (``oneapi.relay.client_formats``)
    client: Any = None
    _document: dict[str, Any] | None = None

    @property
    def hides_usage_chunk(self) -> bool:
        """True when the gateway asks for the usage chunk on the client's behalf and drops it."""
        return self.stream and self.mode.streams_usage and not self.client_wants_usage

    @property
    def is_json(self) -> bool:
        return not self.mode.multipart

    def document(self) -> dict[str, Any]:
        """The full JSON body, decoded on first use (a fresh copy is not made: don't mutate)."""
        if self._document is None:
            self._document = decode_document(self.body) if self.body else {}
        return self._document

    def prompt_estimate(self) -> int:
        """A cheap upper estimate of prompt tokens for the reservation (~4 bytes a token)."""
        return len(self.body) // 4


def parse_request(mode: RelayMode, body: bytes, content_type: str) -> RelayRequest:
    """Read what the relay needs from the body.

    Raises:
        InvalidRequest: malformed JSON, a field of the wrong type or no ``model``.
    """
    if mode.multipart:
        return _parse_multipart(mode, body, content_type)
    if not body:
        raise InvalidRequest("the request body is empty; send a JSON object", code="invalid_request")
    check_body(body)
    try:
        head = _head_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise field_error(exc) from None
    except msgspec.DecodeError:
        raise InvalidRequest("the request body is not valid JSON", code="invalid_json") from None
    except RecursionError:  # deeper than msgspec's own guard (~1,000 levels) while skimming
        raise too_deep() from None
    model = check_model(head.model or _DEFAULT_MODELS.get(mode, ""))
    if not model:
        raise InvalidRequest("you must provide a model parameter", param="model", code="missing_model")
    main = _MAIN_FIELD.get(mode)
    if main is not None:
        check_top_level(main[0], getattr(head, main[0]), main[1], main[2])
    limit = head.max_tokens or head.max_completion_tokens or head.max_output_tokens or 0
    wants_usage = bool(head.stream_options and head.stream_options.get("include_usage"))
    return RelayRequest(mode=mode, body=body, content_type="application/json", model=model,
                        stream=bool(head.stream), client_wants_usage=wants_usage, max_tokens=max(limit, 0),
                        n=head.n or 1, size=head.size or "", quality=head.quality or "")


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PART_NAME = re.compile(rb'name="([^"]*)"', re.IGNORECASE)


def _boundary(content_type: str) -> bytes:
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise InvalidRequest("this endpoint takes multipart/form-data", code="invalid_request")
    return match.group(1).encode()


def _text_fields(body: bytes, boundary: bytes) -> dict[str, tuple[int, int]]:
    """Text fields of a multipart body: name -> (start, end) of the value's bytes."""
    fields: dict[str, tuple[int, int]] = {}
    delimiter = b"--" + boundary
    position = body.find(delimiter)
    while position >= 0:
        header_start = position + len(delimiter) + 2
        header_end = body.find(b"\r\n\r\n", header_start)
        next_part = body.find(b"\r\n" + delimiter, header_start)
        if header_end < 0 or next_part < 0 or header_end > next_part:
            break
        headers = body[header_start:header_end]
        name = _PART_NAME.search(headers)
        if name is not None and b"filename=" not in headers.lower():
            fields[name.group(1).decode(errors="replace")] = (header_end + 4, next_part)
        position = next_part + 2
    return fields


def _parse_multipart(mode: RelayMode, body: bytes, content_type: str) -> RelayRequest:
    boundary = _boundary(content_type)
    spans = _text_fields(body, boundary)
    form = {name: body[start:end].decode(errors="replace") for name, (start, end) in spans.items()}
    model = check_model(form.get("model", "").strip())
    if not model:
        raise InvalidRequest("you must provide a model parameter", param="model", code="missing_model")
    stream = form.get("stream", "").lower() == "true"
    try:
        count = msgspec.convert(int(form.get("n") or 1), Count)
    except (ValueError, msgspec.ValidationError):
        raise InvalidRequest("n: expected an integer from 1 to 128", param="n",
                             code="invalid_request") from None
    return RelayRequest(mode=mode, body=body, content_type=content_type, model=model, stream=stream,
                        n=count, size=form.get("size", ""), quality=form.get("quality", ""), form=form)


def replace_form_field(request: RelayRequest, name: str, value: str) -> bytes:
    """The multipart body with one text field's value replaced (model mapping)."""
    spans = _text_fields(request.body, _boundary(request.content_type))
    if name not in spans:
        return request.body
    start, end = spans[name]
    return request.body[:start] + value.encode() + request.body[end:]
