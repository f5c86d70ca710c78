"""SIGTERM with rows still waiting for the batch writer: everything is written before exit."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from oneapi.db.models import Role
from tests.support.gateway import run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import OpenAIUpstream

HI = [{"role": "user", "content": "hi"}]


def test_sigterm_flushes_pending_logs_and_quota(tmp_path: Path) -> None:
    with OpenAIUpstream(chunk_delay=0.1) as upstream:
        seed = Seed(tmp_path / "one-api.db")
        seed.user("root", role=Role.ROOT)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user()
        key = seed.token(user)
        env = {"BATCH_UPDATE_INTERVAL": "3600"}  # nothing is written before shutdown
        with run_gateway(tmp_path, env) as gateway:
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(5):
                response = httpx.post(f"{gateway.base_url}/v1/chat/completions", headers=headers,
                                      json={"model": "gpt-4o-mini", "messages": HI})
                assert response.status_code == 200
            streamed: list[bytes] = []

            def stream() -> None:  # still running when SIGTERM arrives
                with httpx.stream("POST", f"{gateway.base_url}/v1/chat/completions", headers=headers,
                                  timeout=20,
                                  json={"model": "gpt-4o-mini", "messages": HI, "stream": True}) as reply:
                    streamed.extend(reply.iter_bytes())

            worker = threading.Thread(target=stream)
            worker.start()
            while not upstream.received or len(upstream.received) < 6:
                threading.Event().wait(0.02)
            assert seed.log_count() == 0
            assert gateway.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
            worker.join(10)
        assert b"".join(streamed).endswith(b"data: [DONE]\n\n")
        logs = seed.logs(seed.token_row(key).id)
        assert len(logs) == 6 and sum(log.is_stream for log in logs) == 1
        charged = sum(log.quota for log in logs)
        token = seed.token_row(key)
        assert token.used_quota == charged and token.remain_quota == 10**8 - charged
        assert seed.get(type(user), user.id).request_count == 6
