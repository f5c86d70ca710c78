"""OpenAI chat completions ⇄ Coze's ``/open_api/v2/chat`` (bots), as one-api relays Coze.

The model names the bot (``bot-{bot id}``); the last message is the ``query`` and the earlier
ones the ``chat_history``. Answers are a list of typed messages of which the ``answer`` ones
are the reply; failures come with HTTP 200 and a non-zero ``code``. Streams are SSE events
``message`` (a piece of a typed message), ``done`` and ``error``. Coze reports no token
usage, so it is counted locally.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.formats.chat import chat_completion, content_text
from oneapi.relay.formats.events import JSONEventTranslator

__all__ = ("CozeChatStream", "chat_to_coze", "coze_to_chat")


def chat_to_coze(document: Mapping[str, Any], model: str, user: str) -> dict[str, Any]:
    messages = [m for m in document.get("messages") or () if isinstance(m, dict)]
    if not messages:
        raise InvalidRequest("messages must not be empty", param="messages")
    history = [{"role": "assistant" if m.get("role") == "assistant" else "user",
                "content": content_text(m.get("content")), "content_type": "text"} for m in messages[:-1]]
    body: dict[str, Any] = {"bot_id": model.removeprefix("bot-"), "user": user,
                            "query": content_text(messages[-1].get("content")),
                            "stream": bool(document.get("stream"))}
    if history:
        body["chat_history"] = history
    return body


def coze_to_chat(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    if answer.get("code"):
        raise UpstreamError(f"Coze: {answer.get('msg') or 'error'} (code {answer['code']})")
    text = "".join(str(m.get("content") or "") for m in answer.get("messages") or ()
                   if isinstance(m, dict) and m.get("type") == "answer")
    return chat_completion(f"chatcmpl-{answer.get('conversation_id') or ''}", model, int(time.time()),
                           [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                             "finish_reason": "stop"}], None)


class CozeChatStream(JSONEventTranslator):
    """Coze's SSE events in, OpenAI chunks out."""

    def _object(self, data: dict[str, Any]) -> bytes:
        kind = data.get("event")
        if kind == "message":
            message = data.get("message") or {}
            if message.get("type") != "answer":  # follow-up suggestions, verbose traces
                return b""
            return self._writer.text(str(message.get("content") or ""))
        if kind == "done":
            return self._writer.finish("stop") + self._end()
        if kind == "error":
            info = data.get("error_information") or {}
            return self._fail(f"Coze: {info.get('msg') or 'error'} (code {info.get('code')})")
        return b""
