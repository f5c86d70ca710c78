"""The Realtime API relayed over WebSockets: the openai SDK's realtime client, billing from response.done."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.relay.channels.conftest import ChannelWorld


def test_sdk_session_relays_events_both_ways_and_bills_response_done(world: ChannelWorld) -> None:
    key = world.key()
    client = world.openai(key)
    texts, kinds = [], []
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "instructions": "Be brief."})
        connection.response.create()
        for event in connection:
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                texts.append(event.delta)
            if event.type == "response.done":
                break
    assert kinds[:3] == ["session.created", "session.updated", "response.created"]
    assert "".join(texts) == "Hello there."
    server = world.servers["realtime"]
    assert [event["type"] for event in server.events_in[-2:]] == ["session.update", "response.create"]
    (log,) = world.seed.wait_logs(key, 1)
    # audio tokens charged as text tokens times 8 (input) and 4 (output) for gpt-realtime
    assert (log.prompt_tokens, log.completion_tokens) == (10 + 20 * 8, 5 + 15 * 4)
    assert log.model_name == "gpt-realtime" and log.is_stream


def test_browser_subprotocol_key_and_binary_frames(world: ChannelWorld) -> None:
    key = world.key()
    url = world.gateway.base_url.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime-mini"
    with connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{key}"]) as socket:
        assert socket.subprotocol == "realtime"
        assert json.loads(socket.recv())["type"] == "session.created"
        socket.send(b"\x00\x01audio")
        assert socket.recv() == b"\x00\x01audio"
        socket.send(json.dumps({"type": "response.create"}))
        while json.loads(socket.recv())["type"] != "response.done":
            pass
    (log,) = world.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (10 + round(20 * 50 / 3), 5 + round(15 * 25 / 3))


def test_a_bad_key_or_model_is_refused_before_the_upgrade(world: ChannelWorld) -> None:
    url = world.gateway.base_url.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime"
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers={"Authorization": "Bearer sk-wrong"})
    no_model = url.replace("gpt-realtime", "no-such-model")
    with pytest.raises(InvalidStatus):
        connect(no_model, additional_headers={"Authorization": f"Bearer {world.key()}"})
