"""Tencent Hunyuan's cloud API 3.0 played on 127.0.0.1: ``ChatCompletions`` and ``GetEmbedding``.

The TC3-HMAC-SHA256 ``Authorization`` header is verified against the mock's own copy of the
secret (canonical request, string to sign and key chain computed here from Tencent's
documentation); like Tencent, every failure is HTTP 200 with ``{"Response": {"Error": ...}}``.
Unknown fields, tool parameters that are not a JSON string and tool messages without
``ToolCallId`` are ``InvalidParameter`` errors. The model answers :data:`REPLY`, calls the
first tool with :data:`CALL_ARGS` when given tools, and repeats a tool's result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("APP_ID", "CALL_ARGS", "REPLY", "SECRET_ID", "SECRET_KEY", "HunyuanUpstream")

APP_ID, SECRET_ID, SECRET_KEY = "1300000000", "AKIDmockHunyuan", "mockHunyuanSecretKey123"
REPLY = "Hello from Hunyuan."
CALL_ARGS = {"city": "Shenzhen"}
_CHAT_FIELDS = {
    "Model",
    "Messages",
    "Stream",
    "StreamModeration",
    "TopP",
    "Temperature",
    "EnableEnhancement",
    "Tools",
    "ToolChoice",
    "CustomTool",
    "SearchInfo",
    "Citation",
    "EnableSpeedSearch",
    "Stop",
    "Seed",
    "EnableDeepSearch",
    "EnableThinking",
}


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


@dataclass
class HunyuanUpstream(UpstreamServer):
    name: str = "hunyuan"
    output_tokens: int = 3

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self.call)]

    def verify(self, request: web.Request, body: bytes) -> None:
        authorization = request.headers.get("Authorization", "")
        algorithm, _, rest = authorization.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm != "TC3-HMAC-SHA256" or "Signature" not in fields:
            raise _Refused("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        secret_id, date, service, terminal = fields["Credential"].split("/")
        if secret_id != SECRET_ID:
            raise _Refused("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(request.headers.get("X-TC-Timestamp", "0"))
        if abs(time.time() - timestamp) > 300 or time.strftime("%Y-%m-%d", time.gmtime(timestamp)) != date:
            raise _Refused("AuthFailure.SignatureExpire", "Signature expired.")
        signed = fields["SignedHeaders"].split(";")
        headers = "".join(f"{name}:{request.headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical = "\n".join(
            ["POST", "/", "", headers, fields["SignedHeaders"], hashlib.sha256(body).hexdigest()]
        )
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/{service}/{terminal}",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _sign(_sign(_sign(f"TC3{SECRET_KEY}".encode(), date), service), "tc3_request")
        if (service, terminal) != ("hunyuan", "tc3_request") or not hmac.compare_digest(
            hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), fields["Signature"]
        ):
            raise _Refused(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        if request.headers.get("X-TC-Version") != "2023-09-01":
            raise _Refused("InvalidParameter", "The API version is not supported.")

    def usage(self) -> dict[str, int]:
        return {
            "PromptTokens": self.prompt_tokens,
            "CompletionTokens": self.output_tokens,
            "TotalTokens": self.prompt_tokens + self.output_tokens,
        }

    async def call(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            self.verify(request, body)
            document = json.loads(body)
            action = request.headers.get("X-TC-Action")
            if action == "GetEmbedding":
                return web.json_response(
                    {
                        "Response": {
                            "Data": [
                                {"Embedding": [0.5, float(i)], "Index": i, "Object": "embedding"}
                                for i, _ in enumerate(document["InputList"])
                            ],
                            "Usage": {"PromptTokens": 2, "TotalTokens": 2},
                            "RequestId": "req-emb",
                        }
                    }
                )
            if action != "ChatCompletions":
                raise _Refused("InvalidAction", f"The action {action} is not supported.")
            return await self.chat(request, document)
        except _Refused as refused:
            return web.json_response(
                {
                    "Response": {
                        "Error": {"Code": refused.code, "Message": refused.message},
                        "RequestId": "req-error",
                    }
                }
            )

    def check(self, document: dict[str, Any]) -> None:
        unknown = set(document) - _CHAT_FIELDS
        if unknown:
            raise _Refused("InvalidParameter", f"The parameter {sorted(unknown)} is not recognized.")
        for message in document.get("Messages") or ():
            if message.get("Role") not in ("system", "user", "assistant", "tool"):
                raise _Refused("InvalidParameter", "Messages.Role must be system, user, assistant or tool.")
            if message["Role"] == "tool" and not message.get("ToolCallId"):
                raise _Refused("InvalidParameter", "Messages.ToolCallId is required for tool messages.")
        for tool in document.get("Tools") or ():
            if not isinstance(tool["Function"].get("Parameters"), str):
                raise _Refused("InvalidParameter", "Tools.Function.Parameters must be a JSON string.")

    async def chat(self, request: web.Request, document: dict[str, Any]) -> web.StreamResponse:
        self.check(document)
        last = document["Messages"][-1]
        calls: list[dict[str, Any]] = []
        text = REPLY
        if last["Role"] == "tool":
            text = f"The tool said: {last['Content']}"
        elif document.get("Tools") and document.get("ToolChoice") != "none":
            text = ""
            calls = [
                {
                    "Id": "call_hy1",
                    "Type": "function",
                    "Index": 0,
                    "Function": {
                        "Name": document["Tools"][0]["Function"]["Name"],
                        "Arguments": json.dumps(CALL_ARGS),
                    },
                }
            ]
        finish = "tool_calls" if calls else "stop"
        if not document.get("Stream"):
            return web.json_response(
                {
                    "Response": {
                        "Id": "hy-mock",
                        "Created": 1700000000,
                        "Note": "AI generated",
                        "RequestId": "req-1",
                        "Choices": [
                            {
                                "FinishReason": finish,
                                "Message": {
                                    "Role": "assistant",
                                    "Content": text,
                                    **({"ToolCalls": calls} if calls else {}),
                                },
                            }
                        ],
                        "Usage": self.usage(),
                    }
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        pieces: list[dict[str, Any]] = [
            {"Role": "assistant", "Content": word if not i else " " + word}
            for i, word in enumerate(text.split(" "))
            if text
        ]
        if calls:
            pieces.append({"Role": "assistant", "Content": "", "ToolCalls": calls})
        for index, delta in enumerate(pieces):
            last_piece = index == len(pieces) - 1
            chunk = {
                "Id": "hy-mock",
                "Created": 1700000000,
                "Note": "AI generated",
                "Choices": [{"Delta": delta, "FinishReason": finish if last_piece else ""}],
                "Usage": self.usage() if last_piece else {"PromptTokens": self.prompt_tokens},
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write_eof()
        return response
