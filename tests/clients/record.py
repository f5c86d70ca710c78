"""Record the real request bodies of Codex and the AI SDK as test fixtures.

Run ``python -m tests.clients.record`` after ``npm ci`` in ``tests/clients``: each client
talks to the strict Responses mock on 127.0.0.1 through a whole tool round trip, and
every body it sent is written to ``tests/relay/fixtures/responses/<client>_<n>.json``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.support.clients import CLIENTS, run_codex, run_node
from tests.support.vendors.openai_responses import ResponsesUpstream

FIXTURES = Path(__file__).resolve().parents[1] / "relay" / "fixtures" / "responses"


def _save(client: str, upstream: ResponsesUpstream) -> None:
    for number, received in enumerate(upstream.received, 1):
        path = FIXTURES / f"{client}_{number}.json"
        path.write_text(json.dumps(received.json(), indent=1, ensure_ascii=False) + "\n")
        print(f"{path.relative_to(FIXTURES.parents[2])}: {len(received.body)} bytes")


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


if __name__ == "__main__":
    main()
