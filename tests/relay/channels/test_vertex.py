"""OpenAI clients on Vertex AI channels: the service-account token exchange, Gemini, Claude, embeddings."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.relay.channels.conftest import ChannelWorld
from tests.support.vendors import anthropic as claude_mock
from tests.support.vendors import gemini as gemini_mock
from tests.support.vendors import vertex as mock

PREFIX = f"/v1/projects/{mock.PROJECT}/locations/{mock.REGION}/publishers"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def test_gemini_chat_with_an_exchanged_token_shared_across_requests(world: ChannelWorld) -> None:
    server = world.servers["vertex"]
    key = world.key()
    client = world.openai(key)
    for _ in range(3):
        completion = client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
        )
        assert completion.choices[0].message.content == gemini_mock.REPLY
    calls = [r for r in server.received if r.path.startswith(PREFIX)]
    assert calls[-1].path == f"{PREFIX}/google/models/gemini-2.5-flash:generateContent"
    assert {r.headers["Authorization"] for r in calls} == {"Bearer ya29.mock-1"}
    assert server.issued == ["ya29.mock-1"]  # one exchange for every request and channel of this account
    logs = world.seed.wait_logs(key, 3)
    assert logs[0].prompt_tokens == server.prompt_tokens


def test_settings_from_the_key_share_the_accounts_token(world: ChannelWorld) -> None:
    completion = world.openai().chat.completions.create(
        model="gemini-from-key", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == gemini_mock.REPLY
    sent = world.servers["vertex"].received[-1]
    assert (
        sent.path == f"{PREFIX}/google/models/gemini-2.0-flash:generateContent"
    )  # project from the JSON key
    assert len(world.servers["vertex"].issued) == 1


def test_gemini_stream(world: ChannelWorld) -> None:
    chunks = list(
        world.openai().chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == gemini_mock.REPLY
    sent = world.servers["vertex"].received[-1]
    assert sent.path.endswith(":streamGenerateContent") and sent.query == {"alt": "sse"}


def test_claude_through_raw_predict(world: ChannelWorld) -> None:
    key = world.key()
    completion = world.openai(key).chat.completions.create(
        model="claude-opus-4-1-20250805", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == claude_mock.REPLY
    sent = world.servers["vertex"].received[-1]
    assert sent.path == f"{PREFIX}/anthropic/models/claude-opus-4-1@20250805:rawPredict"
    assert sent.json()["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent.json()
    (log,) = world.seed.wait_logs(key, 1)
    assert log.completion_tokens == 7


def test_claude_stream_and_tools(world: ChannelWorld) -> None:
    chunks = list(
        world.openai().chat.completions.create(
            model="claude-opus-4-1-20250805", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == claude_mock.REPLY
    assert world.servers["vertex"].received[-1].path.endswith(":streamRawPredict")
    first = world.openai().chat.completions.create(
        model="claude-opus-4-1-20250805", tools=TOOLS, messages=[{"role": "user", "content": "Weather?"}]
    )
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "weather" and json.loads(call.function.arguments) == claude_mock.TOOL_INPUT


def test_embeddings_through_predict(world: ChannelWorld) -> None:
    result = world.openai().embeddings.create(model="text-embedding-005", input=["a", "b"])
    assert [item.embedding for item in result.data] == [[0.25, 0.0], [0.25, 1.0]]
    assert result.usage.prompt_tokens == 6
    sent = world.servers["vertex"].received[-1]
    assert sent.path == f"{PREFIX}/google/models/text-embedding-005:predict"
    assert sent.json() == {"instances": [{"content": "a"}, {"content": "b"}]}


def test_a_key_the_token_uri_does_not_know_is_refused(world: ChannelWorld) -> None:
    with pytest.raises(openai.APIStatusError) as failure:
        world.openai().chat.completions.create(
            model="gemini-stranger", messages=[{"role": "user", "content": "x"}]
        )
    assert "Google refused the service account" in str(failure.value)
    assert "Invalid JWT" in str(failure.value)


async def test_tokens_are_renewed_shortly_before_they_expire() -> None:
    from oneapi.relay import google_auth

    with mock.VertexUpstream() as server:
        account = google_auth.service_account(server.service_account())
        tokens = google_auth.ServiceAccountTokens()
        assert await tokens.token(account) == await tokens.token(account) == "ya29.mock-1"
        tokens._tokens[account] = ("ya29.mock-1", time.time() + 301)  # expires in 5 minutes and a second
        assert await tokens.token(account) == "ya29.mock-1"
        tokens._tokens[account] = ("ya29.mock-1", time.time() + 299)
        assert await tokens.token(account) == "ya29.mock-2"
        assert server.issued == ["ya29.mock-1", "ya29.mock-2"]


def test_messages_clients_send_their_own_body_to_raw_predict(world: ChannelWorld) -> None:
    client = world.anthropic()
    system = [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(
        model="claude-opus-4-1-20250805",
        max_tokens=64,
        system=system,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert message.content[0].text == claude_mock.REPLY
    assert message.usage.cache_read_input_tokens == claude_mock.CACHE_READ
    sent = world.servers["vertex"].received[-1]
    assert sent.path == f"{PREFIX}/anthropic/models/claude-opus-4-1@20250805:rawPredict"
    assert sent.json()["system"] == system and "model" not in sent.json()
    with client.messages.stream(
        model="claude-opus-4-1-20250805", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert stream.get_final_text() == claude_mock.REPLY
    assert world.servers["vertex"].received[-1].path.endswith(":streamRawPredict")


def test_gemini_api_clients_send_their_own_body_to_vertex(world: ChannelWorld) -> None:
    import httpx

    key = world.key()
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 32, "thinkingConfig": {"thinkingBudget": 0}},
    }
    url = f"{world.gateway.base_url}/v1beta/models/gemini-2.5-flash"
    answer = httpx.post(f"{url}:generateContent", headers={"x-goog-api-key": key}, json=body)
    assert answer.status_code == 200
    assert "".join(p["text"] for p in answer.json()["candidates"][0]["content"]["parts"]).endswith(
        gemini_mock.REPLY
    )
    sent = world.servers["vertex"].received[-1]
    assert sent.path == f"{PREFIX}/google/models/gemini-2.5-flash:generateContent" and sent.json() == body
    streamed = httpx.post(f"{url}:streamGenerateContent?alt=sse", headers={"x-goog-api-key": key}, json=body)
    assert streamed.status_code == 200 and streamed.text.startswith("data: ")
    assert world.servers["vertex"].received[-1].query == {"alt": "sse"}
    logs = world.seed.wait_logs(key, 2)
    assert all(log.prompt_tokens == world.servers["vertex"].prompt_tokens for log in logs)
