"""The Realtime API relayed over WebSockets: the openai SDK's realtime client, billing from response.done."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
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


def test_the_session_ends_when_the_quota_cannot_cover_another_response(world: ChannelWorld) -> None:
    from oneapi.billing.pricing import price_for

    price = price_for("gpt-realtime", "default", 1)
    hold = int(500 * price.ratio)  # PreConsumedQuota's reservation for the next response
    assert price.text_quota(10 + 20 * 8, 5 + 15 * 4) > 1
    key = world.seed.token(world.seed.user(), remain_quota=hold + 1)
    url = world.gateway.base_url.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime"
    with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as socket:
        socket.send(json.dumps({"type": "response.create"}))
        kinds = []
        with pytest.raises(ConnectionClosed):
            while True:
                event = json.loads(socket.recv(timeout=10))
                kinds.append(event["type"])
                if event["type"] == "error":
                    assert event["error"]["code"] == "insufficient_quota"
    assert kinds[-2:] == ["response.done", "error"]
    (log,) = world.seed.wait_logs(key, 1)  # the response that was served is billed
    assert log.prompt_tokens == 10 + 20 * 8


def test_upstream_targets_for_openai_and_azure_channels() -> None:
    from oneapi.cache import CachedChannel
    from oneapi.channel_types import channel_type
    from oneapi.relay.realtime import upstream_target

    def channel(kind: int, base_url: str, config: dict | None = None) -> CachedChannel:
        return CachedChannel(
            1,
            kind,
            "c",
            1,
            ("k",),
            base_url,
            0,
            0,
            (),
            ("default",),
            {},
            config or {},
            "",
            "",
            channel_type(kind),
        )

    assert upstream_target(channel(1, ""), "sk-x", "gpt-realtime") == (
        "wss://api.openai.com/v1/realtime?model=gpt-realtime",
        {"Authorization": "Bearer sk-x"},
    )
    azure = channel(3, "https://res.openai.azure.com", {"api_version": "2025-04-01-preview"})
    assert upstream_target(azure, "az", "gpt-realtime") == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime",
        {"api-key": "az"},
    )
