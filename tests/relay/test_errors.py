"""Each error case, in OpenAI's shape, with the request id header."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from oneapi.db.models import Status, TokenStatus
from tests.relay.conftest import World
from tests.support.gateway import run_gateway

HI = [{"role": "user", "content": "hi"}]


def _post(world: World, key: str | None, body: bytes | dict[str, object], path: str = "/chat/completions",
          **headers: str) -> httpx.Response:
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if isinstance(body, dict):
        return httpx.post(world.v1 + path, json=body, headers=headers, timeout=20)
    return httpx.post(world.v1 + path, content=body, headers={"Content-Type": "application/json", **headers},
                      timeout=20)


def _error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["x-oneapi-request-id"]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize("key", [None, "sk-not-a-real-key", "sk-"])
def test_invalid_key_is_401(world: World, key: str | None) -> None:
    error = _error(_post(world, key, {"model": "gpt-4o-mini", "messages": HI}), 401)
    assert error["code"] == "invalid_api_key"


def test_other_key_headers_are_accepted(world: World) -> None:
    key = world.key()
    for header in ("x-api-key", "api-key"):
        response = _post(world, None, {"model": "gpt-4o-mini", "messages": HI}, **{header: key})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"status": TokenStatus.DISABLED}, 401, "token_disabled"),
    ({"expired_time": 1}, 401, "token_expired"),
    ({"remain_quota": 0}, 429, "insufficient_quota"),
    ({"remain_quota": 5}, 429, "insufficient_quota"),  # less than the reservation
    ({"quota": 0}, 429, "insufficient_quota"),  # the user's own quota
    ({"models": "gpt-4.1"}, 403, "model_not_allowed"),
    ({"subnet": "10.0.0.0/8"}, 403, "ip_not_allowed"),
])
def test_token_and_user_limits(world: World, kwargs: dict[str, int | str], status: int, code: str) -> None:
    error = _error(_post(world, world.key(**kwargs), {"model": "gpt-4o-mini", "messages": HI}), status)
    assert error["code"] == code


def test_allowed_subnet_and_future_expiry_pass(world: World) -> None:
    key = world.key(subnet="10.0.0.0/8,127.0.0.0/8", expired_time=int(time.time()) + 3600)
    assert _post(world, key, {"model": "gpt-4o-mini", "messages": HI}).status_code == 200


def test_forwarded_for_counts_only_from_a_trusted_proxy(world: World, tmp_path: Path) -> None:
    key = world.key(subnet="10.0.0.0/8")
    body = {"model": "gpt-4o-mini", "messages": HI}
    # the default trusts 127.0.0.1: a proxy on this host names the client it relays for
    assert _post(world, key, body, **{"X-Forwarded-For": "10.1.2.3"}).status_code == 200
    database = str(world.seed.engine.url.database)
    with run_gateway(tmp_path, {"SQLITE_PATH": database, "FORWARDED_ALLOW_IPS": "192.0.2.1"}) as gateway:
        forged = httpx.post(gateway.base_url + "/v1/chat/completions", json=body, timeout=20,
                            headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": "10.1.2.3"})
    assert _error(forged, 403)["code"] == "ip_not_allowed"


def test_disabled_user_is_403(world: World) -> None:
    user = world.seed.user(status=Status.DISABLED)
    error = _error(_post(world, world.seed.token(user), {"model": "gpt-4o-mini", "messages": HI}), 403)
    assert error["code"] == "user_disabled"


def test_quota_exhausted_with_sdk(world: World) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        world.client(world.key(remain_quota=1)).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert caught.value.code == "insufficient_quota"


def test_unknown_model_is_503(world: World) -> None:
    error = _error(_post(world, world.key(), {"model": "no-such-model", "messages": HI}), 503)
    assert error["message"] == "no available channel for model no-such-model in group default"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1,2]", b'{"model": 5}', b'{"messages": []}'])
def test_bad_bodies_are_400(world: World, body: bytes) -> None:
    _error(_post(world, world.key(), body), 400)


def test_body_over_the_limit_is_413(world: World) -> None:
    big = (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * (33 * 1024 * 1024)
           + b'"}]}')
    _error(_post(world, world.key(), big), 413)


def test_upstream_timeout_is_504(world: World) -> None:
    key = world.key()
    error = _error(_post(world, key, {"model": "hang", "messages": HI}), 504)
    assert error["code"] == "upstream_timeout"
    assert world.seed.wait_remain(key, 10**8) == 10**8


def test_final_429_keeps_its_status(world: World) -> None:
    error = _error(_post(world, world.key(), {"model": "always-429", "messages": HI}), 429)
    assert "e429 says 429" in str(error["message"])


def test_unknown_route_is_404_in_openai_shape(world: World) -> None:
    response = httpx.post(world.v1 + "/nothing/here", json={})
    assert _error(response, 404)["message"] == "Invalid URL (POST /v1/nothing/here)"


def test_wrong_method_is_405(world: World) -> None:
    response = httpx.get(world.v1 + "/chat/completions", headers={"Authorization": f"Bearer {world.key()}"})
    assert _error(response, 405)["type"] == "invalid_request_error"


def test_gzip_bodies_are_decoded_and_other_encodings_refused(world: World) -> None:
    key = world.key()
    body = json.dumps({"model": "gpt-4o-mini", "messages": HI}).encode()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer = _post(world, key, gzip.compress(body), **headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["total_tokens"] > 0
    assert _error(_post(world, key, b"not gzip at all", **headers), 400)["type"] == "invalid_request_error"
    bomb = gzip.compress(b'{"model":"gpt-4o-mini","messages":"' + b"x" * (33 * 1024 * 1024) + b'"}')
    assert len(bomb) < 1024 * 1024  # small on the wire, over the 32 MiB limit once decoded
    _error(_post(world, key, bomb, **headers), 413)
    refused = _post(world, key, body, **{"Content-Type": "application/json", "Content-Encoding": "br"})
    assert _error(refused, 415)["code"] == "unsupported_encoding"


def test_every_error_renders_in_each_clients_dialect() -> None:
    from oneapi.errors import (
        InvalidRequest,
        NoAvailableChannel,
        QuotaExhausted,
        RateLimited,
        Unauthorized,
        UpstreamError,
        UpstreamTimeout,
        render_relay_error,
    )

    cases = [(InvalidRequest("bad"), 400, "invalid_request_error", 400, "INVALID_ARGUMENT"),
             (Unauthorized("who"), 401, "authentication_error", 401, "UNAUTHENTICATED"),
             (QuotaExhausted("empty"), 402, "billing_error", 429, "RESOURCE_EXHAUSTED"),
             (RateLimited("slow"), 429, "rate_limit_error", 429, "RESOURCE_EXHAUSTED"),
             (UpstreamError("broke"), 500, "api_error", 502, "UNAVAILABLE"),
             (NoAvailableChannel("none"), 529, "overloaded_error", 503, "UNAVAILABLE"),
             (UpstreamTimeout("late"), 504, "timeout_error", 504, "DEADLINE_EXCEEDED")]
    for error, status, kind, google_status, google_name in cases:
        assert render_relay_error(error, "/v1/messages") == (
            status, {"type": "error", "error": {"type": kind, "message": error.message}})
        google = {"error": {"code": google_status, "message": error.message, "status": google_name}}
        assert render_relay_error(error, "/v1beta/models/g:generateContent") == (google_status, google)
        assert render_relay_error(error, "/v1/chat/completions") == (error.status_code, error.openai_body())
