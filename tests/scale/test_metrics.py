"""``/metrics``: guarded by METRICS_TOKEN, parseable by Prometheus, counters match the traffic."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from oneapi.db.models import Role
from tests.support.gateway import run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import OpenAIUpstream

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_are_guarded_parse_and_count_the_requests_made(tmp_path: Path) -> None:
    with OpenAIUpstream() as upstream:
        seed = Seed(tmp_path / "one-api.db")
        seed.user("root", role=Role.ROOT)
        channel = seed.channel(upstream.url, ["gpt-4o-mini"])
        key = seed.token(seed.user())
        with run_gateway(tmp_path, {"METRICS_TOKEN": "scrape-secret"}) as gateway:
            assert httpx.get(f"{gateway.base_url}/metrics").status_code == 401
            wrong = httpx.get(f"{gateway.base_url}/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            sdk = openai.OpenAI(api_key=key, base_url=gateway.base_url + "/v1", max_retries=0)
            for _ in range(3):
                sdk.chat.completions.create(**CHAT)  # type: ignore[call-overload]
            for _ in sdk.chat.completions.create(**CHAT, stream=True):  # type: ignore[call-overload]
                pass
            bad = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=CHAT,
                             headers={"Authorization": "Bearer sk-wrong"})
            assert bad.status_code == 401
            answer = httpx.get(f"{gateway.base_url}/metrics",
                               headers={"Authorization": "Bearer scrape-secret"})
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/plain")
            samples = _samples(answer.text)
            logs = seed.wait_logs(key, 4)

    route = ("route", "/v1/chat/completions")
    ok = (("channel", str(channel.id)), ("model", "gpt-4o-mini"), route, ("status", "200"))
    assert samples[("oneapi_requests_total", ok)] == 4
    refused = (("channel", ""), ("model", ""), route, ("status", "401"))
    assert samples[("oneapi_requests_total", refused)] == 1
    assert samples[("oneapi_streams_total", ())] == 1
    assert samples[("oneapi_streams_open", ())] == 0
    assert samples[("oneapi_upstream_latency_seconds_count", (("channel", str(channel.id)),))] == 4
    charged = (("channel", str(channel.id)), ("model", "gpt-4o-mini"))
    assert samples[("oneapi_quota_charged_total", charged)] == sum(row.quota for row in logs)
    completion = (("kind", "completion"), ("model", "gpt-4o-mini"))
    assert samples[("oneapi_tokens_total", completion)] == sum(row.completion_tokens for row in logs)
    assert samples[("oneapi_cache_entries", (("kind", "channels"),))] == 1
    assert samples[("oneapi_writer_last_flush_ok", ())] == 1
    assert samples[("oneapi_redis_up", ())] == 0
    assert not any(name == "oneapi_relay_retries_total" for name, _ in samples)
