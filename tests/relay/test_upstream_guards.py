"""Broken upstreams through the running gateway: hung, stalled, junk under a 200, key-echoing.

Each failure must be answered (504 or 502, in OpenAI's shape), leave the caller's quota as
it was, be retried on the next channel where the retry rules allow, and never show the
channel's key to the client, the log output or a channel test.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from oneapi.db.models import LogType
from tests.relay.conftest import ECHOED_KEY, JUNK_MODES, World

HI = [{"role": "user", "content": "hi"}]
QUOTA = 10**8  # a fresh token's remain_quota


def _chat(world: World, key: str, model: str, timeout: float = 20, **extra: object) -> httpx.Response:
    return httpx.post(world.v1 + "/chat/completions", json={"model": model, "messages": HI, **extra},
                      headers={"Authorization": f"Bearer {key}"}, timeout=timeout)


def _error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


# -- time limits -------------------------------------------------------------------------
def test_hung_upstream_is_504_refunded_within_the_first_byte_limit(world: World) -> None:
    key = world.key()
    started = time.monotonic()
    error = _error(_chat(world, key, "hang"), 504)
    assert 1.9 < time.monotonic() - started < 5  # RELAY_FIRST_BYTE_TIMEOUT=2 in the world
    assert error["code"] == "upstream_timeout"
    assert world.seed.wait_remain(key, QUOTA) == QUOTA
    assert world.seed.logs(world.seed.token_row(key).id) == []


def test_a_channel_config_overrides_the_limit(world: World) -> None:
    started = time.monotonic()
    _error(_chat(world, world.key(), "hang-fast"), 504)
    assert time.monotonic() - started < 1.5  # {"first_byte_timeout": 0.3}, not the 2 s default


def test_a_timeout_is_retried_on_the_next_channel(world: World) -> None:
    key = world.key()
    answer = _chat(world, key, "retry-hang")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]
    logs = world.seed.wait_logs(key, 1)
    assert json.loads(logs[0].other)["channel_path"][-1] != json.loads(logs[0].other)["channel_path"][0]


def test_a_client_that_leaves_cancels_the_upstream_call_and_is_refunded(world: World) -> None:
    hang = world.upstreams["hang"]
    released = hang.released
    key = world.key()
    with pytest.raises(httpx.ReadTimeout):
        _chat(world, key, "hang", timeout=0.5)
    # the gateway closes its upstream connection at once, long before its 2 s limit
    deadline = time.monotonic() + 1.2
    while hang.released <= released and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hang.released > released
    assert world.seed.wait_remain(key, QUOTA) == QUOTA


def test_a_stalled_stream_ends_at_the_idle_limit_and_bills_what_was_sent(world: World) -> None:
    key = world.key()
    started = time.monotonic()
    text = ""
    with httpx.stream("POST", world.v1 + "/chat/completions", timeout=20,
                      json={"model": "stall-stream", "messages": HI, "stream": True},
                      headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):  # cut, as the upstream's stall cut it
            for piece in response.iter_text():
                text += piece
    assert 1.4 < time.monotonic() - started < 5  # RELAY_IDLE_TIMEOUT=1.5
    assert '"content": "Hello"' in text or '"content":"Hello"' in text
    logs = world.seed.wait_logs(key, 1)
    assert logs[0].is_stream and logs[0].completion_tokens >= 1 and logs[0].quota > 0


# -- success checks ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", JUNK_MODES)
def test_junk_under_a_200_is_a_502_and_not_billed(world: World, mode: str) -> None:
    key = world.key()
    junk = world.upstreams[f"junk_{mode}"]
    calls = len(junk.received)
    error = _error(_chat(world, key, f"junk-{mode}"), 502)
    assert error["code"] == "bad_upstream_answer"
    assert len(junk.received) > calls
    time.sleep(0.3)  # two batch-writer rounds
    assert world.seed.token_row(key).remain_quota == QUOTA
    assert world.seed.logs(world.seed.token_row(key).id) == []


@pytest.mark.parametrize("mode", JUNK_MODES)
def test_junk_under_a_200_is_retried_like_a_5xx(world: World, mode: str) -> None:
    answer = _chat(world, world.key(), f"retry-junk-{mode}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("mode", JUNK_MODES)
def test_junk_under_a_200_stream_is_a_502(world: World, mode: str) -> None:
    key = world.key()
    error = _error(_chat(world, key, f"junk-{mode}", stream=True), 502)
    assert error["code"] == "bad_upstream_answer"
    time.sleep(0.3)
    assert world.seed.token_row(key).remain_quota == QUOTA


def test_html_message_names_the_problem(world: World) -> None:
    error = _error(_chat(world, world.key(), "junk-html"), 502)
    assert "HTML page" in str(error["message"])


# -- secrets -----------------------------------------------------------------------------
def test_a_key_echoing_upstream_never_shows_the_key(world: World) -> None:
    response = _chat(world, world.key(), "echo-key")
    error = _error(response, 502)
    assert "Incorrect API key provided" in str(error["message"])
    assert ECHOED_KEY not in response.text and ECHOED_KEY[8:20] not in response.text
    assert "Bearer ***" in str(error["message"])
    channel_id = world.channels["echo_key"]
    test = httpx.get(f"{world.gateway.base_url}/api/channel/test/{channel_id}", timeout=20,
                     headers={"Authorization": f"Bearer {world.root_access_token}"})
    assert test.status_code == 200, test.text
    assert test.json()["success"] is False and "Incorrect API key provided" in test.json()["message"]
    assert ECHOED_KEY not in test.text
    time.sleep(0.3)
    output = world.gateway.output()
    assert "Incorrect API key provided" in output  # the warning line was written, masked
    assert ECHOED_KEY not in output and ECHOED_KEY[8:20] not in output
    from sqlmodel import Session, select

    from oneapi.db.models import Log

    with Session(world.seed.engine) as session:
        rows = session.exec(select(Log).where(Log.channel_id == channel_id, Log.type == LogType.TEST)).all()
    assert rows and all(ECHOED_KEY not in row.content for row in rows)
    assert any("Incorrect API key provided" in row.content for row in rows)
