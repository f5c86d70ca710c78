"""OpenAI chat completions and embeddings ⇄ Tencent Hunyuan (``ChatCompletions``, ``GetEmbedding``).

Hunyuan's API is OpenAI's shape with Tencent's capitalised field names (``Messages``,
``Role``, ``Content``, ``ToolCalls``, ``ToolCallId``), tool parameters as a JSON *string*,
and every answer wrapped in ``{"Response": {...}}``, errors included: Tencent answers
HTTP 200 with ``Response.Error`` on failures, so a whole answer is checked for it. Streams
are SSE whose ``data`` is a chunk with ``Choices[].Delta`` and a running ``Usage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature, UpstreamError
from oneapi.relay.formats.chat import (
    chat_completion,
    content_text,
    embedding_texts,
    function_tools,
    reject_unsupported,
    stop_list,
    tool_choice_of,
)
from oneapi.relay.formats.events import JSONEventTranslator, TokenUsage, encode_json

__all__ = ("HunyuanChatStream", "chat_to_hunyuan", "embeddings_from_hunyuan", "embeddings_to_hunyuan",
           "hunyuan_answer", "hunyuan_to_chat")

VENDOR = "Tencent Hunyuan"
_UNSUPPORTED = ("n", "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
                "audio", "modalities", "prediction", "web_search_options", "functions", "response_format")


def hunyuan_answer(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``Response`` object; raises when it reports an error (Tencent sends those with HTTP 200)."""
    response = answer.get("Response") if isinstance(answer.get("Response"), dict) else answer
    error = response.get("Error")
    if isinstance(error, dict) and error.get("Code"):
        raise UpstreamError(f"{VENDOR}: {error.get('Code')}: {error.get('Message') or ''}".rstrip(": "))
    return response


def hunyuan_usage(usage: Any) -> TokenUsage | None:
    if not isinstance(usage, dict):
        return None
    return TokenUsage(prompt_tokens=int(usage.get("PromptTokens") or 0),
                      completion_tokens=int(usage.get("CompletionTokens") or 0))


def _calls_to_hunyuan(calls: Any) -> list[dict[str, Any]]:
    return [{"Id": call.get("id") or "", "Type": "function",
             "Function": {"Name": (call.get("function") or {}).get("name") or "",
                          "Arguments": (call.get("function") or {}).get("arguments") or "{}"}}
            for call in calls or ()]


def _message(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise InvalidRequest("every message must be an object", param="messages")
    role = "system" if message.get("role") == "developer" else message.get("role")
    if role not in ("system", "user", "assistant", "tool"):
        raise InvalidRequest(f"unknown message role {role!r}", param="messages")
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") != "text" for p in content):
        raise UnsupportedFeature(f"{VENDOR} text models take text parts only", param="messages")
    converted: dict[str, Any] = {"Role": role, "Content": content_text(content)}
    if message.get("tool_calls"):
        converted["ToolCalls"] = _calls_to_hunyuan(message["tool_calls"])
    if role == "tool":
        converted["ToolCallId"] = message.get("tool_call_id") or ""
    return converted


def chat_to_hunyuan(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat request as a Hunyuan ``ChatCompletions`` request."""
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    body: dict[str, Any] = {"Model": model, "Messages": [_message(m) for m in document.get("messages") or ()],
                            "Stream": bool(document.get("stream"))}
    if document.get("temperature") is not None:
        body["Temperature"] = document["temperature"]
    if document.get("top_p") is not None:
        body["TopP"] = document["top_p"]
    if stops := stop_list(document.get("stop")):
        body["Stop"] = stops
    if document.get("seed") is not None:
        body["Seed"] = document["seed"]
    tools = function_tools(document, VENDOR)
    if tools:
        body["Tools"] = [{"Type": "function",
                          "Function": {"Name": tool.name, "Description": tool.description,
                                       "Parameters": encode_json(tool.parameters).decode()}}
                         for tool in tools]
        mode, name = tool_choice_of(document)
        if mode == "required":
            raise UnsupportedFeature(f"{VENDOR} cannot be made to call some tool; name one instead",
                                     param="tool_choice")
        body["ToolChoice"] = "custom" if mode == "function" else mode
        if mode == "function":
            tool = next((tool for tool in body["Tools"] if tool["Function"]["Name"] == name), None)
            if tool is None:
                raise InvalidRequest(f"tool_choice names {name!r}, which is not among the tools",
                                     param="tool_choice")
            body["CustomTool"] = tool
    return body


def _calls_from_hunyuan(calls: Any) -> list[dict[str, Any]]:
    return [{"id": call.get("Id"), "type": "function",
             "function": {"name": (call.get("Function") or {}).get("Name"),
                          "arguments": (call.get("Function") or {}).get("Arguments") or "{}"}}
            for call in calls or ()]


def hunyuan_to_chat(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A ``ChatCompletions`` answer as an OpenAI ``chat.completion``."""
    response = hunyuan_answer(answer)
    choices = []
    for index, choice in enumerate(response.get("Choices") or ()):
        message = choice.get("Message") or {}
        calls = _calls_from_hunyuan(message.get("ToolCalls"))
        content = message.get("Content") or ("" if not calls else None)
        reply: dict[str, Any] = {"role": "assistant", "content": content}
        if message.get("ReasoningContent"):
            reply["reasoning_content"] = message["ReasoningContent"]
        if calls:
            reply["tool_calls"] = calls
        choices.append({"index": index, "message": reply, "logprobs": None,
                        "finish_reason": choice.get("FinishReason") or "stop"})
    usage = hunyuan_usage(response.get("Usage"))
    return chat_completion(f"chatcmpl-{response.get('Id') or response.get('RequestId') or ''}", model,
                           int(response.get("Created") or 0), choices, usage.openai() if usage else None)


class HunyuanChatStream(JSONEventTranslator):
    """Hunyuan's SSE chunks in, OpenAI chunks out."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        super().__init__(model, include_usage=include_usage)
        self._finished = False

    def _object(self, chunk: dict[str, Any]) -> bytes:
        response = chunk.get("Response")
        error = response.get("Error") if isinstance(response, dict) else chunk.get("Error")
        if isinstance(error, dict) and error.get("Code"):
            return self._fail(f"{VENDOR}: {error.get('Code')}: {error.get('Message') or ''}")
        self.usage = hunyuan_usage(chunk.get("Usage")) or self.usage
        out = []
        for choice in chunk.get("Choices") or ():
            delta = choice.get("Delta") or {}
            out.append(self._writer.reasoning(str(delta.get("ReasoningContent") or "")))
            out.append(self._writer.text(str(delta.get("Content") or "")))
            for position, call in enumerate(delta.get("ToolCalls") or ()):
                function = call.get("Function") or {}
                out.append(self._writer.tool_call(int(call.get("Index", position)), call_id=call.get("Id"),
                                                  name=function.get("Name"),
                                                  arguments=str(function.get("Arguments") or "")))
            if choice.get("FinishReason") and not self._finished:
                self._finished = True
                out.append(self._writer.finish(str(choice["FinishReason"])))
        return b"".join(out)


def embeddings_to_hunyuan(document: Mapping[str, Any]) -> dict[str, Any]:
    return {"InputList": embedding_texts(document, VENDOR)}


def embeddings_from_hunyuan(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    response = hunyuan_answer(answer)
    data = [{"object": "embedding", "index": int(item.get("Index") or i),
             "embedding": item.get("Embedding") or []} for i, item in enumerate(response.get("Data") or ())]
    usage = response.get("Usage") or {}
    tokens = TokenUsage(prompt_tokens=int(usage.get("PromptTokens") or usage.get("TotalTokens") or 0))
    return {"object": "list", "data": data, "model": model, "usage": tokens.openai()}
