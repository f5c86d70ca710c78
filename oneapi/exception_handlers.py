"""Render every error in the shape its caller expects, never with a stack trace.

The relay paths answer in their client's dialect (``oneapi.errors.render_relay_error``:
OpenAI's on ``/v1``, Anthropic's on ``/v1/messages``, Google's on ``/v1beta``), in English;
``/api`` answers in One API's ``{success, message, data}`` envelope, its message in the
caller's language (:mod:`oneapi.i18n`), with HTTP 200, except for 401, 403 and 429, which
keep their status as one-api's middlewares do, and 500: an unexpected exception is a bug,
so it answers HTTP 500 (monitors see it) with the request id, and is logged once with its
stack trace under that id.
"""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from oneapi.errors import GatewayError, InternalError, render_relay_error
from oneapi.i18n import N_, localized
from oneapi.log import request_id_var

__all__ = ("exception_handlers",)

log = logging.getLogger("oneapi.errors")

_KEEP_STATUS_ON_API = {401, 403, 429, 500}
_LITESTAR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                   404: "invalid_request_error", 405: "invalid_request_error", 413: "invalid_request_error",
                   429: "rate_limit_error"}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def render_error(request: Request, error: GatewayError) -> Response:
    if _is_api(request):
        status = error.status_code if error.status_code in _KEEP_STATUS_ON_API else 200
        return Response({"success": False, "message": localized(request, error.text), "data": None},
                        status_code=status, headers=error.headers)
    # a mount (the Gemini routes) sees its path without its prefix; the server's raw path has it
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
    status, body = render_relay_error(error, path)
    return Response(body, status_code=status, headers=error.headers)


def _gateway_error(request: Request, exc: GatewayError) -> Response:
    return render_error(request, exc)


def _http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status == 404 and not _is_api(request):
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif status == 405:
        message = N_("Method {method} is not allowed on {path}", method=request.method, path=request.url.path)
    elif status == 413:
        message = N_("request body is too large")
    else:
        message = str(exc.detail)
        extra = exc.extra
        if status == 400 and isinstance(extra, list) and extra:
            details = "; ".join(f"{item.get('key', '?')}: {item.get('message', '')}" for item in extra
                                if isinstance(item, dict))
            message = f"{message}: {details}" if details else message
    error = GatewayError(message, status_code=status, error_type=_LITESTAR_TYPES.get(status, "one_api_error"),
                         headers=dict(exc.headers or {}))
    return render_error(request, error)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render_error(request, InternalError(
        N_("internal error (request id {request_id}); see the server log for this request id",
           request_id=request_id_var.get())))


exception_handlers: ExceptionHandlersMap = {
    GatewayError: _gateway_error,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
