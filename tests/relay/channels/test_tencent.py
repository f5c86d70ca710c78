"""OpenAI clients on Tencent Hunyuan channels: TC3 signing, chat, streams, tools, embeddings, errors."""

from __future__ import annotations

import json

import openai
import pytest

from tests.relay.channels.conftest import ChannelWorld
from tests.support.vendors import hunyuan as mock

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_chat_is_signed_and_billed(world: ChannelWorld) -> None:
    key = world.key()
    completion = world.openai(key).chat.completions.create(
        model="hunyuan-turbos-latest", temperature=0.3, messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == mock.REPLY
    sent = world.servers["hunyuan"].received[-1]
    assert sent.headers["X-TC-Action"] == "ChatCompletions"
    assert sent.json() == {
        "Model": "hunyuan-turbos-latest",
        "Messages": [{"Role": "user", "Content": "hi"}],
        "Stream": False,
        "Temperature": 0.3,
    }
    (log,) = world.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (11, 3)


def test_stream_and_tools(world: ChannelWorld) -> None:
    client = world.openai()
    chunks = list(
        client.chat.completions.create(
            model="hunyuan-turbos-latest",
            stream=True,
            messages=[{"role": "user", "content": "hi"}],
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    messages: list[dict] = [{"role": "user", "content": "Weather?"}]
    first = client.chat.completions.create(model="hunyuan-turbos-latest", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == mock.CALL_ARGS
    assert isinstance(world.servers["hunyuan"].received[-1].json()["Tools"][0]["Function"]["Parameters"], str)
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "humid"},
    ]
    second = client.chat.completions.create(model="hunyuan-turbos-latest", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: humid"


def test_embeddings(world: ChannelWorld) -> None:
    result = world.openai().embeddings.create(model="hunyuan-embedding", input=["a", "b"])
    assert [item.embedding for item in result.data] == [[0.5, 0.0], [0.5, 1.0]]
    assert world.servers["hunyuan"].received[-1].headers["X-TC-Action"] == "GetEmbedding"


def test_an_error_answered_with_http_200_is_an_error(world: ChannelWorld) -> None:
    with pytest.raises(openai.APIStatusError) as failure:
        world.openai().chat.completions.create(
            model="hunyuan-wrong-secret", messages=[{"role": "user", "content": "hi"}]
        )
    assert "AuthFailure.SignatureFailure" in str(failure.value)
