"""OpenAI server-sent events passed through untouched, with usage read on the way.

Upstream bytes are forwarded as soon as an event is complete: a network read holding
several events is forwarded as one write, and nothing is re-encoded. Only events that
carry a usage object (or, for the Responses API, ``response.completed``) are decoded.
When the client did not ask for ``stream_options.include_usage`` the gateway asked for
it anyway, and the usage-only chunk (``"choices": []``) is removed before it reaches the
client, so the client sees exactly the stream it asked for.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from oneapi.relay.formats.events import TokenUsage

__all__ = ("OpenAIEventStream",)

_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_RESPONSE_DONE = re.compile(rb'"type"\s*:\s*"response\.(completed|incomplete|failed)"')
_decode = msgspec.json.Decoder().decode


def _data(event: bytes) -> bytes:
    """The payload of an event's ``data:`` line(s)."""
    lines = [line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines)


def _usage_of(document: dict[str, Any]) -> TokenUsage | None:
    usage = document.get("usage")
    if not isinstance(usage, dict):
        response = document.get("response")
        usage = response.get("usage") if isinstance(response, dict) else None
    return TokenUsage.from_openai(usage)


class OpenAIEventStream:
    """A :class:`~oneapi.relay.adapters.base.StreamConverter` for OpenAI-format SSE."""

    __slots__ = ("_drop_empty", "_hide_usage", "_partial", "_seen", "usage")

    def __init__(self, *, hide_usage_chunk: bool, drop_empty_choices: bool = False) -> None:
        self._hide_usage = hide_usage_chunk
        self._drop_empty = drop_empty_choices
        self._partial = b""
        self._seen: list[bytes] = []
        self.usage: TokenUsage | None = None

    def feed(self, data: bytes) -> bytes:
        if self._partial:
            data = self._partial + data
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        end = data.rfind(b"\n\n")
        if end < 0:
            self._partial = data
            return b""
        cut = end + 2
        complete, self._partial = data[:cut], data[cut:]
        if self.usage is None:
            self._seen.append(complete)
        if (_USAGE.search(complete) or _RESPONSE_DONE.search(complete)
                or (self._drop_empty and _EMPTY_CHOICES.search(complete))):
            complete = self._inspect(complete)
        return complete

    def finish(self) -> bytes:
        rest, self._partial = self._partial, b""
        return rest

    def _inspect(self, complete: bytes) -> bytes:
        """Decode only the events that may carry usage (or be dropped); keep the rest as bytes."""
        kept: list[bytes] = []
        changed = False
        for event in complete.split(b"\n\n")[:-1]:
            if not (_USAGE.search(event) or _RESPONSE_DONE.search(event)
                    or (self._drop_empty and _EMPTY_CHOICES.search(event))):
                kept.append(event)
                continue
            try:
                document: Any = _decode(_data(event))
            except msgspec.DecodeError:
                document = None
            if isinstance(document, dict):
                usage = _usage_of(document)
                empty = document.get("choices") == []
                if usage is not None:
                    self.usage = usage
                    self._seen.clear()
                    if self._hide_usage and empty:
                        changed = True
                        continue
                elif self._drop_empty and empty:
                    changed = True
                    continue
            kept.append(event)
        if not changed:
            return complete
        return b"".join(event + b"\n\n" for event in kept)

    def produced_text(self) -> str:
        parts: list[str] = []
        for event in b"".join(self._seen).split(b"\n\n"):
            payload = _data(event)
            if not payload or payload == b"[DONE]":
                continue
            try:
                document = _decode(payload)
            except msgspec.DecodeError:
                continue
            if isinstance(document, dict):
                _collect_text(document, parts)
        return "".join(parts)


def _collect_text(document: dict[str, Any], parts: list[str]) -> None:
    if document.get("type") == "response.output_text.delta":
        parts.append(str(document.get("delta") or ""))
        return
    for choice in document.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict):
            for name in ("content", "reasoning_content"):
                if isinstance(delta.get(name), str):
                    parts.append(delta[name])
            for call in delta.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    parts.append(str(function.get("name") or "") + str(function.get("arguments") or ""))
        elif isinstance(choice.get("text"), str):
            parts.append(choice["text"])
