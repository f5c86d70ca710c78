"""OpenAI clients on DeepL, Coze, AIProxy Library and Replicate channels."""

from __future__ import annotations

import httpx

from tests.relay.channels.conftest import ChannelWorld
from tests.support.vendors import single_endpoint as mock


def _streamed(world: ChannelWorld, model: str, **kwargs: object) -> tuple[str, list]:
    chunks = list(
        world.openai().chat.completions.create(
            model=model, stream=True, messages=[{"role": "user", "content": "Hello"}], **kwargs
        )
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks


def test_deepl_translates_the_last_message_and_bills_characters(world: ChannelWorld) -> None:
    key = world.key()
    completion = world.openai(key).chat.completions.create(
        model="deepl-en", messages=[{"role": "user", "content": "Bonjour"}]
    )
    assert completion.choices[0].message.content == "[EN-US] Bonjour"
    assert world.servers["deepl"].received[-1].json() == {"text": ["Bonjour"], "target_lang": "EN-US"}
    (log,) = world.seed.wait_logs(key, 1)
    assert log.prompt_tokens == len("Bonjour")
    text, chunks = _streamed(world, "deepl-ja", stream_options={"include_usage": True})
    assert text == "[JA] Hello" and chunks[-1].usage.prompt_tokens == 5


def test_coze_bot_chat_and_stream(world: ChannelWorld) -> None:
    completion = world.openai().chat.completions.create(
        model="bot-7340012345",
        messages=[
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "Hello"},
        ],
    )
    assert completion.choices[0].message.content == mock.COZE_REPLY
    assert completion.usage.prompt_tokens > 0  # counted locally: Coze reports none
    sent = world.servers["coze"].received[-1].json()
    assert sent == {
        "bot_id": "7340012345",
        "user": "u1",
        "query": "Hello",
        "stream": False,
        "chat_history": [
            {"role": "user", "content": "earlier", "content_type": "text"},
            {"role": "assistant", "content": "ok", "content_type": "text"},
        ],
    }
    text, _ = _streamed(world, "bot-7340012345")
    assert text == mock.COZE_REPLY


def test_aiproxy_library_answers_with_references(world: ChannelWorld) -> None:
    completion = world.openai().chat.completions.create(
        model="library-qa", messages=[{"role": "user", "content": "What?"}]
    )
    content = completion.choices[0].message.content
    assert content.startswith(mock.LIBRARY_ANSWER) and "1. [Guide](https://docs.example/guide)" in content
    assert world.servers["library"].received[-1].json()["libraryId"] == "lib-42"
    text, _ = _streamed(world, "library-qa")
    assert text == content


def test_replicate_chat_stream_and_images(world: ChannelWorld) -> None:
    key = world.key()
    client = world.openai(key)
    completion = client.chat.completions.create(
        model="meta/meta-llama-3-8b-instruct",
        messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello"}],
    )
    assert completion.choices[0].message.content == "".join(mock.REPLICATE_WORDS)
    sent = world.servers["replicate"].received[-1]
    assert (
        sent.path == "/v1/models/meta/meta-llama-3-8b-instruct/predictions"
        and sent.headers["Prefer"] == "wait"
    )
    assert sent.json() == {"input": {"prompt": "system: Be kind.\nuser: Hello\n", "max_tokens": 500}}
    (log,) = world.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (11, 4)
    text, _ = _streamed(world, "meta/meta-llama-3-8b-instruct")
    assert text == "".join(mock.REPLICATE_WORDS)
    image = client.images.generate(model="black-forest-labs/flux-schnell", prompt="a cat", size="1024x1024")
    assert image.data[0].url == "https://replicate.delivery/mock/out-0.webp"


def test_proxy_channel_passes_any_request_through(world: ChannelWorld) -> None:
    key = world.key()
    base = f"{world.gateway.base_url}/v1/oneapi/proxy"
    answer = httpx.post(
        f"{base}/{world.proxy_channel}/v1/embeddings?trace=1",
        headers={"Authorization": f"Bearer {key}", "X-Custom": "kept"},
        json={"model": "anything", "input": "hi"},
    )
    assert answer.status_code == 200 and answer.json()["object"] == "list"
    sent = world.servers["proxied"].received[-1]
    assert (sent.method, sent.path, sent.query) == ("POST", "/v1/embeddings", {"trace": "1"})
    assert (
        sent.headers["Authorization"] == "Bearer proxied-upstream-key" and sent.headers["x-custom"] == "kept"
    )
    assert httpx.get(f"{base}/{world.proxy_channel}/v1/models").status_code == 401
    missing = httpx.get(f"{base}/999999/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert missing.status_code == 404
