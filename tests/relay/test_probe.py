"""The channel probe the management API's channel test uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from oneapi.config import Settings
from oneapi.db.models import Channel
from oneapi.relay.probe import probe_channel
from oneapi.relay.upstream import AiohttpTransport
from tests.support.upstreams import AzureUpstream, OpenAIUpstream, dead_url


@pytest.fixture
async def client() -> AsyncIterator[AiohttpTransport]:
    client = AiohttpTransport()
    client.open(Settings())
    yield client
    await client.stop()


async def test_probe_reports_success_usage_and_time(client: AiohttpTransport) -> None:
    with OpenAIUpstream() as upstream:
        channel = Channel(id=1, type=1, key="k1", base_url=upstream.url, models="gpt-4o-mini,gpt-4o",
                          model_mapping='{"gpt-4o-mini": "gpt-4o"}')
        result = await probe_channel(client, channel)
        assert result.success and result.model == "gpt-4o-mini" and result.elapsed > 0
        assert result.usage is not None and result.usage.prompt_tokens == 11
        assert upstream.received[-1].json()["model"] == "gpt-4o"


async def test_probe_reports_upstream_message_and_dead_hosts(client: AiohttpTransport) -> None:
    with OpenAIUpstream(mode="401", name="vendor") as upstream:
        result = await probe_channel(client,
                                     Channel(id=2, type=8, key="bad", base_url=upstream.url, models="m"))
        assert not result.success and result.message == "vendor says 401"
    result = await probe_channel(client, Channel(id=3, type=1, key="k", base_url=dead_url(), models="m"))
    assert not result.success and "cannot reach" in result.message


async def test_probe_azure_uses_deployment_url(client: AiohttpTransport) -> None:
    with AzureUpstream() as upstream:
        channel = Channel(id=4, type=3, key="azkey", base_url=upstream.url, models="gpt-4.1",
                          config='{"api_version": "2025-01-01"}')
        result = await probe_channel(client, channel)
        assert result.success, result.message
        sent = upstream.received[-1]
        assert sent.path == "/openai/deployments/gpt-41/chat/completions"
        assert sent.query == {"api-version": "2025-01-01"} and sent.headers["api-key"] == "azkey"
