"""OpenAI chat completions ⇄ DeepL's ``/v2/translate``, as one-api relays DeepL.

The model names the target language (``deepl-zh``, ``deepl-en``, ``deepl-ja``, ...; no
suffix means Chinese) and the last message's text is translated. DeepL wants the English
and Portuguese variants spelled out, so ``EN`` is sent as ``EN-US`` and ``PT`` as ``PT-BR``.
DeepL bills characters, so usage is the text's length as prompt tokens (as one-api does).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest
from oneapi.relay.formats.chat import chat_completion, content_text
from oneapi.relay.formats.events import TokenUsage

__all__ = ("chat_to_deepl", "deepl_to_chat", "target_language")

_VARIANTS = {"EN": "EN-US", "PT": "PT-BR"}


def target_language(model: str) -> str:
    _, _, suffix = model.partition("-")
    language = suffix.upper() or "ZH"
    return _VARIANTS.get(language, language)


def _text(document: Mapping[str, Any]) -> str:
    messages = [m for m in document.get("messages") or () if isinstance(m, dict)]
    text = content_text(messages[-1].get("content")) if messages else ""
    if not text:
        raise InvalidRequest("DeepL translates the last message's text, and it is empty", param="messages")
    return text


def chat_to_deepl(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    return {"text": [_text(document)], "target_lang": target_language(model)}


def deepl_to_chat(answer: Mapping[str, Any], document: Mapping[str, Any], model: str) -> dict[str, Any]:
    translations = answer.get("translations") or [{}]
    usage = TokenUsage(prompt_tokens=len(_text(document)))
    reply = {"role": "assistant", "content": translations[0].get("text") or ""}
    return chat_completion(f"chatcmpl-{uuid.uuid4().hex[:24]}", model, int(time.time()),
                           [{"index": 0, "message": reply, "logprobs": None, "finish_reason": "stop"}],
                           usage.openai())
