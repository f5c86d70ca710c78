"""Reading OpenAI chat requests, the pivot every vendor conversion starts from.

The gateway speaks OpenAI's chat completions internally: a vendor adapter converts
chat → vendor and vendor → chat, an entry point (``/v1/messages``, Gemini-native,
``/v1/responses``) converts its own format → chat and chat → its own format. What the
vendor converters share about reading a chat request lives here, including the rule
that a field a vendor cannot honour is a 400 naming the field and the vendor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.events import decode_json

__all__ = (
    "ClientChat",
    "FunctionTool",
    "chat_completion",
    "content_text",
    "embedding_texts",
    "function_tools",
    "max_tokens_of",
    "new_call_id",
    "parse_arguments",
    "reject_unsupported",
    "stop_list",
    "tool_choice_of",
    "unsupported_part",
)


@dataclass(slots=True)
class ClientChat:
    """A request in a client's format (Anthropic, Gemini) as a chat request for another vendor.

    ``omitted`` names the client's hosted tools that chat has no form for (left out of the
    upstream request, reported to the client in a header and in the log row);
    ``web_search`` is the client's own name for its web-search tool when it offered one
    (carried as ``web_search_options``, which a target without web search also leaves out).
    """

    document: dict[str, Any]
    omitted: list[str] = field(default_factory=list)
    web_search: str = ""


def new_call_id() -> str:
    """An id for a tool call when the vendor does not give one (Gemini, Ollama)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text") or "") for part in content
                         if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"))
    raise InvalidRequest("message content must be a string or a list of parts", param="messages")


def unsupported_part(vendor: str, kind: Any) -> UnsupportedFeature:
    """The 400 for a message part ``vendor`` cannot take; a ``file`` part is a client's document
    (an OpenAI file part, an Anthropic ``document`` block, a Gemini inline PDF)."""
    if kind == "file":
        return UnsupportedFeature(f"{vendor} channels take no documents: the request's document (an "
                                  "Anthropic 'document' block, a Gemini inline PDF or an OpenAI 'file' part) "
                                  f"cannot be sent to {vendor}", param="messages")
    return UnsupportedFeature(f"{vendor} does not support '{kind}' message parts", param="messages")


def embedding_texts(document: Mapping[str, Any], vendor: str) -> list[str]:
    """An embeddings request's ``input`` as a list of texts; token arrays are a 400 naming the vendor."""
    inputs = document.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise UnsupportedFeature(f"{vendor} embeddings take text input only (not token arrays)",
                                 param="input")
    return texts


def stop_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InvalidRequest("stop must be a string or a list of strings", param="stop")


def max_tokens_of(document: Mapping[str, Any]) -> int | None:
    value = document.get("max_completion_tokens") or document.get("max_tokens")
    return int(value) if value else None


# Fields with their "not asked for" values: anything else is a request the vendor must honour.
_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "seed": (None,),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "web_search_options": (None,),
    "functions": (None, []),
}


def reject_unsupported(document: Mapping[str, Any], vendor: str, fields: Iterable[str]) -> None:
    """Raise a 400 naming the first of ``fields`` the client set that ``vendor`` lacks."""
    for name in fields:
        if name in document and document[name] not in _DEFAULTS.get(name, (None,)):
            raise UnsupportedFeature(f"{vendor} does not support the '{name}' parameter", param=name)


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    description: str
    parameters: dict[str, Any]


def function_tools(document: Mapping[str, Any], vendor: str) -> list[FunctionTool]:
    """The request's function tools; other tool kinds are a 400 naming the vendor."""
    tools: list[FunctionTool] = []
    for tool in document.get("tools") or ():
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
            raise UnsupportedFeature(f"{vendor} does not support '{kind}' tools", param="tools")
        function = tool.get("function") or {}
        name = function.get("name")
        if not name:
            raise InvalidRequest("every tool needs function.name", param="tools")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        tools.append(FunctionTool(name, function.get("description") or "", parameters))
    return tools


def tool_choice_of(document: Mapping[str, Any]) -> tuple[str, str | None]:
    """``tool_choice`` as (mode, function name): mode is auto, none, required or function."""
    choice = document.get("tool_choice")
    if choice is None:
        return "auto", None
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise InvalidRequest(f"unknown tool_choice {choice!r}", param="tool_choice")
        return choice, None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name:
            return "function", str(name)
    raise InvalidRequest("tool_choice must be auto, none, required or a named function", param="tool_choice")


def parse_arguments(arguments: Any) -> Any:
    """A tool call's arguments string as JSON (vendors other than OpenAI want objects)."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    try:
        return decode_json(arguments)
    except msgspec.DecodeError:
        raise InvalidRequest("a tool call's arguments are not valid JSON", param="messages") from None


def chat_completion(response_id: str, model: str, created: int, choices: list[dict[str, Any]],
                    usage: dict[str, Any] | None) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    body: dict[str, Any] = {"id": response_id, "object": "chat.completion", "created": created, "model": model,
                            "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return body
