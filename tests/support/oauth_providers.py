"""Local sign-in providers speaking the real protocols, on one HTTP server on 127.0.0.1.

The gateway reaches GitHub and Lark there through its test-only ``OAUTH_TEST_ORIGIN``
setting (``<origin>/<provider host><path>``); the OpenID Connect provider lives under
``/oidc`` and is configured like any other, through ``OidcWellKnown``.

- **GitHub**: ``/github.com/login/oauth/authorize`` redirects to ``redirect_uri`` with a
  code and the state; ``/github.com/login/oauth/access_token`` takes the form with the client
  id and secret and answers JSON (for ``Accept: application/json``) or, for a bad code,
  ``{"error": "bad_verification_code"}`` with HTTP 200 as GitHub does; ``/api.github.com/user``
  and ``/user/emails`` need the bearer token.
- **Lark**: the v2 token endpoint wants a JSON body; userinfo answers ``open_id``.
- **OIDC**: discovery, authorize (keeping the ``nonce``), token (client_secret_basic, the
  same ``redirect_uri``) answering an RS256 ID token signed with the key published at
  ``/oidc/jwks``, and userinfo.

Every code works once. :class:`Providers` holds the person each provider signs in next and
switches that make the OIDC provider misbehave (another signing key, audience or nonce).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ("CLIENT_ID", "CLIENT_SECRET", "Person", "Providers", "oauth_providers")

CLIENT_ID = "gateway-client"
CLIENT_SECRET = "gateway-secret-0123456789"
AUTHORIZE_PATHS = ("/github.com/login/oauth/authorize", "/accounts.feishu.cn/open-apis/authen/v1/authorize",
                   "/oidc/authorize")


@dataclass
class Person:
    subject: str  # GitHub: the numeric id; OIDC: sub; Lark: open_id
    login: str = ""
    name: str = ""
    email: str = ""


@dataclass
class Providers:
    origin: str = ""
    github: Person = field(default_factory=lambda: Person("1001", "octocat", "The Octocat", "octo@x.org"))
    oidc: Person = field(default_factory=lambda: Person("oidc-sub-1", "olivia", "Olivia", "olivia@x.org"))
    lark: Person = field(default_factory=lambda: Person("ou_lark_1", "", "Lark Person", ""))
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    # OIDC misbehaviour switches
    sign_with: RSAKey | None = None  # sign ID tokens with this key instead (a bad signature)
    audience: str = CLIENT_ID
    nonce_override: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> what it was issued for
    tokens: dict[str, Person] = field(default_factory=dict)  # access token -> person
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def well_known(self) -> str:
        return f"{self.origin}/oidc/.well-known/openid-configuration"

    def authorize(self, provider: str, query: dict[str, str]) -> str:
        """What the authorization page does when the person approves: the redirect's URL."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"provider": provider, "person": getattr(self, provider), **query}
        target = query.get("redirect_uri", "")
        return f"{target}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def take_code(self, provider: str, code: str) -> dict[str, Any] | None:
        issued = self.codes.pop(code, None)
        return issued if issued is not None and issued["provider"] == provider else None

    def id_token(self, issued: dict[str, Any]) -> str:
        person: Person = issued["person"]
        now = int(time.time())
        claims = {"iss": f"{self.origin}/oidc", "sub": person.subject, "aud": self.audience, "iat": now,
                  "exp": now + 300, "email": person.email, "email_verified": True, "name": person.name,
                  "preferred_username": person.login}
        nonce = self.nonce_override if self.nonce_override is not None else issued.get("nonce")
        if nonce:
            claims["nonce"] = nonce
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


@contextmanager
def oauth_providers() -> Iterator[Providers]:
    providers = Providers()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("location", location)
            self.send_header("content-length", "0")
            self.end_headers()

        def _bearer(self) -> Person | None:
            header = self.headers.get("authorization", "")
            return providers.tokens.get(header[7:]) if header.startswith("Bearer ") else None

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            path = parts.path
            if path in AUTHORIZE_PATHS:
                provider = {"g": "github", "a": "lark", "o": "oidc"}[path[1]]
                if query.get("client_id") != CLIENT_ID:
                    self._send(400, {"error": "unknown client_id"})
                    return
                self._redirect(providers.authorize(provider, query))
            elif path == "/oidc/.well-known/openid-configuration":
                base = f"{providers.origin}/oidc"
                self._send(200, {"issuer": base, "authorization_endpoint": f"{base}/authorize",
                                 "token_endpoint": f"{base}/token", "userinfo_endpoint": f"{base}/userinfo",
                                 "jwks_uri": f"{base}/jwks",
                                 "id_token_signing_alg_values_supported": ["RS256"],
                                 "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                                 "response_types_supported": ["code"], "subject_types_supported": ["public"]})
            elif path == "/oidc/jwks":
                self._send(200, {"keys": [providers.key.as_dict(private=False)]})
            elif path in ("/api.github.com/user", "/api.github.com/user/emails", "/oidc/userinfo",
                          "/passport.feishu.cn/suite/passport/oauth/userinfo"):
                person = self._bearer()
                if person is None:
                    self._send(401, {"message": "Bad credentials"})
                elif path == "/api.github.com/user":
                    self._send(200, {"id": int(person.subject), "login": person.login, "name": person.name,
                                     "email": None})
                elif path == "/api.github.com/user/emails":
                    self._send(200, [{"email": "other@example.com", "primary": False, "verified": True},
                                     {"email": person.email, "primary": True, "verified": True}])
                elif path == "/oidc/userinfo":
                    self._send(200, {"sub": person.subject, "email": person.email, "name": person.name,
                                     "preferred_username": person.login, "email_verified": True})
                else:
                    self._send(200, {"open_id": person.subject, "name": person.name, "union_id": "on_x"})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length).decode()
            content_type = self.headers.get("content-type", "")
            path = urlsplit(self.path).path
            if path == "/open.feishu.cn/open-apis/authen/v2/oauth/token":
                if not content_type.startswith("application/json"):
                    self._send(400, {"code": 20001, "error": "invalid_request",
                                     "error_description": "a JSON body is required"})
                    return
                form = json.loads(raw)
            else:
                form = {key: values[0] for key, values in parse_qs(raw).items()}
            providers.token_requests.append({"path": path, "form": form,
                                             "authorization": self.headers.get("authorization", "")})
            if path == "/github.com/login/oauth/access_token":
                self._token("github", form, form.get("client_id", ""), form.get("client_secret", ""))
            elif path == "/open.feishu.cn/open-apis/authen/v2/oauth/token":
                self._token("lark", form, form.get("client_id", ""), form.get("client_secret", ""))
            elif path == "/oidc/token":
                client_id, secret = _basic(self.headers.get("authorization", ""))
                self._token("oidc", form, client_id, secret)
            else:
                self._send(404, {"error": "not found"})

        def _token(self, provider: str, form: dict[str, Any], client_id: str, secret: str) -> None:
            if client_id != CLIENT_ID or secret != CLIENT_SECRET:
                self._send(401, {"error": "invalid_client"})
                return
            issued = providers.take_code(provider, str(form.get("code", "")))
            if issued is None or (provider != "github" and (
                    form.get("grant_type") != "authorization_code"
                    or form.get("redirect_uri") != issued.get("redirect_uri"))):
                status = 200 if provider == "github" else 400  # GitHub answers its errors with 200
                error = "bad_verification_code" if provider == "github" else "invalid_grant"
                self._send(status, {"error": error, "error_description": "the code is wrong or used"})
                return
            token = secrets.token_urlsafe(16)
            providers.tokens[token] = issued["person"]
            answer: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
            if provider == "oidc":
                answer["id_token"] = providers.id_token(issued)
            if provider == "lark":
                answer.update(code=0, expires_in=7200)
            self._send(200, answer)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    providers.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield providers
    finally:
        server.shutdown()
        server.server_close()
