"""Zhipu (BigModel) v4 authentication: a short-lived HS256 JWT signed from ``id.secret``.

The token carries ``api_key`` (the id), ``exp`` and ``timestamp`` in milliseconds and a
``sign_type: SIGN`` header, and is sent as ``Authorization: <jwt>``. Tokens are cached
per key and re-signed shortly before they expire, so signing stays off the hot path.
"""

from __future__ import annotations

import threading
import time
import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from oneapi.errors import UpstreamError

__all__ = ("TOKEN_LIFETIME", "ZhipuTokens")

TOKEN_LIFETIME = 24 * 3600
_RENEW_BEFORE = 300


class ZhipuTokens:
    """Signs and caches one JWT per channel key."""

    def __init__(self, lifetime: int = TOKEN_LIFETIME) -> None:
        self._lifetime = lifetime
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, key: str, *, now: float | None = None) -> str:
        """A valid JWT for ``key`` (``id.secret``).

        Raises:
            UpstreamError: the channel key is not of the form ``id.secret``.
        """
        now = time.time() if now is None else now
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached[1] - _RENEW_BEFORE > now:
                return cached[0]
            token, expires = self._sign(key, now)
            self._tokens[key] = (token, expires)
            return token

    def _sign(self, key: str, now: float) -> tuple[str, float]:
        key_id, sep, secret = key.partition(".")
        if not sep or not key_id or not secret:
            raise UpstreamError("the Zhipu channel key must look like <id>.<secret>",
                                code="invalid_channel_key")
        expires = now + self._lifetime
        payload = {"api_key": key_id, "exp": int(expires * 1000), "timestamp": int(now * 1000)}
        with warnings.catch_warnings():
            # Zhipu issues 16-character secrets; the length is theirs to choose, not a fault to log.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            token = jwt.encode(payload, secret, algorithm="HS256", headers={"sign_type": "SIGN"})
        return token, expires
