"""OpenAI clients on Cohere (v2 chat, streams, tools, embed, rerank) and Cloudflare Workers AI channels."""

from __future__ import annotations

import json

import httpx

from tests.relay.channels.conftest import ChannelWorld
from tests.support.upstreams import REPLY as OPENAI_REPLY
from tests.support.vendors import cohere as mock

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_cohere_chat_with_sampling_names_and_usage(world: ChannelWorld) -> None:
    key = world.key()
    completion = world.openai(key).chat.completions.create(
        model="command-a-03-2025",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        top_p=0.5,
        stop="END",
        max_tokens=9,
    )
    assert completion.choices[0].message.content == mock.REPLY
    sent = world.servers["cohere"].received[-1]
    assert sent.path == "/v2/chat" and sent.headers["Authorization"] == "Bearer co-key"
    assert sent.json() == {
        "model": "command-a-03-2025",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "p": 0.5,
        "max_tokens": 9,
        "stop_sequences": ["END"],
    }
    (log,) = world.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (11, 4)


def test_cohere_stream_with_usage(world: ChannelWorld) -> None:
    chunks = list(
        world.openai().chat.completions.create(
            model="command-a-03-2025",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_cohere_tools_round_trip_and_streamed_call(world: ChannelWorld) -> None:
    client = world.openai()
    messages: list[dict] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client.chat.completions.create(
        model="command-a-03-2025", messages=messages, tools=TOOLS, tool_choice="required"
    )
    call = first.choices[0].message.tool_calls[0]
    assert (
        first.choices[0].finish_reason == "tool_calls"
        and json.loads(call.function.arguments) == mock.CALL_ARGS
    )
    assert world.servers["cohere"].received[-1].json()["tool_choice"] == "REQUIRED"
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "cold"},
    ]
    second = client.chat.completions.create(model="command-a-03-2025", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: cold"
    chunks = list(
        client.chat.completions.create(
            model="command-a-03-2025",
            stream=True,
            tools=TOOLS,
            messages=[{"role": "user", "content": "Weather?"}],
        )
    )
    calls = [c for chunk in chunks if chunk.choices for c in chunk.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "weather_mock1" and calls[0].function.name == "weather"
    assert json.loads("".join(c.function.arguments or "" for c in calls)) == mock.CALL_ARGS


def test_cohere_embed_and_rerank(world: ChannelWorld) -> None:
    key = world.key()
    result = world.openai(key).embeddings.create(model="embed-v4.0", input=["a", "b"])
    assert [item.embedding for item in result.data] == [[0.1, 0.0], [0.1, 1.0]]
    assert result.usage.prompt_tokens == 4
    assert world.servers["cohere"].received[-1].json()["input_type"] == "search_document"
    answer = httpx.post(
        f"{world.gateway.base_url}/v1/rerank",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "rerank-v3.5", "query": "q", "documents": ["x", "yyy"], "top_n": 1},
    )
    assert answer.status_code == 200
    assert answer.json()["results"] == [{"index": 1, "relevance_score": 1.0}]
    assert world.servers["cohere"].received[-1].path == "/v2/rerank"


def test_cloudflare_chat_stream_and_embeddings_at_the_account_endpoint(world: ChannelWorld) -> None:
    client = world.openai()
    completion = client.chat.completions.create(
        model="@cf/meta/llama-3.1-8b-instruct", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == OPENAI_REPLY
    from tests.support.vendors.cloudflare import ACCOUNT

    assert (
        world.servers["cloudflare"].received[-1].path
        == f"/client/v4/accounts/{ACCOUNT}/ai/v1/chat/completions"
    )
    chunks = list(
        client.chat.completions.create(
            model="@cf/meta/llama-3.1-8b-instruct", stream=True, messages=[{"role": "user", "content": "hi"}]
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == OPENAI_REPLY
    result = client.embeddings.create(model="@cf/baai/bge-m3", input="hello")
    assert len(result.data) == 1
    assert world.servers["cloudflare"].received[-1].path.endswith("/ai/v1/embeddings")
