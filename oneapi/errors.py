"""One exception hierarchy for the whole gateway.

::

    GatewayError                    status, message, type, code
    ├── InvalidRequest              400 invalid_request_error
    │   └── UnsupportedFeature      400 a vendor cannot do what was asked
    ├── Unauthorized                401
    ├── Forbidden                   403
    ├── NotFound                    404
    ├── PayloadTooLarge             413
    ├── RateLimited                 429 (carries Retry-After)
    ├── QuotaExhausted              429 insufficient_quota (as OpenAI)
    ├── NoAvailableChannel          503
    ├── ServiceUnavailable          503 a dependency (the database) is down; retry later
    ├── UpstreamError               502 (the upstream's own message, never its key)
    │   ├── UpstreamConnectError        no connection: refused, DNS, TLS
    │   └── UpstreamProtocolError       the connection broke, or what came back was not HTTP
    ├── UpstreamTimeout             504 (itself: RELAY_TIMEOUT, the overall limit)
    │   ├── UpstreamConnectTimeout      no connection within RELAY_CONNECT_TIMEOUT
    │   ├── UpstreamFirstByteTimeout    no status line and headers within RELAY_FIRST_BYTE_TIMEOUT
    │   └── UpstreamIdleTimeout         the body stalled for RELAY_IDLE_TIMEOUT
    └── InternalError               500 (a bug; details only in the server log)

Each error renders in its caller's dialect (:func:`render_relay_error` picks by path):
OpenAI's ``{"error": {"message", "type", "param", "code"}}`` on ``/v1``; Anthropic's
``{"type": "error", "error": {"type", "message"}}`` with Anthropic's status codes on
``/v1/messages`` (Claude Code reacts to the type and wording); Google's
``{"error": {"code", "message", "status"}}`` on ``/v1beta``; One API's
``{"success": false, "message": ...}`` envelope on ``/api`` (``oneapi.exception_handlers``).

The upstream transports (:mod:`oneapi.relay.upstream`) raise only ``UpstreamError``,
``UpstreamTimeout`` and their subclasses above, whatever HTTP library is underneath: the
relay retries on any of them, and a stream that breaks with one of them after it started
is billed for what it produced.
"""

from __future__ import annotations

from typing import Any

__all__ = (
    "Forbidden",
    "GatewayError",
    "InternalError",
    "InvalidRequest",
    "NoAvailableChannel",
    "NotFound",
    "PayloadTooLarge",
    "QuotaExhausted",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedFeature",
    "UpstreamConnectError",
    "UpstreamConnectTimeout",
    "UpstreamError",
    "UpstreamFirstByteTimeout",
    "UpstreamIdleTimeout",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "render_relay_error",
)


class GatewayError(Exception):
    status_code = 500
    error_type = "one_api_error"
    default_code: str | None = None

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None,
                 status_code: int | None = None, error_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code
        self.param = param
        if status_code is not None:
            self.status_code = status_code
        if error_type is not None:
            self.error_type = error_type
        self.headers = headers or {}

    def openai_body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param,
                          "code": self.code}}


class InvalidRequest(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedFeature(InvalidRequest):
    default_code = "unsupported_feature"


class Unauthorized(GatewayError):
    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class Forbidden(GatewayError):
    status_code = 403
    error_type = "permission_error"


class NotFound(GatewayError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class PayloadTooLarge(GatewayError):
    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class RateLimited(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(max(1, retry_after)))


class QuotaExhausted(GatewayError):
    """OpenAI answers an exhausted balance with 429 ``insufficient_quota``; so do we."""

    status_code = 429
    error_type = "insufficient_quota"
    default_code = "insufficient_quota"


class NoAvailableChannel(GatewayError):
    status_code = 503
    error_type = "one_api_error"
    default_code = "model_not_available"


class ServiceUnavailable(GatewayError):
    """The gateway cannot answer right now (e.g. the database is down); the client may retry."""

    status_code = 503
    error_type = "one_api_error"
    default_code = "service_unavailable"


class UpstreamError(GatewayError):
    status_code = 502
    error_type = "upstream_error"
    default_code = "bad_response_status_code"


class UpstreamConnectError(UpstreamError):
    """The upstream could not be reached: connection refused, name not resolved, TLS failed."""


class UpstreamProtocolError(UpstreamError):
    """The upstream hung up before or while answering, or sent something that is not HTTP."""


class UpstreamTimeout(GatewayError):
    status_code = 504
    error_type = "upstream_error"
    default_code = "upstream_timeout"


class UpstreamConnectTimeout(UpstreamTimeout):
    """No connection within the connect limit."""


class UpstreamFirstByteTimeout(UpstreamTimeout):
    """Connected, but no status line and headers within the first-byte limit."""


class UpstreamIdleTimeout(UpstreamTimeout):
    """The body stopped arriving for longer than the idle limit."""


class InternalError(GatewayError):
    default_code = "internal_error"

    def __init__(self, message: str = "internal error; see the server log for this request id") -> None:
        super().__init__(message)


# Anthropic's error types by its status codes (docs "Errors"); a gateway status it does
# not use becomes its nearest one: no channel free is "overloaded" (529), a bad upstream
# answer an "api_error" (500), an exhausted balance a "billing_error" (402).
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                    403: "permission_error", 404: "not_found_error", 405: "invalid_request_error",
                    413: "request_too_large", 415: "invalid_request_error", 429: "rate_limit_error",
                    500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
_ANTHROPIC_STATUS = {502: 500, 503: 529}
# Google's canonical status names by HTTP status (google.rpc.Code).
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  405: "INVALID_ARGUMENT", 409: "ALREADY_EXISTS", 413: "INVALID_ARGUMENT",
                  415: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                  501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _anthropic(error: GatewayError) -> tuple[int, dict[str, Any]]:
    status = 402 if isinstance(error, QuotaExhausted) else _ANTHROPIC_STATUS.get(error.status_code,
                                                                                  error.status_code)
    kind = _ANTHROPIC_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return status, {"type": "error", "error": {"type": kind, "message": error.message}}


def _google(error: GatewayError) -> tuple[int, dict[str, Any]]:
    status = error.status_code
    name = _GOOGLE_STATUS.get(status) or ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return status, {"error": {"code": status, "message": error.message, "status": name}}


def render_relay_error(error: GatewayError, path: str) -> tuple[int, dict[str, Any]]:
    """The status and body of ``error`` in the dialect of the client that called ``path``."""
    if path.startswith("/v1/messages"):
        return _anthropic(error)
    if path.startswith("/v1beta"):
        return _google(error)
    return error.status_code, error.openai_body()
