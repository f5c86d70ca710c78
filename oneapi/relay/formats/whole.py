"""A whole answer written as an OpenAI chunk stream, for vendors that cannot stream.

DeepL and Replicate's synchronous predictions answer with one JSON body even when the
client asked ``stream: true``. The body is collected as it arrives and, once complete,
converted like a non-streamed answer and written as chunks: the role, the content (and
any tool calls) in one delta, the finish reason, the usage chunk when asked for, ``[DONE]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from oneapi.errors import GatewayError
from oneapi.relay.formats.events import ChunkWriter, TokenUsage, decode_json

__all__ = ("WholeAnswerStream",)


class WholeAnswerStream:
    """Collects the upstream body; ``finish`` converts it (``convert``: answer -> chat.completion)."""

    def __init__(self, model: str, convert: Callable[[dict[str, Any]], dict[str, Any]], *,
                 include_usage: bool) -> None:
        self._convert = convert
        self._writer = ChunkWriter(model, include_usage=include_usage)
        self._body: list[bytes] = []
        self.usage: TokenUsage | None = None

    def feed(self, data: bytes) -> bytes:
        self._body.append(data)
        return b""

    def finish(self) -> bytes:
        try:
            answer = decode_json(b"".join(self._body))
            if not isinstance(answer, dict):
                raise msgspec.DecodeError("not an object")
            completion = self._convert(answer)
        except msgspec.DecodeError:
            return self._fail("the upstream answered with a body that is not JSON")
        except GatewayError as exc:
            return self._fail(exc.message)
        self.usage = TokenUsage.from_openai(completion.get("usage"))
        out = []
        for choice in completion.get("choices") or ():
            message = choice.get("message") or {}
            delta = {name: message[name] for name in ("content", "reasoning_content") if message.get(name)}
            if message.get("tool_calls"):
                delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            index = int(choice.get("index") or 0)
            out.append(self._writer.delta(delta, index=index))
            out.append(self._writer.finish(str(choice.get("finish_reason") or "stop"), index=index))
        return b"".join(out) + self._writer.end(self.usage)

    def _fail(self, message: str) -> bytes:
        return self._writer.error(message) + b"data: [DONE]\n\n"

    def produced_text(self) -> str:
        return self._writer.produced_text()
