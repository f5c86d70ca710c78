"""Claude Code and Gemini CLI, unmodified, through the gateway, each through one whole tool round trip.

The pinned releases (``package.json``, installed by ``.ci/run``) run non-interactively
against the gateway, which serves them from strict scripted vendor stand-ins: the model
first asks the client to read ``note.txt`` with the client's own file tool, and answers
with the final text only once the tool's result came back. Each client is served by a
channel of its own format (passed through untouched) and by an OpenAI channel
(converted both ways); Claude Code runs with its default model, whose requests carry a
mid-conversation ``system`` message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.clients import needs_clients, run_claude, run_gemini
from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import UpstreamServer
from tests.support.vendors.scripted import ScriptedAnthropic, ScriptedGemini, ScriptedOpenAI, ToolScript

SECRET = "The secret word is persimmon."
CLAUDE_MODELS = ["claude-opus-4-8", "claude-sonnet-4-5", "claude-haiku-4-5"]
GEMINI_MODELS = ["gemini-3.5-flash-lite", "gemini-3.8-flash", "gemini-3.1-pro-preview"]

pytestmark = needs_clients("claude", "gemini")


@dataclass
class ClientWorld:
    gateway: GatewayProcess
    seed: Seed
    servers: dict[str, UpstreamServer]
    workdir: Path

    def key(self, group: str) -> str:
        return self.seed.token(self.seed.user(group=group))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientWorld]:
    tmp = tmp_path_factory.mktemp("clients")
    workdir = tmp / "work"
    workdir.mkdir()
    note = workdir / "note.txt"
    note.write_text(SECRET)
    claude_read = ToolScript("Read", {"file_path": str(note)})
    gemini_read = ToolScript("read_file", {"file_path": str(note)})
    servers: dict[str, UpstreamServer] = {
        "anthropic": ScriptedAnthropic(script=claude_read),
        "openai_for_claude": ScriptedOpenAI(script=claude_read),
        "gemini": ScriptedGemini(script=gemini_read), "openai_for_gemini": ScriptedOpenAI(script=gemini_read)}
    for server in servers.values():
        server.__enter__()
    try:
        seed = Seed(tmp / "one-api.db")
        seed.channel(servers["anthropic"].url, CLAUDE_MODELS, type=14, group="native")
        seed.channel(servers["gemini"].url, GEMINI_MODELS, type=24, group="native")
        seed.channel(servers["openai_for_claude"].url, CLAUDE_MODELS, type=1, group="openai")
        seed.channel(servers["openai_for_gemini"].url, GEMINI_MODELS, type=1, group="openai")
        with run_gateway(tmp, {"SYNC_FREQUENCY": "600", "BATCH_UPDATE_INTERVAL": "0.1"}) as gateway:
            yield ClientWorld(gateway, seed, servers, workdir)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


def _tool_results(server: UpstreamServer, marker: str) -> int:
    return sum(1 for received in server.received if marker in received.body.decode(errors="replace")
               and "persimmon" in received.body.decode(errors="replace"))


@pytest.mark.parametrize(("group", "server", "result_marker"), [
    ("native", "anthropic", '"tool_result"'), ("openai", "openai_for_claude", '"role":"tool"')])
def test_claude_code_default_model_round_trip(world: ClientWorld, group: str, server: str,
                                              result_marker: str) -> None:
    key = world.key(group)
    run = run_claude(world.gateway.base_url, key, world.workdir, "What does note.txt say?")
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-2000:]
    assert "ROUND TRIP DONE" in run.stdout and "persimmon" in run.stdout
    received = world.servers[server].received
    models = {json.loads(r.body).get("model") for r in received if r.body}
    assert "claude-opus-4-8" in models or server == "openai_for_claude"  # the default model
    assert _tool_results(world.servers[server], result_marker) >= 1
    if server == "anthropic":  # the body went through untouched, its mid-conversation system role too
        assert any('"role":"system"' in r.body.decode() for r in received if r.body)
    logs = world.seed.wait_logs(key, 2)
    assert len(logs) >= 2 and all(log.model_name in CLAUDE_MODELS for log in logs)


@pytest.mark.parametrize(("group", "server", "result_marker"), [
    ("native", "gemini", '"functionResponse"'), ("openai", "openai_for_gemini", '"role":"tool"')])
def test_gemini_cli_round_trip(world: ClientWorld, group: str, server: str, result_marker: str) -> None:
    key = world.key(group)
    run = run_gemini(world.gateway.base_url, key, world.workdir, "What does note.txt say?")
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-2000:]
    assert "ROUND TRIP DONE" in run.stdout and "persimmon" in run.stdout
    assert _tool_results(world.servers[server], result_marker) >= 1
    logs = world.seed.wait_logs(key, 2)
    assert len(logs) >= 2 and all(log.model_name in GEMINI_MODELS for log in logs)
