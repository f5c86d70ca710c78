"""Relay input checked at the door, through the running gateway.

Each refusal is a 400 that names the field, before any quota is reserved or a channel is
chosen; then a hypothesis fuzz of every relay route (deep nesting, bad UTF-8, wrong
types, out-of-range numbers, hostile model names) where every answer must be a 4xx,
never a 5xx or a hang. On ``/v1/messages`` and Gemini's ``/v1beta`` the error's wording
is checked rather than its shape: those routes answer in their own dialects. A body passed
through untouched may nest up to msgspec's own guard (about 1,000 levels); one the gateway
decodes into Python objects, 128 (``oneapi.relay.checks``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.relay.conftest import World

HI = [{"role": "user", "content": "hi"}]
BAD_UTF8 = (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\x80")
WRONG_VALUES = ("yes", 12.5, True, 7, [1], {"a": 1}, None)
HOSTILE_MODELS = ("../../etc/passwd", "gpt-4o-mini/../x", "a\x00b", "gpt\r\nX-Injected: 1", "x" * 10_000,
                  " gpt-4o-mini", "gpt-4o-mini?alt=sse", "a#b", "a\\b", "\u202egpt", "\x7f", "tab\there")


@dataclass(frozen=True)
class Route:
    """A relay route, a valid body for it, and the fields to break."""

    path: str
    body: dict[str, Any]
    header: str  # the key's header
    numbers: dict[str, tuple[Any, ...]]  # field -> out-of-range values
    typed: tuple[str, ...]  # fields with a checked type
    model_in_body: bool = True
    own_dialect: bool = False


def _range(*fields: str, low: Any, high: Any) -> dict[str, tuple[Any, ...]]:
    return {field: (low, high) for field in fields}


OPENAI_NUMBERS = {"n": (0, -1, 129, 10**9, 10**30), "max_tokens": (-5, -1, 2**31, 10**30),
                  "temperature": (-0.1, 2.5, 1e308), "top_p": (-1, 1.01),
                  **_range("presence_penalty", "frequency_penalty", low=-2.5, high=9)}
ROUTES = {
    "chat": Route("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": HI}, "authorization",
                  OPENAI_NUMBERS, ("model", "stream", "messages", "stream_options", "n", "max_tokens")),
    "completions": Route("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"},
                         "authorization", OPENAI_NUMBERS, ("model", "stream", "prompt", "n")),
    "embeddings": Route("/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}, "authorization",
                        {}, ("model", "input")),
    "moderations": Route("/v1/moderations", {"model": "omni-moderation-latest", "input": "hi"},
                         "authorization", {}, ("model", "input")),
    "images": Route("/v1/images/generations", {"model": "dall-e-3", "prompt": "a cat"}, "authorization",
                    {"n": (0, -3, 1000)}, ("model", "prompt", "size", "quality", "n")),
    "speech": Route("/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy"}, "authorization",
                    {}, ("model", "input")),
    "responses": Route("/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}, "authorization",
                       {"max_output_tokens": (-1, 2**31), "temperature": (3,), "top_p": (2,)},
                       ("model", "input", "stream")),
    "messages": Route("/v1/messages", {"model": "gpt-4o-mini", "max_tokens": 64, "messages": HI}, "x-api-key",
                      {"max_tokens": (0, -5, 2**31), "temperature": (1.5, -1), "top_p": (2,), "top_k": (-1,)},
                      ("model", "messages", "stream", "system", "max_tokens"), own_dialect=True),
    "gemini": Route("/v1beta/models/gpt-4o-mini:generateContent",
                    {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, "x-goog-api-key", {},
                    ("contents", "generationConfig", "systemInstruction", "tools"), model_in_body=False,
                    own_dialect=True),
}
GEMINI_CONFIG = {"temperature": (-1, 2.5), "topP": (1.5,), "maxOutputTokens": (0, -1),
                 "candidateCount": (0, 9)}


def _post(world: World, route: Route, key: str, body: bytes, path: str | None = None) -> httpx.Response:
    headers = {route.header: f"Bearer {key}" if route.header == "authorization" else key,
               "content-type": "application/json"}
    url = world.gateway.base_url + (path or route.path)
    return httpx.post(url, content=body, headers=headers, timeout=15)


def _refused(response: httpx.Response, route: Route, param: str | None) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    if param is None:
        return
    if route.own_dialect:
        assert param in response.text, response.text[:300]
    else:
        assert response.json()["error"]["param"] == param, response.text[:300]


@pytest.fixture(scope="module")
def key(world: World) -> str:
    return world.key()


# -- each check, named ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ROUTES)
def test_valid_bodies_pass(world: World, key: str, name: str) -> None:
    route = ROUTES[name]
    response = _post(world, route, key, json.dumps(route.body).encode())
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("name", ROUTES)
def test_out_of_range_numbers_are_400_naming_the_field(world: World, key: str, name: str) -> None:
    route = ROUTES[name]
    for field, values in route.numbers.items():
        for value in values:
            body = json.dumps({**route.body, field: value}).encode()
            _refused(_post(world, route, key, body), route, field)


def test_gemini_generation_config_ranges(world: World, key: str) -> None:
    route = ROUTES["gemini"]
    for field, values in GEMINI_CONFIG.items():
        for value in values:
            body = json.dumps({**route.body, "generationConfig": {field: value}}).encode()
            _refused(_post(world, route, key, body), route, f"generationConfig.{field}")


@pytest.mark.parametrize("name", ROUTES)
def test_wrong_types_are_400_naming_the_field(world: World, key: str, name: str) -> None:
    route = ROUTES[name]
    for field in route.typed:
        for wrong in filter(lambda value: _wrong_for(field, value), WRONG_VALUES):
            body = json.dumps({**route.body, field: wrong}).encode()
            _refused(_post(world, route, key, body), route, field)


@pytest.mark.parametrize("name", ROUTES)
def test_hostile_model_names_are_400(world: World, key: str, name: str) -> None:
    route = ROUTES[name]
    for model in HOSTILE_MODELS:
        if route.model_in_body:
            response = _post(world, route, key, json.dumps({**route.body, "model": model}).encode())
        elif "/" in model:
            continue  # a client's URL library resolves the dot segments before sending
        else:
            path = "/v1beta/models/" + quote(model, safe="")  # the server decodes it back
            response = _post(world, route, key, json.dumps(route.body).encode(), f"{path}:generateContent")
        assert 400 <= response.status_code < 500, (model[:40], response.status_code, response.text[:200])
        if route.model_in_body:
            _refused(response, route, "model")


@pytest.mark.parametrize("name", ROUTES)
def test_deep_nesting_and_bad_utf8_are_400(world: World, key: str, name: str) -> None:
    route = ROUTES[name]
    valid = json.dumps({**route.body, "extra": "__HERE__"}).encode()
    for depth in (1_000, 100_000):
        arrays = b"[" * depth + b"]" * depth
        _refused(_post(world, route, key, valid.replace(b'"__HERE__"', arrays)), route, None)
        nested = b'{"a":' * depth + b"1" + b"}" * depth
        _refused(_post(world, route, key, valid.replace(b'"__HERE__"', nested)), route, None)
    for bad in BAD_UTF8:
        _refused(_post(world, route, key, valid.replace(b"__HERE__", bad)), route, None)


@pytest.mark.parametrize("name", ["chat-stream", "messages", "gemini"])
def test_a_body_the_gateway_decodes_is_bounded_at_128_levels(world: World, key: str, name: str) -> None:
    """Converted or edited bodies are decoded into Python objects: 128 levels at most."""
    route = ROUTES["chat" if name == "chat-stream" else name]
    body = {**route.body, "stream": True} if name == "chat-stream" else route.body  # usage chunk injected
    valid = json.dumps({**body, "extra": "__HERE__"}).encode()
    deepest = b"[" * 127 + b"]" * 127  # 128 levels with the body's own object
    assert _post(world, route, key, valid.replace(b'"__HERE__"', deepest)).status_code == 200
    response = _post(world, route, key, valid.replace(b'"__HERE__"', b"[" + deepest + b"]"))
    _refused(response, route, None)
    assert "nested more than 128 levels" in response.text


def test_anthropic_stream_must_be_a_boolean(world: World, key: str) -> None:
    route = ROUTES["messages"]
    response = _post(world, route, key, json.dumps({**route.body, "stream": "yes"}).encode())
    _refused(response, route, "stream")


def test_multipart_model_and_n_are_checked(world: World, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    files = {"file": ("speech.mp3", b"ID3 audio", "audio/mpeg")}
    for model in ("a\x00b", "x" * 300, "../x"):
        response = httpx.post(world.v1 + "/audio/transcriptions", headers=headers, files=files,
                              data={"model": model}, timeout=15)
        assert response.status_code == 400 and response.json()["error"]["param"] == "model", response.text
    image = {"image": ("cat.png", b"\x89PNG fake", "image/png")}
    for count in ("abc", "0", "-1", "1000"):
        response = httpx.post(world.v1 + "/images/edits", headers=headers, files=image,
                              data={"model": "dall-e-3", "prompt": "a hat", "n": count}, timeout=15)
        assert response.status_code == 400 and response.json()["error"]["param"] == "n", response.text


def test_refusals_reserve_nothing(world: World) -> None:
    key = world.key()
    route = ROUTES["chat"]
    for body in ({**route.body, "n": -1}, {**route.body, "model": "a\x00b"}, {**route.body, "messages": "x"}):
        _refused(_post(world, route, key, json.dumps(body).encode()), route, None)
    assert world.seed.token_row(key).remain_quota == 10**8
    assert world.seed.logs(world.seed.token_row(key).id) == []


# -- fuzz ----------------------------------------------------------------------------------
def _nesting() -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(1_000, 200_000), st.sampled_from([b"[", b'{"k":', b'[{"k":'])).map(
        lambda pair: pair[1] * pair[0] + b"0" + b"".join(
            b"]" if char == ord("[") else b"}" for char in pair[1] if char in b"[{")[::-1] * pair[0])


def _mutations(route: Route) -> st.SearchStrategy[Callable[[dict[str, Any]], bytes]]:
    """Ways to make a valid body invalid; each returns the hostile body's bytes."""
    def with_field(field: str, value: Any) -> Callable[[dict[str, Any]], bytes]:
        return lambda body: json.dumps({**body, field: value}).encode()

    def with_raw(raw: bytes) -> Callable[[dict[str, Any]], bytes]:
        return lambda body: json.dumps({**body, "extra": "__HERE__"}).encode().replace(b'"__HERE__"', raw)

    def with_bad_bytes(bad: bytes) -> Callable[[dict[str, Any]], bytes]:
        return lambda body: json.dumps({**body, "extra": "x__HERE__y"}).encode().replace(b"__HERE__", bad)

    wrong_values = st.one_of(st.text(max_size=5), st.booleans(), st.floats(allow_nan=False), st.none(),
                             st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                  st.integers(), max_size=2))
    options = [
        _nesting().map(with_raw),
        st.sampled_from(BAD_UTF8).map(with_bad_bytes),
        st.tuples(st.sampled_from(route.typed), wrong_values)
        .filter(lambda pair: _wrong_for(pair[0], pair[1])).map(lambda pair: with_field(*pair)),
    ]
    if route.numbers:
        options.append(st.sampled_from([(field, value) for field, values in route.numbers.items()
                                        for value in values]).map(lambda pair: with_field(*pair)))
    if route.model_in_body:
        hostile = st.one_of(st.sampled_from(HOSTILE_MODELS),
                            st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp")), min_size=1,
                                    max_size=4).map(lambda bad: f"gpt{bad}4o"),
                            st.integers(MAX_MODEL + 1, 20_000).map(lambda size: "m" * size))
        options.append(hostile.map(lambda model: with_field("model", model)))
    return st.one_of(options)


MAX_MODEL = 256


def _wrong_for(field: str, value: Any) -> bool:
    """Whether ``value`` is of a type ``field`` does not take (so the body must be refused)."""
    if field == "model":
        return not isinstance(value, str)
    if field in ("size", "quality"):
        return not isinstance(value, str) and value is not None
    if field in ("stream",):
        return not isinstance(value, bool) and value is not None
    if field in ("messages", "contents"):
        return not isinstance(value, list)
    if field == "tools":
        return not isinstance(value, list) and value is not None
    if field in ("prompt", "input"):
        return not isinstance(value, str | list)
    if field in ("stream_options", "generationConfig", "systemInstruction"):
        return not isinstance(value, dict) and value is not None
    if field == "system":
        return not isinstance(value, str | list) and value is not None
    if field in ("n", "max_tokens"):
        return value is not None and (not isinstance(value, int) or isinstance(value, bool))
    return False


@pytest.mark.parametrize("name", ROUTES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_every_answer_is_a_4xx(world: World, key: str, name: str, data: st.DataObject) -> None:
    route = ROUTES[name]
    mutations = data.draw(st.lists(_mutations(route), min_size=1, max_size=3))
    body, raw = route.body, b""
    for mutate in mutations:  # each edits the document the last one left
        try:
            raw = mutate(body)
        except RecursionError:  # the document left is too deep to encode again: send it as it is
            break
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # bad bytes or deep nesting: sent as they are
            break
    response = _post(world, route, key, raw)
    assert 400 <= response.status_code < 500, (response.status_code, raw[:200], response.text[:300])
