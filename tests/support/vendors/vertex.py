"""Google Vertex AI played on 127.0.0.1: the OAuth token exchange, Gemini and Claude, strictly.

``POST /token`` is the service account's ``token_uri``: the JWT grant is verified with
the account's public key (RS256, ``aud`` = this URI, ``iss`` = the account, the
cloud-platform scope, at most an hour, the key id in the header) before an access token
is issued. Model calls need ``Authorization: Bearer`` with an issued token, and the
project and region the channel is set up with:

* ``publishers/google/models/{m}:generateContent`` / ``:streamGenerateContent`` /
  ``:predict`` (embeddings) answer as the Gemini mock does;
* ``publishers/anthropic/models/{m}:rawPredict`` / ``:streamRawPredict`` want Anthropic's
  body with ``anthropic_version: vertex-2023-10-16`` and no ``model``, and answer as the
  Anthropic mock does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.vendors.anthropic import AnthropicUpstream
from tests.support.vendors.gemini import GeminiUpstream

__all__ = ("CLIENT_EMAIL", "PROJECT", "REGION", "VertexUpstream")

PROJECT = "mock-project-42"
REGION = "us-east5"
CLIENT_EMAIL = "relay@mock-project-42.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _google_error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


@dataclass
class VertexUpstream(GeminiUpstream):
    name: str = "vertex"
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._claude = AnthropicUpstream()  # its answers only; never started

    def service_account(self) -> str:
        """The JSON key Google Cloud's console would download for this account."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "kid-1",
                "private_key": pem,
                "client_email": CLIENT_EMAIL,
                "client_id": "1",
                "token_uri": f"{self.url}/token",
                "auth_uri": "https://accounts.example/auth",
            }
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/token", self.token),
            web.post(
                "/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{target}",
                self.predict,
            ),
        ]

    async def token(self, request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        if form.get("grant_type") != [_GRANT] or len(form.get("assertion", ())) != 1:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        assertion = form["assertion"][0]
        try:
            claims = jwt.decode(
                assertion,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.url}/token",
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return web.json_response(
                {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}, status=400
            )
        if jwt.get_unverified_header(assertion).get("kid") != "kid-1":
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid JWT kid"}, status=400
            )
        if claims["iss"] != CLIENT_EMAIL or SCOPE not in str(claims.get("scope", "")).split():
            return web.json_response(
                {"error": "invalid_scope", "error_description": "bad iss or scope"}, status=400
            )
        if claims["exp"] - claims["iat"] > 3600:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "JWT lifetime too long"}, status=400
            )
        token = f"ya29.mock-{len(self.issued) + 1}"
        self.issued.append(token)
        return web.json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    async def predict(self, request: web.Request) -> web.StreamResponse:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued:
            return _google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "UNAUTHENTICATED",
            )
        info = request.match_info
        if (info["project"], info["region"]) != (PROJECT, REGION):
            return _google_error(
                403, f"Permission denied on resource project {info['project']}.", "PERMISSION_DENIED"
            )
        model, _, method = info["target"].partition(":")
        body = json.loads(await request.read())
        if info["publisher"] == "anthropic":
            return await self._claude_call(request, body, model, method)
        if method == "generateContent":
            return web.json_response(self.response(body, model))
        if method == "streamGenerateContent":
            return await self._stream(request, body, model)
        if method == "predict":
            return web.json_response(
                {
                    "predictions": [
                        {
                            "embeddings": {
                                "values": [0.25, float(i)],
                                "statistics": {"token_count": 3, "truncated": False},
                            }
                        }
                        for i, _ in enumerate(body["instances"])
                    ]
                }
            )
        return _google_error(404, f"method {method} not found", "NOT_FOUND")

    async def _claude_call(
        self, request: web.Request, body: dict[str, Any], model: str, method: str
    ) -> web.StreamResponse:
        if body.get("anthropic_version") != "vertex-2023-10-16" or "model" in body or "@" not in model:
            return web.json_response(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "anthropic_version: vertex-2023-10-16 is required, "
                        "model is not allowed in the body",
                    },
                },
                status=400,
            )
        content = self._claude.answer(body)
        stop = "tool_use" if any(block["type"] == "tool_use" for block in content) else "end_turn"
        message = {
            "id": "msg_vrtx_mock",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self._claude.usage(),
        }
        if method == "rawPredict":
            return web.json_response(message)
        if method == "streamRawPredict" and body.get("stream"):
            return await self._claude._stream(request, message)
        return _google_error(400, f"{method} needs stream: true in the body", "INVALID_ARGUMENT")
