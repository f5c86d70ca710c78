"""Google service-account credentials: the JSON key exchanged for an OAuth access token.

The key's ``private_key`` signs a JWT grant (RS256, ``iss`` = the account's
``client_email``, ``aud`` = the key's own ``token_uri``, the cloud-platform scope, one
hour), which is posted to ``token_uri`` as ``grant_type=...jwt-bearer``; Google answers an
access token valid for about an hour. Tokens are cached per service-account key and
shared by every request and channel using it, and renewed five minutes before they expire; one
exchange runs at a time per account, so a burst of requests after expiry makes one call.
The exchange uses httpx, once an hour, off the relay's hot path.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
import jwt

from oneapi.errors import UpstreamError

__all__ = ("SCOPE", "ServiceAccount", "ServiceAccountTokens", "service_account")

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
_LIFETIME = 3600
_RENEW_BEFORE = 300
_EXCHANGE_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str
    project_id: str


@lru_cache(maxsize=256)
def service_account(key_json: str) -> ServiceAccount:
    """Parse a service-account key (the JSON file Google Cloud's console downloads)."""
    try:
        data: Any = json.loads(key_json)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("client_email") or not data.get("private_key"):
        raise UpstreamError("the channel's Google credentials are not a service-account JSON key "
                            "(client_email and private_key are required)", code="invalid_channel_key")
    return ServiceAccount(str(data["client_email"]), str(data["private_key"]),
                          str(data.get("private_key_id") or ""),
                          str(data.get("token_uri") or DEFAULT_TOKEN_URI), str(data.get("project_id") or ""))


class ServiceAccountTokens:
    """Access tokens per service account, exchanged on demand and cached until near expiry."""

    def __init__(self) -> None:
        self._tokens: dict[ServiceAccount, tuple[str, float]] = {}
        self._locks: dict[ServiceAccount, asyncio.Lock] = {}

    async def token(self, account: ServiceAccount) -> str:
        cached = self._tokens.get(account)
        if cached is not None and cached[1] - _RENEW_BEFORE > time.time():
            return cached[0]
        async with self._locks.setdefault(account, asyncio.Lock()):
            cached = self._tokens.get(account)
            if cached is not None and cached[1] - _RENEW_BEFORE > time.time():
                return cached[0]
            token, expires_at = await self._exchange(account)
            self._tokens[account] = (token, expires_at)
            return token

    @staticmethod
    async def _exchange(account: ServiceAccount) -> tuple[str, float]:
        now = int(time.time())
        claims = {"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri, "iat": now,
                  "exp": now + _LIFETIME}
        headers = {"kid": account.private_key_id} if account.private_key_id else None
        try:
            assertion = jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError):
            raise UpstreamError("the service account's private_key is not a valid RSA key",
                                code="invalid_channel_key") from None
        try:
            async with httpx.AsyncClient(timeout=_EXCHANGE_TIMEOUT) as client:
                response = await client.post(account.token_uri, data={"grant_type": GRANT_TYPE,
                                                                      "assertion": assertion})
        except httpx.HTTPError as exc:
            raise UpstreamError("cannot reach the service account's token_uri: "
                                f"{type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code != 200 or not answer.get("access_token"):
            reason = answer.get("error_description") or answer.get("error")
            raise UpstreamError(f"Google refused the service account {account.client_email}: "
                                f"{reason or f'HTTP {response.status_code}'}")
        return str(answer["access_token"]), now + float(answer.get("expires_in") or _LIFETIME)
