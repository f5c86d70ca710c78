"""Record the real request bodies of Codex, the AI SDK, Claude Code and Gemini CLI as test fixtures.

Run ``python -m tests.clients.record`` after ``npm ci`` in ``tests/clients``: each client
talks to a strict vendor stand-in on 127.0.0.1 through a whole tool round trip. Codex's
and the AI SDK's bodies are written to ``tests/relay/fixtures/responses/<client>_<n>.json``;
Claude Code's and Gemini CLI's requests to ``tests/relay/fixtures/clients/<client>/``,
each with its method, path, query, the headers that matter to the gateway and the exact
body bytes. Keys are fake; nothing is scrubbed. Re-run after bumping a pinned version.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.support.clients import CLIENTS, run_claude, run_codex, run_gemini, run_node
from tests.support.upstreams import UpstreamServer
from tests.support.vendors.openai_responses import ResponsesUpstream
from tests.support.vendors.scripted import ScriptedAnthropic, ScriptedGemini, ToolScript

FIXTURES = Path(__file__).resolve().parents[1] / "relay" / "fixtures" / "responses"
CLI_FIXTURES = FIXTURES.parent / "clients"
NOTE = "The secret word is persimmon."
_KEPT_HEADERS = ("anthropic-version", "anthropic-beta", "content-type", "user-agent")


def _save(client: str, upstream: ResponsesUpstream) -> None:
    for number, received in enumerate(upstream.received, 1):
        path = FIXTURES / f"{client}_{number}.json"
        path.write_text(json.dumps(received.json(), indent=1, ensure_ascii=False) + "\n")
        print(f"{path.relative_to(FIXTURES.parents[2])}: {len(received.body)} bytes")


def _save_requests(server: UpstreamServer, name: str) -> None:
    folder = CLI_FIXTURES / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for position, received in enumerate(server.received):
        headers = {key.lower(): value for key, value in received.headers.items()
                   if key.lower() in _KEPT_HEADERS}
        record = {"method": received.method, "path": received.path, "query": received.query,
                  "headers": headers, "body": received.body.decode() if received.body else ""}
        slug = received.path.rsplit("/", 1)[-1].replace(":", "-") or "root"
        (folder / f"{position:02d}-{slug}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False))
    print(f"{folder.relative_to(FIXTURES.parents[2])}: {len(server.received)} requests")


def _record_command_line_clients() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        note = workdir / "note.txt"
        note.write_text(NOTE)
        with ScriptedAnthropic(script=ToolScript("Read", {"file_path": str(note)})) as anthropic:
            done = run_claude(anthropic.url, "sk-ant-fake-recording", workdir, "What does note.txt say?")
            assert done.returncode == 0 and "persimmon" in done.stdout, done.stderr
            _save_requests(anthropic, "claude-code")
        with ScriptedGemini(script=ToolScript("read_file", {"file_path": str(note)})) as gemini:
            done = run_gemini(gemini.url, "fake-gemini-key", workdir, "What does note.txt say?")
            assert done.returncode == 0 and "persimmon" in done.stdout, done.stderr
            _save_requests(gemini, "gemini-cli")


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with ResponsesUpstream(tool="exec_command", arguments={"cmd": "echo hello-from-tool"}) as upstream, \
            tempfile.TemporaryDirectory() as home:
        done = run_codex(f"{upstream.url}/v1", "sk-record", "gpt-5.1-codex", "Say hello with the shell.",
                         Path(home))
        assert done.returncode == 0, done.stderr
        _save("codex", upstream)
    with ResponsesUpstream(preamble="Let me check.") as upstream:
        done = run_node(CLIENTS / "ai_sdk_tool_loop.mjs", {"ONEAPI_BASE_URL": f"{upstream.url}/v1",
                                                            "ONEAPI_KEY": "sk-record", "MODEL": "gpt-4.1"})
        assert done.returncode == 0, done.stderr
        _save("ai_sdk", upstream)
    _record_command_line_clients()


if __name__ == "__main__":
    main()
