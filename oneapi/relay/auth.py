"""Who is calling: the ``sk-`` key from the headers, checked against the cached token.

Keys come from ``Authorization: Bearer sk-...``, ``x-api-key``, ``api-key`` or (Gemini's
clients) ``x-goog-api-key``. A ``-<channelId>`` suffix pins a channel and is reserved for
admins, as in one-api. The token's status, expiry (-1 = never), quota and subnet allow-list are checked,
then the owner's status. The model allow-list is checked once the body names the model.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass

from oneapi.cache import CachedToken, CachedUser, RelayCache
from oneapi.db.models import Role, Status, TokenStatus
from oneapi.errors import Forbidden, QuotaExhausted, Unauthorized
from oneapi.security import constant_time_equal

__all__ = ("Caller", "authenticate", "extract_key")


@dataclass(slots=True)
class Caller:
    token: CachedToken
    user: CachedUser
    pinned_channel: int | None = None

    def check_model(self, model: str) -> None:
        allowed = self.token.models
        if allowed is not None and model not in allowed:
            raise Forbidden(f"this token is not allowed to use model {model}", code="model_not_allowed")


def extract_key(headers: Mapping[str, str]) -> str:
    """The key from ``Authorization: Bearer``, ``x-api-key``, ``api-key`` or ``x-goog-api-key``."""
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        value = value[7:]
    value = (value.strip() or headers.get("x-api-key", "").strip() or headers.get("api-key", "").strip()
             or headers.get("x-goog-api-key", "").strip())
    return value[3:] if value.startswith("sk-") else value


async def authenticate(cache: RelayCache, headers: Mapping[str, str], client_host: str) -> Caller:
    """The caller's token and user, or a 401/403/429 error saying why not."""
    raw = extract_key(headers)
    if not raw:
        raise Unauthorized("no API key given; send it as 'Authorization: Bearer sk-...'")
    key, _, channel_part = raw.partition("-")
    token = await cache.token_for_key(key)
    if token is None or not constant_time_equal(token.key, key):
        raise Unauthorized("invalid API key")
    _check_token(token, client_host)
    user = cache.users.get(token.user_id)
    if user is None or user.status != Status.ENABLED:
        raise Forbidden("the user of this token is disabled", code="user_disabled")
    pinned = None
    if channel_part:
        if user.role < Role.ADMIN:
            raise Forbidden("only administrators can pin a channel with a key suffix",
                            code="channel_pinning_not_allowed")
        if not channel_part.isdigit():
            raise Unauthorized("invalid API key")
        pinned = int(channel_part)
    return Caller(token, user, pinned)


def _check_token(token: CachedToken, host: str) -> None:
    if token.status == TokenStatus.DISABLED:
        raise Unauthorized("this token is disabled", code="token_disabled")
    if token.status == TokenStatus.EXPIRED or (token.expired_time != -1 and token.expired_time < time.time()):
        raise Unauthorized("this token has expired", code="token_expired")
    if token.status == TokenStatus.EXHAUSTED or (not token.unlimited_quota and token.remain_quota <= 0):
        raise QuotaExhausted("this token's quota is used up")
    if token.status != TokenStatus.ENABLED:
        raise Unauthorized("this token is not usable", code="token_disabled")
    if token.subnets is not None:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise Forbidden("this token may only be used from its allowed networks",
                            code="ip_not_allowed") from None
        if not any(address in network for network in token.subnets):
            raise Forbidden(f"this token may not be used from {host}", code="ip_not_allowed")
