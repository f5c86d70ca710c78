"""OpenAI chat completions ⇄ AIProxy's knowledge-base API (``/api/library/ask``), as one-api relays it.

The last message is the ``query`` asked of the library ``libraryId``; the answer's
``documents`` are appended to the reply as a numbered list of Markdown links (one-api's
"参考文档" block, "reference documents"). Failures come with ``success: false``. Streams are
SSE objects with a ``content`` piece, and ``documents`` with ``finish: true`` at the end. No
token usage is reported, so it is counted locally.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.formats.chat import chat_completion, content_text
from oneapi.relay.formats.events import JSONEventTranslator

__all__ = ("LibraryChatStream", "chat_to_library", "library_to_chat")


def chat_to_library(document: Mapping[str, Any], model: str, library_id: str) -> dict[str, Any]:
    messages = [m for m in document.get("messages") or () if isinstance(m, dict)]
    if not messages:
        raise InvalidRequest("messages must not be empty", param="messages")
    return {"model": model, "query": content_text(messages[-1].get("content")), "libraryId": library_id,
            "stream": bool(document.get("stream"))}


def _references(documents: Any) -> str:
    if not documents:
        return ""
    lines = [f"{i}. [{d.get('title') or ''}]({d.get('url') or ''})" for i, d in enumerate(documents, 1)
             if isinstance(d, dict)]
    return "\n\n参考文档\uff1a\n" + "\n".join(lines) + "\n"  # "reference documents:", as one-api writes it


def library_to_chat(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    if not answer.get("success"):
        raise UpstreamError(f"AIProxy library: {answer.get('message') or 'error'} "
                            f"(errCode {answer.get('errCode')})")
    text = str(answer.get("answer") or "") + _references(answer.get("documents"))
    return chat_completion(f"chatcmpl-{uuid.uuid4().hex[:24]}", model, int(time.time()),
                           [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                             "finish_reason": "stop"}], None)


class LibraryChatStream(JSONEventTranslator):
    """The library's SSE objects in, OpenAI chunks out."""

    def _object(self, data: dict[str, Any]) -> bytes:
        out = self._writer.text(str(data.get("content") or ""))
        if data.get("finish"):
            out += self._writer.text(_references(data.get("documents")))
            out += self._writer.finish("stop") + self._end()
        return out
