"""AWS Bedrock runtime played on 127.0.0.1: Converse and ConverseStream, strictly.

Every request's SigV4 ``Authorization`` header is verified against the mock's own copy of
the secret, computed here from the AWS specification (canonical request, string to
sign, derived key), not with the gateway's signer; a mismatch is AWS's 403
``InvalidSignatureException``. Temporary credentials count only with their session token,
signed. The canonical URI is the path as sent, percent-encoded once more, as AWS does for
every service but S3: ``:`` arrives as it is and is signed as ``%3A``, an ARN's ``/`` arrives
as ``%2F`` and is signed as ``%252F``. Bodies are checked like the real service: unknown fields,
unknown content blocks, tool blocks without a ``toolConfig`` and unknown model ids are a
400 ``ValidationException``. Streams are AWS's binary event stream, framed here with their
prelude and message CRC32 checksums (an encoder written for the tests, so the gateway's
decoder is checked against an independent implementation).

The model answers :data:`REPLY`; with tools it calls the first one with
:data:`CALL_ARGS`; after a tool result it repeats the result. Mode ``exception`` ends a
stream with a ``throttlingException`` frame after the first text.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("ACCESS_KEY", "CALL_ARGS", "PROFILE_ARN", "REPLY", "SECRET_KEY", "SESSION_TOKEN",
           "TEMPORARY_ACCESS_KEY", "BedrockUpstream", "event_frame", "framed")

ACCESS_KEY = "AKIAMOCKBEDROCK0001"
SECRET_KEY = "mock/secret+key/for-bedrock-0123456789"
# temporary credentials (STS): valid only with their session token, signed
TEMPORARY_ACCESS_KEY = "ASIAMOCKBEDROCK0002"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjE/mock+session//token="
# an application inference profile: its ARN is the model id, '/' and all
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/mockprofile01"
REPLY = "Hello from Bedrock."
INVOKE_CACHE_READ = 4
CALL_ARGS = {"city": "Rome"}
_TOP_LEVEL = {
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "additionalModelRequestFields",
    "guardrailConfig",
    "additionalModelResponseFieldPaths",
    "requestMetadata",
    "performanceConfig",
    "promptVariables",
}
_BLOCKS = {
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "guardContent",
    "reasoningContent",
    "cachePoint",
}
_INFERENCE = {"maxTokens", "temperature", "topP", "stopSequences"}


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers."""
    encoded = [(name, value.encode()) for name, value in headers.items()]
    return framed([(name, 7, struct.pack("!H", len(value)) + value) for name, value in encoded], payload)


def framed(headers: list[tuple[str, int, bytes]], payload: bytes) -> bytes:
    """One event-stream message: prelude (lengths, CRC32), headers (name, type byte and the
    value's encoding), payload, CRC32."""
    encoded = b"".join(
        struct.pack("!B", len(name.encode())) + name.encode() + struct.pack("!B", kind) + value
        for name, kind, value in headers
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack("!I", binascii.crc32(message))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class _Refused(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        self.status, self.kind, self.message = status, kind, message


@dataclass
class BedrockUpstream(UpstreamServer):
    name: str = "bedrock"
    output_tokens: int = 5
    region: str = "us-east-1"
    secrets: dict[str, str] = field(
        default_factory=lambda: {ACCESS_KEY: SECRET_KEY, TEMPORARY_ACCESS_KEY: SECRET_KEY}
    )
    session_tokens: dict[str, str] = field(default_factory=lambda: {TEMPORARY_ACCESS_KEY: SESSION_TOKEN})
    last_invoke: dict[str, Any] = field(default_factory=dict)
    model_ids: tuple[str, ...] = (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "amazon.nova-pro-v1:0",
        "meta.llama3-70b-instruct-v1:0",
        PROFILE_ARN,
    )

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/model/{model_id}/{action}", self.dispatch)]

    # -- checks -------------------------------------------------------------------------
    def verify_signature(self, request: web.Request, body: bytes) -> None:
        authorization = request.headers.get("Authorization", "")
        algorithm, _, rest = authorization.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm != "AWS4-HMAC-SHA256" or not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
            raise _Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        access_key, date, region, service, terminal = fields["Credential"].split("/")
        secret = self.secrets.get(access_key)
        if secret is None:
            raise _Refused(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        amz_date = request.headers.get("X-Amz-Date", "")
        stamp = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        if abs((datetime.datetime.now(datetime.UTC) - stamp).total_seconds()) > 300 or amz_date[:8] != date:
            raise _Refused(403, "InvalidSignatureException", "Signature expired")
        if (region, service, terminal) != (self.region, "bedrock", "aws4_request"):
            raise _Refused(
                403,
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region '{self.region}' and service 'bedrock'",
            )
        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            raise _Refused(403, "InvalidSignatureException", "host and x-amz-date must be signed")
        token = self.session_tokens.get(access_key)
        if token is not None and (
            "x-amz-security-token" not in signed or request.headers.get("X-Amz-Security-Token") != token
        ):
            raise _Refused(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        canonical_headers = "".join(
            f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed
        )
        query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(request.query.items())
        )
        canonical = "\n".join(
            [
                request.method,
                quote(request.raw_path.split("?")[0], safe="/~"),
                query,
                canonical_headers,
                fields["SignedHeaders"],
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), "aws4_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise _Refused(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )

    def validate(self, body: Any, model_id: str) -> None:
        if model_id not in self.model_ids:
            raise _Refused(400, "ValidationException", "The provided model identifier is invalid.")
        if not isinstance(body, dict) or set(body) - _TOP_LEVEL:
            raise _Refused(
                400,
                "ValidationException",
                f"Malformed input request: extraneous key {sorted(set(body) - _TOP_LEVEL)} is not permitted",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Refused(400, "ValidationException", "messages: must not be empty")
        if set(body.get("inferenceConfig") or {}) - _INFERENCE:
            raise _Refused(400, "ValidationException", "inferenceConfig: extraneous key")
        uses_tools = False
        for index, message in enumerate(messages):
            if message.get("role") != ("user" if index % 2 == 0 else "assistant"):
                raise _Refused(
                    400,
                    "ValidationException",
                    "A conversation must alternate between user and assistant roles.",
                )
            for block in message.get("content") or ():
                if len(block) != 1 or next(iter(block)) not in _BLOCKS:
                    raise _Refused(400, "ValidationException", f"Malformed content block {sorted(block)}")
                uses_tools |= "toolUse" in block or "toolResult" in block
                if "image" in block and set(block["image"]) != {"format", "source"}:
                    raise _Refused(400, "ValidationException", "image: format and source.bytes are required")
        if uses_tools and not body.get("toolConfig"):
            raise _Refused(
                400,
                "ValidationException",
                "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
            )
        for tool in (body.get("toolConfig") or {}).get("tools") or ():
            spec = tool["toolSpec"]
            if not spec.get("name") or "json" not in (spec.get("inputSchema") or {}):
                raise _Refused(400, "ValidationException", "toolSpec needs name and inputSchema.json")

    @staticmethod
    def embed(body: dict[str, Any], model_id: str) -> dict[str, Any]:
        """Titan: one ``inputText`` and nothing unknown; Cohere: ``texts`` with an ``input_type``."""
        if model_id == "amazon.titan-embed-text-v2:0":
            if not isinstance(body.get("inputText"), str) or set(body) - {
                "inputText",
                "dimensions",
                "normalize",
            }:
                raise _Refused(400, "ValidationException", "Malformed input request: inputText is required")
            return {"embedding": [0.5, 0.25], "inputTextTokenCount": 3}
        if (
            model_id.startswith("cohere.embed-")
            and isinstance(body.get("texts"), list)
            and body.get("input_type")
        ):
            return {
                "id": "e1",
                "response_type": "embeddings_floats",
                "texts": body["texts"],
                "embeddings": [[0.1, float(i)] for i, _ in enumerate(body["texts"])],
            }
        raise _Refused(400, "ValidationException", "The provided model identifier is invalid.")

    def validate_invoke(self, body: Any, model_id: str) -> None:
        """InvokeModel for Claude: Anthropic's body, with Bedrock's version and without model or stream."""
        if model_id not in self.model_ids or "anthropic." not in model_id:
            raise _Refused(400, "ValidationException", "The provided model identifier is invalid.")
        if body.get("anthropic_version") != "bedrock-2023-05-31":
            raise _Refused(400, "ValidationException", "anthropic_version: bedrock-2023-05-31 is required")
        extraneous = {"model", "stream"} & set(body)
        if extraneous or not body.get("max_tokens") or not isinstance(body.get("messages"), list):
            raise _Refused(
                400,
                "ValidationException",
                f"Malformed input request: extraneous key "
                f"{sorted(extraneous)} or missing max_tokens/messages",
            )

    async def invoke(
        self, request: web.Request, body: dict[str, Any], model_id: str, *, stream: bool
    ) -> web.StreamResponse:
        self.last_invoke = body
        content = [{"type": "text", "text": REPLY}]
        usage = {
            "input_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": INVOKE_CACHE_READ,
            "cache_creation_input_tokens": 0,
        }
        message = {
            "id": "msg_bdrk_mock",
            "type": "message",
            "role": "assistant",
            "model": model_id,
            "content": content,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        if not stream:
            return web.json_response(message)
        events = [
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            *(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word if not i else " " + word},
                }
                for i, word in enumerate(REPLY.split(" "))
            ),
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": self.output_tokens},
            },
            {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 11}},
        ]
        response = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream"})
        await response.prepare(request)
        for event in events:
            payload = {"bytes": base64.b64encode(json.dumps(event).encode()).decode(), "p": "abc"}
            await response.write(
                event_frame(
                    {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
                    json.dumps(payload).encode(),
                )
            )
        await response.write_eof()
        return response

    # -- answers ------------------------------------------------------------------------
    @staticmethod
    def content(body: dict[str, Any]) -> list[dict[str, Any]]:
        last = body["messages"][-1]["content"]
        results = [block["toolResult"] for block in last if "toolResult" in block]
        if results:
            return [{"text": "The tool said: " + results[0]["content"][0]["text"]}]
        tools = (body.get("toolConfig") or {}).get("tools")
        if tools:
            return [
                {
                    "toolUse": {
                        "toolUseId": "tooluse_mock1",
                        "name": tools[0]["toolSpec"]["name"],
                        "input": CALL_ARGS,
                    }
                }
            ]
        return [{"text": REPLY}]

    def usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.prompt_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.prompt_tokens + self.output_tokens,
        }

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        model_id, action = request.match_info["model_id"], request.match_info["action"]
        try:
            self.verify_signature(request, body)
            document = json.loads(body)
            if action == "invoke" and "embed" in model_id:
                return web.json_response(self.embed(document, model_id))
            if action.startswith("invoke"):
                self.validate_invoke(document, model_id)
            else:
                self.validate(document, model_id)
        except _Refused as refused:
            return web.json_response(
                {"message": refused.message},
                status=refused.status,
                headers={"x-amzn-ErrorType": f"{refused.kind}:http://internal.amazon.com/"},
            )
        if action in ("invoke", "invoke-with-response-stream"):
            return await self.invoke(request, document, model_id, stream=action != "invoke")
        content = self.content(document)
        stop = "tool_use" if "toolUse" in content[0] else "end_turn"
        if action == "converse":
            return web.json_response(
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": stop,
                    "usage": self.usage(),
                    "metrics": {"latencyMs": 12},
                }
            )
        if action != "converse-stream":
            return web.json_response({"message": "Unknown operation"}, status=404)
        return await self._stream(request, content, stop)

    async def _stream(
        self, request: web.Request, content: list[dict[str, Any]], stop: str
    ) -> web.StreamResponse:
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        block = content[0]
        if "text" in block:
            words = block["text"].split(" ")
            events += [
                (
                    "contentBlockDelta",
                    {"contentBlockIndex": 0, "delta": {"text": word if not i else " " + word}},
                )
                for i, word in enumerate(words)
            ]
        else:
            use = block["toolUse"]
            arguments = json.dumps(use["input"])
            events.append(
                (
                    "contentBlockStart",
                    {
                        "contentBlockIndex": 0,
                        "start": {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}},
                    },
                )
            )
            events += [
                ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})
                for piece in (arguments[:5], arguments[5:])
            ]
        events += [
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("messageStop", {"stopReason": stop}),
            ("metadata", {"usage": self.usage(), "metrics": {"latencyMs": 15}}),
        ]
        response = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream"})
        await response.prepare(request)
        for index, (kind, payload) in enumerate(events):
            if self.mode == "exception" and index == 2:
                await response.write(
                    event_frame(
                        {
                            ":message-type": "exception",
                            ":exception-type": "throttlingException",
                            ":content-type": "application/json",
                        },
                        json.dumps({"message": "Too many requests"}).encode(),
                    )
                )
                break
            frame = event_frame(
                {":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                json.dumps({**payload, "p": "abcdef"}).encode(),
            )
            # written in two pieces: the gateway must reassemble frames split across reads
            await response.write(frame[:7])
            await response.write(frame[7:])
        await response.write_eof()
        return response
