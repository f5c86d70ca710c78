"""Every /v1 route through the gateway with the official SDK, with the quota each one costs."""

from __future__ import annotations

import io

import httpx
import pytest

from oneapi.billing.pricing import price_for
from tests.relay.conftest import World
from tests.support.upstreams import REPLY_WORDS, SPEECH_BYTES

WORDS = len(REPLY_WORDS)


def _charged(world: World, key: str) -> int:
    (log,) = world.seed.wait_logs(key, 1)
    token = world.seed.token_row(key)
    assert token.used_quota == log.quota and token.remain_quota == 10**8 - log.quota
    return log.quota


def test_completions_plain_and_stream(world: World) -> None:
    key = world.key()
    client = world.client(key)
    done = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert done.choices[0].text == "".join(REPLY_WORDS)
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "".join(REPLY_WORDS)
    logs = world.seed.wait_logs(key, 2)
    assert [(log.prompt_tokens, log.completion_tokens) for log in logs] == [(11, WORDS), (11, WORDS)]


def test_embeddings(world: World) -> None:
    key = world.key()
    result = world.client(key).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2 and result.usage.prompt_tokens == 11
    assert _charged(world, key) == price_for("text-embedding-3-small", "default").text_quota(11, 0)


def test_moderations_counts_locally(world: World) -> None:
    key = world.key()
    result = world.client(key).moderations.create(model="omni-moderation-latest", input="a kind sentence")
    assert result.results[0].flagged is False
    (log,) = world.seed.wait_logs(key, 1)
    assert log.prompt_tokens == 3 and log.quota == 0  # moderation is free in the built-in table


def test_image_generation_is_billed_per_image(world: World) -> None:
    key = world.key()
    result = world.client(key).images.generate(model="dall-e-3", prompt="a cat", size="1024x1792", n=1)
    assert result.data and result.data[0].url
    assert _charged(world, key) == price_for("dall-e-3",
                                             "default").image_quota("dall-e-3", "1024x1792", "", 1)


def test_image_edit_multipart(world: World) -> None:
    key = world.key()
    result = world.client(key).images.edit(model="dall-e-3", image=("cat.png", b"\x89PNG fake", "image/png"),
                                           prompt="add a hat")
    assert result.data
    sent = world.upstreams["ok"].received[-1]
    assert sent.path == "/v1/images/edits" and b"\x89PNG fake" in sent.body
    assert _charged(world, key) > 0


@pytest.mark.parametrize("kind", ["transcriptions", "translations"])
def test_audio_to_text_multipart(world: World, kind: str) -> None:
    key = world.key()
    audio = getattr(world.client(key).audio, kind)
    result = audio.create(model="whisper-1", file=("speech.mp3", io.BytesIO(b"ID3 audio"), "audio/mpeg"))
    assert result.text == "hello world from audio"
    (log,) = world.seed.wait_logs(key, 1)
    assert log.completion_tokens == 4 and log.quota > 0


def test_speech_returns_binary_audio_billed_by_characters(world: World) -> None:
    key = world.key()
    response = world.client(key).audio.speech.create(model="tts-1", voice="alloy", input="Hello there")
    assert response.content == SPEECH_BYTES and response.response.headers["content-type"] == "audio/mpeg"
    (log,) = world.seed.wait_logs(key, 1)
    assert log.prompt_tokens == len("Hello there")
    assert log.quota == price_for("tts-1", "default").text_quota(len("Hello there"), 0)


def test_responses_plain_and_stream(world: World) -> None:
    key = world.key()
    client = world.client(key)
    response = client.responses.create(model="gpt-4o-mini", input="hi")
    assert response.output_text == "".join(REPLY_WORDS)
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    assert events[-1].type == "response.completed"
    logs = world.seed.wait_logs(key, 2)
    assert [(log.prompt_tokens, log.completion_tokens, log.is_stream) for log in logs] == [
        (11, WORDS, False), (11, WORDS, True)]


def test_azure_chat_and_embeddings(world: World) -> None:
    key = world.key()
    client = world.client(key)
    completion = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "".join(REPLY_WORDS)
    sent = world.upstreams["azure"].received[-1]
    assert sent.path == "/openai/deployments/gpt-41/chat/completions"
    assert sent.query["api-version"] == "2024-10-21" and sent.headers["api-key"] == "azure-secret"
    assert "Authorization" not in sent.headers
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], stream=True) if c.choices)
    assert text == "".join(REPLY_WORDS)
    client.embeddings.create(model="text-embedding-3-large", input="x")
    path = world.upstreams["azure"].received[-1].path
    assert path == "/openai/deployments/text-embedding-3-large/embeddings"
    logs = world.seed.wait_logs(key, 3)
    assert all(log.channel_id == world.channels["azure"] for log in logs)


def test_model_list_and_retrieve(world: World) -> None:
    client = world.client()
    names = {model.id for model in client.models.list()}
    assert {"gpt-4o-mini", "weighted", "gpt-4.1", "mapped-*"} <= names
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    limited = world.client(world.key(models="gpt-4o-mini,gpt-4.1"))
    assert {model.id for model in limited.models.list()} == {"gpt-4o-mini", "gpt-4.1"}
    response = httpx.get(f"{world.v1}/models/weighted",
                         headers={"Authorization": f"Bearer {limited.api_key}"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    assert response.headers["x-oneapi-request-id"]
