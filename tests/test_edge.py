"""The outermost app: request ids and metrics on every request, OpenAI errors on the relay's lane."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

from oneapi.edge import Edge
from oneapi.errors import RateLimited
from oneapi.metrics import Metrics
from oneapi.relay.asgi import start_stream


async def _broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug")


async def _limited(scope: Scope, receive: Receive, send: Send) -> None:
    raise RateLimited("slow down", retry_after=7)


async def _fails_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await start_stream(send, 200)
    raise RuntimeError("after the answer began")


@get("/hello", sync_to_thread=False)
def _hello() -> dict[str, str]:
    return {"hello": "world"}


def _edge(metrics: Metrics) -> Edge:
    lanes = {"/v1/broken": _broken, "/v1/limited": _limited, "/v1/half": _fails_mid_stream}
    return Edge(Litestar([_hello]), metrics, lanes)


def _count(metrics: Metrics, route: str, status: str) -> float:
    value = metrics.registry.get_sample_value("oneapi_requests_total", {"route": route, "model": "",
                                                                         "channel": "", "status": status})
    return value or 0.0


def test_lane_failures_become_openai_errors_with_a_request_id() -> None:
    metrics = Metrics()
    with TestClient(_edge(metrics)) as client:
        broken = client.post("/v1/broken", json={})
        assert broken.status_code == 500
        assert broken.json()["error"]["code"] == "internal_error"
        assert "a bug" not in broken.text
        limited = client.post("/v1/limited", json={})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "7"
        assert limited.json()["error"] == {"message": "slow down", "type": "rate_limit_error", "param": None,
                                           "code": "rate_limit_exceeded"}
        half = client.post("/v1/half", json={})
        assert half.status_code == 200
        assert half.headers["content-type"].startswith("text/event-stream")
        ids = {answer.headers["x-oneapi-request-id"] for answer in (broken, limited, half)}
        assert len(ids) == 3
    assert _count(metrics, "/v1/broken", "500") == 1
    assert _count(metrics, "/v1/limited", "429") == 1
    assert metrics.registry.get_sample_value("oneapi_streams_total") == 1
    assert metrics.registry.get_sample_value("oneapi_streams_open") == 0
    assert metrics.registry.get_sample_value("oneapi_requests_in_flight") == 0


def test_everything_else_goes_to_litestar_with_a_request_id() -> None:
    metrics = Metrics()
    with TestClient(_edge(metrics)) as client:
        hello = client.get("/hello")
        assert hello.json() == {"hello": "world"}
        assert hello.headers["x-oneapi-request-id"]
        not_a_lane = client.get("/v1/broken")  # only POST takes the lane
        assert not_a_lane.status_code == 404
        assert not_a_lane.headers["x-oneapi-request-id"]
    assert _count(metrics, "/hello", "200") == 1


def test_relay_paths_answer_browsers_from_any_origin_and_other_paths_do_not() -> None:
    metrics = Metrics()
    with TestClient(_edge(metrics)) as client:
        preflight = client.options("/v1/chat/completions", headers={
            "Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        asked = preflight.headers["access-control-allow-headers"]
        assert asked == "authorization, content-type, x-stainless-os"
        assert preflight.headers["x-oneapi-request-id"]
        limited = client.post("/v1/limited", json={}, headers={"Origin": "https://chat.example"})
        assert limited.headers["access-control-allow-origin"] == "*"  # errors too, so the page can read them
        hello = client.get("/hello", headers={"Origin": "https://chat.example"})
        assert "access-control-allow-origin" not in hello.headers
