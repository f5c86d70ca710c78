"""OpenAI clients on AWS Bedrock channels: Converse, ConverseStream's binary frames, SigV4, tools."""

from __future__ import annotations

import json

import openai
import pytest

from oneapi.relay.formats.bedrock import EventStreamDecoder, EventStreamError
from tests.relay.channels.conftest import ChannelWorld
from tests.support.vendors import bedrock as mock

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Weather by city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_chat_maps_the_model_to_an_inference_profile_and_bills_converse_usage(world: ChannelWorld) -> None:
    key = world.key()
    completion = world.openai(key).chat.completions.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_tokens=64,
        temperature=0.2,
    )
    assert completion.choices[0].message.content == mock.REPLY
    assert completion.choices[0].finish_reason == "stop"
    server = world.servers["bedrock"]
    sent = server.received[-1]
    assert sent.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse"
    assert sent.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={mock.ACCESS_KEY}/")
    assert sent.json()["system"] == [{"text": "Be brief."}]
    assert sent.json()["inferenceConfig"] == {"maxTokens": 64, "temperature": 0.2}
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        server.prompt_tokens,
        server.output_tokens,
    )
    (log,) = world.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (server.prompt_tokens, server.output_tokens)


def test_credentials_from_the_channel_config(world: ChannelWorld) -> None:
    completion = world.openai().chat.completions.create(
        model="llama3-70b-8192", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == mock.REPLY
    assert world.servers["bedrock"].received[-1].path == "/model/meta.llama3-70b-instruct-v1:0/converse"


def test_stream_decodes_binary_frames_and_reports_usage(world: ChannelWorld) -> None:
    key = world.key()
    chunks = list(
        world.openai(key).chat.completions.create(
            model="nova-pro",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert (
        chunks[-1].usage is not None
        and chunks[-1].usage.completion_tokens == mock.BedrockUpstream.output_tokens
    )
    sent = world.servers["bedrock"].received[-1]
    assert sent.path == "/model/amazon.nova-pro-v1:0/converse-stream"
    (log,) = world.seed.wait_logs(key, 1)
    assert log.is_stream and log.prompt_tokens == world.servers["bedrock"].prompt_tokens


def test_tool_call_round_trip(world: ChannelWorld) -> None:
    client = world.openai()
    messages: list[dict] = [{"role": "user", "content": "Weather in Rome?"}]
    first = client.chat.completions.create(model="claude-sonnet-4-5", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "tooluse_mock1",
        "weather",
        mock.CALL_ARGS,
    )
    tool_config = world.servers["bedrock"].received[-1].json()["toolConfig"]
    assert tool_config["toolChoice"] == {"auto": {}}
    assert tool_config["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"] == {
        "city": {"type": "string"}
    }
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="claude-sonnet-4-5", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: sunny"
    turns = world.servers["bedrock"].received[-1].json()["messages"]
    assert turns[1]["content"] == [
        {"toolUse": {"toolUseId": "tooluse_mock1", "name": "weather", "input": mock.CALL_ARGS}}
    ]
    assert turns[2]["content"] == [
        {"toolResult": {"toolUseId": "tooluse_mock1", "content": [{"text": "sunny"}]}}
    ]


def test_streamed_tool_call(world: ChannelWorld) -> None:
    chunks = list(
        world.openai().chat.completions.create(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=TOOLS,
            stream=True,
            tool_choice={"type": "function", "function": {"name": "weather"}},
        )
    )
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function.name == "weather" and calls[0].id == "tooluse_mock1"
    assert json.loads("".join(call.function.arguments or "" for call in calls)) == mock.CALL_ARGS
    assert world.servers["bedrock"].received[-1].json()["toolConfig"]["toolChoice"] == {
        "tool": {"name": "weather"}
    }


def test_a_wrong_secret_fails_the_signature_check(world: ChannelWorld) -> None:
    with pytest.raises(openai.APIStatusError) as failure:
        world.openai().chat.completions.create(
            model="nova-wrong-secret", messages=[{"role": "user", "content": "x"}]
        )
    assert "signature we calculated does not match" in str(failure.value)


def test_an_exception_frame_mid_stream_reaches_the_client(world: ChannelWorld) -> None:
    stream = world.openai().chat.completions.create(
        model="nova-throttled", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError) as failure:
        list(stream)
    assert "Too many requests" in str(failure.value)


def test_decoder_reassembles_frames_split_anywhere_and_checks_crcs() -> None:
    frames = [
        mock.event_frame(
            {":event-type": "contentBlockDelta", ":message-type": "event"},
            json.dumps({"delta": {"text": word}}).encode(),
        )
        for word in ("a", "bb", "ccc")
    ]
    data = b"".join(frames)
    for split in range(len(data)):
        decoder = EventStreamDecoder()
        got = decoder.feed(data[:split]) + decoder.feed(data[split:])
        assert [json.loads(payload)["delta"]["text"] for _, payload in got] == ["a", "bb", "ccc"]
        assert got[0][0][":event-type"] == "contentBlockDelta"
    broken = bytearray(frames[0])
    broken[-6] ^= 0xFF  # a payload byte: the message CRC no longer matches
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(broken))
    prelude = bytearray(frames[0])
    prelude[9] ^= 0x01  # a prelude CRC byte
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(prelude))


def test_messages_clients_get_invoke_model_with_their_own_body(world: ChannelWorld) -> None:
    key = world.key()
    client = world.anthropic(key)
    system = [{"type": "text", "text": "Long instructions.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        system=system,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "context-1m-2025-08-07"},
    )
    assert message.content[0].text == mock.REPLY
    assert message.usage.cache_read_input_tokens == mock.INVOKE_CACHE_READ
    server = world.servers["bedrock"]
    assert server.received[-1].path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke"
    assert server.last_invoke["system"] == system  # cache_control survives: no chat conversion on the way
    assert server.last_invoke["anthropic_beta"] == ["context-1m-2025-08-07"]
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert stream.get_final_text() == mock.REPLY
    assert server.received[-1].path.endswith("/invoke-with-response-stream")
    logs = world.seed.wait_logs(key, 2)
    assert {(log.prompt_tokens, log.completion_tokens) for log in logs} == {
        (server.prompt_tokens + mock.INVOKE_CACHE_READ, server.output_tokens)
    }


def test_messages_clients_on_other_bedrock_models_go_through_converse(world: ChannelWorld) -> None:
    message = world.anthropic().messages.create(
        model="nova-pro", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == mock.REPLY
    assert world.servers["bedrock"].received[-1].path == "/model/amazon.nova-pro-v1:0/converse"


def test_embeddings_through_invoke_model(world: ChannelWorld) -> None:
    client = world.openai()
    titan = client.embeddings.create(model="titan-embed-text-v2", input="hello")
    assert titan.data[0].embedding == [0.5, 0.25] and titan.usage.prompt_tokens == 3
    assert world.servers["bedrock"].received[-1].path == "/model/amazon.titan-embed-text-v2:0/invoke"
    cohere = client.embeddings.create(model="cohere-embed-multilingual-v3", input=["a", "b"])
    assert [item.embedding for item in cohere.data] == [[0.1, 0.0], [0.1, 1.0]]
    assert cohere.usage.prompt_tokens > 0  # Cohere on Bedrock reports no tokens: counted locally
    with pytest.raises(openai.BadRequestError, match="one text per request"):
        client.embeddings.create(model="titan-embed-text-v2", input=["a", "b"])
