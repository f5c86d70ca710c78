"""AWS Lambda events as the three HTTP front doors deliver them.

Shapes follow AWS's documented payloads: API Gateway REST API proxy integration (payload
1.0), HTTP API (payload 2.0) and Lambda Function URLs (payload 2.0 with a ``lambda-url``
domain and no stage). Only values differ between calls; the keys are the real ones.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ("EVENT_SOURCES", "LambdaContext", "function_url_event", "http_api_event", "rest_api_event")

ACCOUNT = "123456789012"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "OpenAI/Python 1.60.0"


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that code may read."""

    function_name: str = "one-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/one-api"
    log_stream_name: str = "2026/11/23/[$LATEST]0123456789abcdef"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:one-api"
    deadline_ms: int = field(default_factory=lambda: int(time.time() * 1000) + 30_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _body(payload: Any) -> str | None:
    if payload is None:
        return None
    return payload if isinstance(payload, str) else json.dumps(payload)


def _split_path(path: str) -> tuple[str, str]:
    raw_path, _, query = path.partition("?")
    return raw_path, query


def rest_api_event(
    method: str, path: str, *, headers: Mapping[str, str] | None = None, json_body: Any = None
) -> dict[str, Any]:
    """API Gateway REST API, Lambda proxy integration on ``/{proxy+}``, stage ``prod``."""
    raw_path, query = _split_path(path)
    host = "abc123defg.execute-api.us-east-1.amazonaws.com"
    all_headers = {
        "Host": host,
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "Accept": "*/*",
        **(headers or {}),
    }
    if json_body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    params = dict(pair.split("=", 1) for pair in query.split("&") if pair) or None
    now = time.time()
    return {
        "resource": "/{proxy+}",
        "path": raw_path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": params,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
        "pathParameters": {"proxy": raw_path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "Ab1CdEfGhIjKlMn=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/prod{raw_path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123defg",
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": SOURCE_IP,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": USER_AGENT,
                "user": None,
            },
            "domainName": host,
            "apiId": "abc123defg",
        },
        "body": _body(json_body),
        "isBase64Encoded": False,
    }


def _payload_v2(
    method: str,
    path: str,
    *,
    host: str,
    api_id: str,
    headers: Mapping[str, str] | None,
    json_body: Any,
    route_key: str,
) -> dict[str, Any]:
    raw_path, query = _split_path(path)
    all_headers = {
        "host": host,
        "user-agent": USER_AGENT,
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "accept": "*/*",
        **{name.lower(): value for name, value in (headers or {}).items()},
    }
    if json_body is not None:
        all_headers.setdefault("content-type", "application/json")
    cookies = [part.strip() for part in all_headers.pop("cookie", "").split(";") if part.strip()]
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous" if "lambda-url" in host else ACCOUNT,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&") if pair)
    if json_body is not None:
        event["body"] = _body(json_body)
    return event


def http_api_event(
    method: str, path: str, *, headers: Mapping[str, str] | None = None, json_body: Any = None
) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 2.0, route ``ANY /{proxy+}`` on ``$default``."""
    return _payload_v2(
        method,
        path,
        host="r2d2c3po4x.execute-api.us-east-1.amazonaws.com",
        api_id="r2d2c3po4x",
        headers=headers,
        json_body=json_body,
        route_key="ANY /{proxy+}",
    )


def function_url_event(
    method: str, path: str, *, headers: Mapping[str, str] | None = None, json_body: Any = None
) -> dict[str, Any]:
    """A Lambda Function URL (auth type NONE): payload 2.0, ``$default`` route and stage."""
    url_id = "x7kq2mzvbd3fhtyw5lp4gq6nse0rjcua"
    return _payload_v2(
        method,
        path,
        host=f"{url_id}.lambda-url.us-east-1.on.aws",
        api_id=url_id,
        headers=headers,
        json_body=json_body,
        route_key="$default",
    )


EVENT_SOURCES: dict[str, Callable[..., dict[str, Any]]] = {
    "rest-api-v1": rest_api_event,
    "http-api-v2": http_api_event,
    "function-url": function_url_event,
}
