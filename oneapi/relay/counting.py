"""Local token counts for answers whose upstream reported no usage.

The request and answer are both in OpenAI's shape here (adapters convert first; a
request in a client format passed through untouched is counted in its chat form), so one
set of rules serves every vendor. Speech is billed by characters of input, as one-api.
"""

from __future__ import annotations

from typing import Any

import msgspec

from oneapi.relay.formats.events import TokenUsage
from oneapi.relay.request import RelayMode, RelayRequest
from oneapi.relay.tokenizer import count_messages, count_text

__all__ = ("count_completion", "count_prompt", "count_usage")


def _joined(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_joined(item) for item in value)
    if isinstance(value, dict):
        return _joined(value.get("text") or value.get("content") or "")
    return ""


def count_prompt(request: RelayRequest) -> int:
    if not request.is_json:
        return 0
    client = request.client
    if client is not None and request.body is client.body:  # Anthropic's or Gemini's format: count as chat
        return count_prompt(client.chat()[0])
    try:
        document = request.document()
    except msgspec.DecodeError:
        return 0
    mode = request.mode
    if mode is RelayMode.CHAT:
        return count_messages(document.get("messages"), request.model)
    if mode is RelayMode.SPEECH:
        return len(str(document.get("input") or ""))
    if mode is RelayMode.COMPLETIONS:
        return count_text(_joined(document.get("prompt")), request.model)
    if mode is RelayMode.RESPONSES:
        text = _joined(document.get("instructions")) + _joined(document.get("input"))
        return count_text(text, request.model)
    if mode is RelayMode.RERANK:
        return count_text(_joined(document.get("query")) + _joined(document.get("documents")), request.model)
    if mode in (RelayMode.EMBEDDINGS, RelayMode.MODERATIONS):
        return count_text(_joined(document.get("input")), request.model)
    return 0


def _answer_text(request: RelayRequest, body: bytes, content_type: str) -> str:
    if not content_type.startswith("application/json"):
        return body.decode(errors="replace") if request.mode in (RelayMode.TRANSCRIPTIONS,
                                                                   RelayMode.TRANSLATIONS) else ""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if not isinstance(document, dict):
        return ""
    if request.mode in (RelayMode.TRANSCRIPTIONS, RelayMode.TRANSLATIONS):
        return str(document.get("text") or "")
    parts: list[str] = []
    for choice in document.get("choices") or ():
        if isinstance(choice, dict):
            message = choice.get("message")
            content = message.get("content") if isinstance(message, dict) else choice.get("text")
            parts.append(_joined(content))
    for item in document.get("output") or ():
        if isinstance(item, dict):
            parts.append(_joined(item.get("content")))
    return "".join(parts)


def count_completion(request: RelayRequest, body: bytes, content_type: str) -> int:
    return count_text(_answer_text(request, body, content_type), request.model)


def count_usage(request: RelayRequest, body: bytes, content_type: str) -> TokenUsage:
    """Usage of a whole answer, counted locally."""
    if request.mode in (RelayMode.SPEECH, RelayMode.EMBEDDINGS, RelayMode.MODERATIONS, RelayMode.RERANK):
        return TokenUsage(count_prompt(request), 0)
    return TokenUsage(count_prompt(request), count_completion(request, body, content_type))
