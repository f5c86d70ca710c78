"""Strict vendor stand-ins that walk a real client through one tool round trip.

The command-line clients (Claude Code, Gemini CLI) are driven through the gateway against
these. Each answers the client's first turn by calling the client's own tool
``script.tool`` with ``script.arguments`` (a real tool the client runs, e.g. reading a
file), and answers with the final text ``script.final`` followed by what the tool returned
only once a tool result came back, so a passing test proves the whole loop went through.
Side calls the clients make (Gemini CLI's JSON routing classifier, a title) get a plain
answer.

Strict as the real APIs: what the vendor refuses with a 400, these refuse in the vendor's
own error shape: roles it does not know (Anthropic takes a ``system`` role inside
``messages`` only with the ``mid-conversation-system`` beta), a tool result that answers
no earlier call, an unknown content block or part, a missing ``max_tokens``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.vendors.anthropic import AnthropicUpstream
from tests.support.vendors.gemini import GeminiUpstream
from tests.support.vendors.openai_compat import CompatUpstream

__all__ = ("ScriptedAnthropic", "ScriptedGemini", "ScriptedOpenAI", "ToolScript")

MID_CONVERSATION_SYSTEM = "mid-conversation-system"
_ANTHROPIC_BLOCKS = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                     "server_tool_use", "web_search_tool_result", "search_result"}
_OPENAI_PARTS = {"text", "image_url", "input_audio", "file"}
_GEMINI_PARTS = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
                 "codeExecutionResult"}
_GEMINI_PART_EXTRAS = {"thought", "thoughtSignature"}
# what a JSON-mode side call (Gemini CLI's model-routing classifier) gets back
JSON_ANSWER = {"complexity_reasoning": "a short task", "complexity_score": 10, "reasoning": "simple",
               "model_choice": "flash"}


@dataclass
class ToolScript:
    tool: str
    arguments: dict[str, Any]
    final: str = "ROUND TRIP DONE"


class Refused(Exception):
    """A request the real vendor would refuse with a 400."""


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return json.dumps(content)


@dataclass
class ScriptedAnthropic(AnthropicUpstream):
    script: ToolScript = field(default_factory=lambda: ToolScript("Read", {}))

    def check(self, body: dict[str, Any], betas: str) -> None:
        if "max_tokens" not in body:
            raise Refused("max_tokens: Field required")
        called: set[str] = set()
        for position, message in enumerate(body.get("messages") or ()):
            role = message.get("role")
            if role == "system" and MID_CONVERSATION_SYSTEM in betas:
                continue
            if role not in ("user", "assistant"):
                raise Refused(f"messages.{position}.role: Unexpected role \"{role}\". The Messages API "
                              "accepts a top-level `system` parameter, not \"system\" as an input message "
                              "role.")
            blocks = message["content"] if isinstance(message["content"], list) else []
            for block in blocks:
                kind = block.get("type")
                if kind not in _ANTHROPIC_BLOCKS:
                    raise Refused(f"messages.{position}.content: unknown content block type '{kind}'")
                if kind == "tool_use":
                    called.add(block["id"])
                if kind == "tool_result" and block.get("tool_use_id") not in called:
                    raise Refused(f"messages.{position}.content: unexpected `tool_use_id` found in "
                                  "`tool_result` blocks")

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:  # type: ignore[override]
        results = [block for message in body["messages"] if message["role"] == "user"
                   and isinstance(message["content"], list) for block in message["content"]
                   if block.get("type") == "tool_result"]
        if results:
            return [{"type": "text", "text": f"{self.script.final}: {_result_text(results[-1]['content'])}"}]
        if any(tool.get("name") == self.script.tool for tool in body.get("tools") or ()):
            return [{"type": "tool_use", "id": "toolu_script1", "name": self.script.tool,
                     "input": self.script.arguments}]
        return [{"type": "text", "text": "A side answer."}]

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        body = json.loads(await request.read())
        try:
            self.check(body, request.headers.get("anthropic-beta", ""))
        except Refused as exc:
            return web.json_response({"type": "error", "error": {"type": "invalid_request_error",
                                                                 "message": str(exc)}}, status=400)
        return await super().messages(request)


@dataclass
class ScriptedOpenAI(CompatUpstream):
    script: ToolScript = field(default_factory=lambda: ToolScript("Read", {}))

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        called: set[str] = set()
        for position, message in enumerate(body.get("messages") or ()):
            role = message.get("role")
            if role not in ("system", "developer", "user", "assistant", "tool"):
                raise Refused(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                              "'user', 'tool', 'function' and 'developer'.")
            for call in message.get("tool_calls") or ():
                called.add(call["id"])
            if role == "tool" and message.get("tool_call_id") not in called:
                raise Refused(f"Invalid parameter: messages[{position}]: 'tool' messages must be a "
                              "response to a preceding message with 'tool_calls'.")
            if isinstance(message.get("content"), list):
                for part in message["content"]:
                    if part.get("type") not in _OPENAI_PARTS:
                        raise Refused(f"Invalid value: '{part.get('type')}'. Supported values are: 'text', "
                                      "'image_url', 'input_audio', 'refusal', and 'file'.")
        for tool in body.get("tools") or ():
            if tool.get("type") != "function":
                raise Refused(f"Invalid value: '{tool.get('type')}'. Supported values are: 'function' and "
                              "'custom'.")

    def _answer(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
            return {"content": json.dumps(JSON_ANSWER)}
        results = [message for message in body["messages"] if message.get("role") == "tool"]
        if results:
            return {"content": f"{self.script.final}: {_result_text(results[-1]['content'])}"}
        names = [tool["function"]["name"] for tool in body.get("tools") or ()]
        if self.script.tool in names:
            return {"tool": self.script.tool}
        return {"content": "A side answer."}

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        try:
            self.check(body)
        except Refused as exc:
            return web.json_response({"error": {"message": str(exc), "type": "invalid_request_error",
                                                "param": "messages", "code": None}}, status=400)
        return await super().chat(request)

    def tool_arguments(self) -> dict[str, Any]:
        return self.script.arguments


@dataclass
class ScriptedGemini(GeminiUpstream):
    script: ToolScript = field(default_factory=lambda: ToolScript("read_file", {}))

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        allowed = {"contents", "systemInstruction", "system_instruction", "tools", "toolConfig",
                   "generationConfig", "safetySettings", "cachedContent", "labels"}
        for name in body:
            if name not in allowed:
                raise Refused(f"Invalid JSON payload received. Unknown name \"{name}\": Cannot find field.")
        pending = 0
        for position, content in enumerate(body.get("contents") or ()):
            if content.get("role", "user") not in ("user", "model"):
                raise Refused(f"Please use a valid role: user, model. (contents[{position}])")
            for part in content.get("parts") or ():
                kinds = set(part) - _GEMINI_PART_EXTRAS
                if len(kinds) != 1 or not kinds <= _GEMINI_PARTS:
                    raise Refused(f"Invalid JSON payload received. Unknown name \"{sorted(kinds)}\" at "
                                  f"'contents[{position}].parts'")
                if "functionCall" in part:
                    pending += 1
                if "functionResponse" in part:
                    if not pending:
                        raise Refused("Please ensure that function response turn comes immediately after a "
                                      "function call turn.")
                    pending -= 1

    def parts(self, body: dict[str, Any]) -> list[dict[str, Any]]:  # type: ignore[override]
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":  # Gemini CLI's routing classifier
            return [{"text": json.dumps(JSON_ANSWER)}]
        answers = [part["functionResponse"] for content in body["contents"] for part in content["parts"]
                   if "functionResponse" in part]
        if answers:
            return [{"text": f"{self.script.final}: {json.dumps(answers[-1]['response'])}"}]
        names = [declaration["name"] for tool in body.get("tools") or ()
                 for declaration in tool.get("functionDeclarations") or ()]
        if self.script.tool in names:
            return [{"functionCall": {"name": self.script.tool, "args": self.script.arguments}}]
        return [{"text": "A side answer."}]

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["target"].endswith((":generateContent", ":streamGenerateContent")):
            body = json.loads(await request.read())
            try:
                self.check(body)
            except Refused as exc:
                return web.json_response({"error": {"code": 400, "message": str(exc),
                                                    "status": "INVALID_ARGUMENT"}}, status=400)
        return await super().dispatch(request)

