"""OpenAI clients on AWS Bedrock channels: Converse, ConverseStream's binary frames, SigV4, tools."""

from __future__ import annotations

import datetime
import json
import struct

import botocore.auth
import openai
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from hypothesis import example, given
from hypothesis import strategies as st

from oneapi.cache import CachedChannel
from oneapi.channel_types import channel_type
from oneapi.relay.adapters.bedrock import AwsCredentials, _model_url, _signed
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


def test_temporary_credentials_on_an_inference_profile_arn(world: ChannelWorld) -> None:
    """A key with a session token, a model mapped to an ARN: the ARN's '/' travels as %2F and
    is signed as %252F, the token is sent and signed (the mock refuses a request without)."""
    completion = world.openai().chat.completions.create(
        model="nova-profile", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == mock.REPLY
    sent = world.servers["bedrock"].received[-1]
    assert sent.path == f"/model/{mock.PROFILE_ARN}/converse"
    assert sent.headers["X-Amz-Security-Token"] == mock.SESSION_TOKEN
    assert "x-amz-security-token" in sent.headers["Authorization"].split("SignedHeaders=")[1]


@pytest.mark.parametrize("model", ["anthropic.claude-3-5-sonnet-20240620-v1:0", mock.PROFILE_ARN])
@pytest.mark.parametrize("session_token", [None, mock.SESSION_TOKEN])
@pytest.mark.parametrize("base_url", ["", "https://vpce-0123.bedrock-runtime.eu-west-3.vpce.amazonaws.com:443"])
def test_the_signature_is_the_one_botocore_computes(
    model: str, session_token: str | None, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS's own signer, given the same request at the same second, signs it alike: a model id's
    ':' sent as it is, an ARN's '/' sent encoded, every header and the session token signed, the
    host without its default port."""
    channel = CachedChannel(
        id=1, type=33, name="bedrock", status=1, keys=(), base_url=base_url, weight=1, priority=0, models=(),
        groups=("default",), model_mapping={}, config={}, other="", system_prompt="", kind=channel_type(33),
    )  # fmt: skip
    credentials = AwsCredentials(mock.ACCESS_KEY, mock.SECRET_KEY, "eu-west-3", session_token)
    url = f"{_model_url(channel, credentials.region, model)}/converse-stream"
    headers = {"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream"}
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    ours = _signed(credentials, url, headers, body).headers

    signed_at = datetime.datetime.strptime(ours["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    theirs = AWSRequest("POST", url, data=body, headers=headers)
    credentials_ = Credentials(mock.ACCESS_KEY, mock.SECRET_KEY, session_token)
    botocore.auth.SigV4Auth(credentials_, "bedrock", "eu-west-3").add_auth(theirs)
    assert ours == dict(theirs.headers.items())
    assert ":" in url and ("%2F" in url) == ("/" in model)


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


_NAMES = st.text(min_size=1, max_size=12).filter(lambda name: len(name.encode()) < 256)
_VALUES = st.one_of(  # (type byte, the value's encoding) of every header type
    st.sampled_from([(0, b""), (1, b"")]),
    *(
        st.integers(-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1).map(
            lambda n, kind=kind, fmt=fmt: (kind, struct.pack(fmt, n))
        )
        for kind, fmt, size in ((2, "!b", 1), (3, "!h", 2), (4, "!i", 4), (5, "!q", 8), (8, "!q", 8))
    ),
    st.binary(max_size=40).map(lambda raw: (6, struct.pack("!H", len(raw)) + raw)),
    st.text(max_size=20).map(lambda text: (7, struct.pack("!H", len(text.encode())) + text.encode())),
    st.binary(min_size=16, max_size=16).map(lambda raw: (9, raw)),
)
_FRAMES = st.lists(
    st.tuples(st.dictionaries(_NAMES, _VALUES, max_size=5), st.binary(max_size=64)), min_size=1, max_size=4
).map(lambda frames: b"".join(mock.framed([(n, *v) for n, v in h.items()], p) for h, p in frames))


_EVERY_TYPE = mock.framed(
    [("yes", 0, b""), ("no", 1, b""), ("byte", 2, struct.pack("!b", -128)),
     ("short", 3, struct.pack("!h", -2)), ("int", 4, struct.pack("!i", -(2**31))),
     ("long", 5, struct.pack("!q", 2**63 - 1)),
     ("bytes", 6, b"\x00\x02\xff\x00"), ("string", 7, b"\x00\x02\xc3\xa9"),
     ("time", 8, struct.pack("!q", 1_765_000_000_000)), ("id", 9, bytes(range(16)))],
    b'{"text": "hi"}',
)  # fmt: skip


@given(data=_FRAMES, cuts=st.lists(st.integers(min_value=0), max_size=8))
@example(data=_EVERY_TYPE * 2, cuts=[5, 13, 70, len(_EVERY_TYPE) + 1])
def test_decoder_reads_what_botocore_reads_however_the_bytes_arrive(data: bytes, cuts: list[int]) -> None:
    """Frames with headers of every type, cut into reads anywhere: the same headers and payloads
    as botocore's decoder (the one this replaced) gets from the whole stream."""
    reference = EventStreamBuffer()
    reference.add_data(data)
    expected = [(message.headers, message.payload) for message in reference]
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    decoder = EventStreamDecoder()
    got = [
        frame
        for start, end in zip([0, *points], [*points, len(data)], strict=True)
        for frame in decoder.feed(data[start:end])
    ]
    assert got == expected


@given(data=_FRAMES, position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_decoder_refuses_any_corrupted_byte(data: bytes, position: int, flip: int) -> None:
    """One byte changed anywhere (lengths, either checksum, a header, the payload): a CRC fails."""
    broken = bytearray(data)
    broken[position % len(data)] ^= flip
    with pytest.raises(EventStreamError, match="checksum mismatch"):
        EventStreamDecoder().feed(bytes(broken))


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([("kind", 10, b"")], "unknown type 10"),
        ([("count", 4, b"\x00\x01")], "cannot be read"),
        ([("text", 7, b"\x00\x09abc")], "runs past"),
        ([("same", 0, b""), ("same", 1, b"")], "appears twice"),
    ],
)
def test_decoder_refuses_headers_it_cannot_read(headers: list[tuple[str, int, bytes]], problem: str) -> None:
    """Headers malformed under valid checksums (a sender's bug, not the network's)."""
    with pytest.raises(EventStreamError, match=problem):
        EventStreamDecoder().feed(mock.framed(headers, b"{}"))


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
