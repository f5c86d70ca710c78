"""Record the real clients' request bodies as test fixtures: ``python -m tests.clients.record_cli``.

Runs Claude Code and Gemini CLI (the pinned releases in ``package.json``) straight
against the scripted vendor stand-ins, through one tool round trip each, and writes every
request they sent to ``tests/relay/fixtures/clients/<client>/``: method, path, query,
the headers that matter to the gateway, and the exact body. Keys are fake; nothing is
scrubbed. Re-run after bumping a pinned version.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.support.cli_clients import run_claude, run_gemini
from tests.support.upstreams import UpstreamServer
from tests.support.vendors.scripted import ScriptedAnthropic, ScriptedGemini, ToolScript

FIXTURES = Path(__file__).resolve().parents[1] / "relay" / "fixtures" / "clients"
NOTE = "The secret word is persimmon."
_KEPT_HEADERS = ("anthropic-version", "anthropic-beta", "content-type", "user-agent")


def _save(server: UpstreamServer, name: str) -> None:
    folder = FIXTURES / name
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
    print(f"{name}: {len(server.received)} requests", file=sys.stderr)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        note = workdir / "note.txt"
        note.write_text(NOTE)
        with ScriptedAnthropic(script=ToolScript("Read", {"file_path": str(note)})) as anthropic:
            run = run_claude(anthropic.url, "sk-ant-fake-recording", workdir, "What does note.txt say?")
            print(run.stdout, run.stderr[-2000:], file=sys.stderr)
            _save(anthropic, "claude-code")
        with ScriptedGemini(script=ToolScript("read_file", {"file_path": str(note)})) as gemini:
            run = run_gemini(gemini.url, "fake-gemini-key", workdir, "What does note.txt say?")
            print(run.stdout, run.stderr[-2000:], file=sys.stderr)
            _save(gemini, "gemini-cli")


if __name__ == "__main__":
    main()
