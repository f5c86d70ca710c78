"""The real OpenAI Responses API clients through the gateway, and the API's stored state.

Codex 0.171.0 (``codex exec``) runs against an OpenAI Responses channel (its body passes
through untouched, namespace and ``web_search`` tools included) and against an Anthropic
channel (converted: the namespace's functions flattened, web search mapped to Anthropic's
server tool). The AI SDK's default OpenAI provider runs a two-step tool loop with
``store`` on against an Anthropic channel; its second step refers to the first answer's
message by ``item_reference``. The mock vendors call a tool first and answer with the
tool's result only once it came back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.clients import CLIENTS, needs_clients, run_codex, run_node
from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import UpstreamServer
from tests.support.vendors.anthropic import AnthropicUpstream
from tests.support.vendors.openai_responses import ResponsesUpstream

SHELL = {"cmd": "echo hello-from-tool"}


@dataclass
class World:
    gateway: GatewayProcess
    seed: Seed
    servers: dict[str, UpstreamServer]

    def key(self) -> str:
        return self.seed.token(self.seed.user())

    def post(self, key: str, body: dict) -> httpx.Response:
        return httpx.post(f"{self.gateway.base_url}/v1/responses", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {key}"})

    def get(self, key: str, path: str) -> httpx.Response:
        return httpx.get(f"{self.gateway.base_url}/v1/responses/{path}", timeout=30,
                         headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("responses-clients")
    servers: dict[str, UpstreamServer] = {
        "openai": ResponsesUpstream(tool="exec_command", arguments=SHELL),
        "codex": AnthropicUpstream(name="codex", tool="exec_command", tool_input=SHELL),
        "anthropic": AnthropicUpstream(),
    }
    for server in servers.values():
        server.__enter__()
    try:
        seed = Seed(tmp / "one-api.db")
        seed.channel(servers["openai"].url, ["gpt-codex"], type=1)
        seed.channel(servers["codex"].url, ["claude-codex"], type=14, key="sk-ant-channel")
        seed.channel(servers["anthropic"].url, ["claude-test"], type=14, key="sk-ant-channel")
        with run_gateway(tmp, {"SYNC_FREQUENCY": "600"}) as gateway:
            yield World(gateway, seed, servers)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


def _bodies(server: UpstreamServer) -> list[dict]:
    return [received.json() for received in server.received]


def _codex_round_trip(world: World, model: str, home: Path) -> None:
    """``codex exec`` runs the mock's shell call and ends with the answer to its output."""
    done = run_codex(f"{world.gateway.base_url}/v1", world.key(), model, "Say hello with the shell.", home)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "The tool said:" in done.stdout and "hello-from-tool" in done.stdout


@needs_clients("codex")
def test_codex_on_an_openai_responses_channel_passes_through(world: World, tmp_path: Path) -> None:
    _codex_round_trip(world, "gpt-codex", tmp_path)
    first, second = _bodies(world.servers["openai"])
    assert {"type": "web_search", "external_web_access": True} in first["tools"]
    assert any(tool["type"] == "namespace" for tool in first["tools"])
    assert second["input"][-1]["type"] == "function_call_output"
    assert "hello-from-tool" in second["input"][-1]["output"]


@needs_clients("codex")
def test_codex_on_an_anthropic_channel(world: World, tmp_path: Path) -> None:
    _codex_round_trip(world, "claude-codex", tmp_path)
    first, second = _bodies(world.servers["codex"])
    names = [tool.get("name") for tool in first["tools"]]
    assert "exec_command" in names and "multi_agent_v1__spawn_agent" in names
    assert {"type": "web_search_20250305", "name": "web_search"} in first["tools"]
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"
    assert "hello-from-tool" in json.dumps(second["messages"][-1]["content"])


@needs_clients("ai", "@ai-sdk/openai")
def test_ai_sdk_tool_loop_with_store_on_an_anthropic_channel(world: World) -> None:
    done = run_node(CLIENTS / "ai_sdk_tool_loop.mjs", {"ONEAPI_BASE_URL": f"{world.gateway.base_url}/v1",
                                                        "ONEAPI_KEY": world.key(), "MODEL": "claude-test"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["text"] == "The tool said: sunny in Paris"
    assert result["steps"] == 2 and result["toolResults"] == ["sunny in Paris"]
    second = _bodies(world.servers["anthropic"])[-1]
    said = second["messages"][1]["content"]  # the first answer's message, found by its item_reference
    assert said[0] == {"type": "text", "text": "Let me check."} and said[1]["type"] == "tool_use"


def test_stored_response_retrieval_continuation_and_ownership(world: World) -> None:
    key, stranger = world.key(), world.key()
    first = world.post(key, {"model": "claude-test", "input": "Hello there"})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["output"][0]["content"][0]["text"] == "Hello from Claude."
    got = world.get(key, answer["id"])
    assert got.status_code == 200 and got.json() == answer
    items = world.get(key, f"{answer['id']}/input_items").json()
    assert items["object"] == "list" and items["data"][0]["content"][0]["text"] == "Hello there"
    for response in (world.get(stranger, answer["id"]), world.get(stranger, f"{answer['id']}/input_items"),
                     world.get(key, "resp_unknown")):
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert "No response found" in response.json()["error"]["message"]
    follow = world.post(key, {"model": "claude-test", "input": "And again",
                              "previous_response_id": answer["id"]})
    assert follow.status_code == 200, follow.text
    turns = _bodies(world.servers["anthropic"])[-1]["messages"]
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][0]["text"] == "Hello from Claude."
    refused = world.post(stranger, {"model": "claude-test", "input": "hi",
                                    "previous_response_id": answer["id"]})
    assert refused.status_code == 404
    deleted = httpx.delete(f"{world.gateway.base_url}/v1/responses/{answer['id']}",
                           headers={"Authorization": f"Bearer {key}"})
    assert deleted.json() == {"id": answer["id"], "object": "response", "deleted": True}
    assert world.get(key, answer["id"]).status_code == 404


def test_store_false_keeps_nothing_and_an_omitted_tool_is_reported(world: World) -> None:
    key = world.key()
    response = world.post(key, {"model": "claude-test", "input": "hi", "store": False,
                                "tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]})
    assert response.status_code == 200, response.text
    assert response.headers["x-oneapi-omitted-tools"] == "file_search"
    assert "tools" not in _bodies(world.servers["anthropic"])[-1]
    assert world.get(key, response.json()["id"]).status_code == 404
    logs = world.seed.wait_logs(key, 1)
    assert json.loads(logs[-1].other)["omitted-tools"] == "file_search"


def test_streamed_response_is_stored(world: World) -> None:
    key = world.key()
    with httpx.stream("POST", f"{world.gateway.base_url}/v1/responses", timeout=30,
                      headers={"Authorization": f"Bearer {key}"},
                      json={"model": "claude-test", "input": "Hello", "stream": True}) as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    final = events[-1]["response"]
    assert events[-1]["type"] == "response.completed"
    assert world.get(key, final["id"]).json()["output"] == final["output"]
