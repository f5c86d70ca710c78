"""One gateway with a channel per vendor, each played by its mock server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import openai
import pytest

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import UpstreamServer
from tests.support.vendors.anthropic import AnthropicUpstream
from tests.support.vendors.gemini import GeminiUpstream
from tests.support.vendors.images import ImageHost
from tests.support.vendors.ollama import OllamaUpstream
from tests.support.vendors.openai_compat import CompatUpstream

ZHIPU_SECRET = "zhipu-secret-" + "x" * 20
CHANNEL_KEYS = {"anthropic": "sk-ant-channel", "gemini": "gemini-channel-key", "ollama": "",
                "zhipu": f"zhipu-id.{ZHIPU_SECRET}"}


@dataclass
class VendorWorld:
    gateway: GatewayProcess
    seed: Seed
    servers: dict[str, UpstreamServer]

    @property
    def url(self) -> str:
        return self.gateway.base_url

    def key(self, **kwargs: object) -> str:
        return self.seed.token(self.seed.user(), **kwargs)  # type: ignore[arg-type]

    def openai(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(api_key=key or self.key(), base_url=f"{self.url}/v1", max_retries=0)

    def anthropic(self, key: str | None = None) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=key or self.key(), base_url=self.url, max_retries=0)


@pytest.fixture(scope="package")
def vendors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendorWorld]:
    tmp = tmp_path_factory.mktemp("vendors")
    servers: dict[str, UpstreamServer] = {
        "anthropic": AnthropicUpstream(), "anthropic_bad": AnthropicUpstream(mode="400", name="anthropic"),
        "gemini": GeminiUpstream(), "gemini_bad": GeminiUpstream(mode="400", name="gemini"),
        "ollama": OllamaUpstream(), "ollama_bad": OllamaUpstream(mode="400", name="ollama"),
        "compat": CompatUpstream(jwt_secret=ZHIPU_SECRET), "deepseek": CompatUpstream(name="deepseek", reasoning=True),
        "images": ImageHost(),
    }
    for server in servers.values():
        server.__enter__()
    try:
        seed = Seed(tmp / "one-api.db")
        anthropic_key, gemini_key = CHANNEL_KEYS["anthropic"], CHANNEL_KEYS["gemini"]
        seed.channel(servers["anthropic"].url, ["claude-test", "claude-opus-4-8"], type=14, key=anthropic_key)
        seed.channel(servers["anthropic_bad"].url, ["claude-broken"], type=14, key=anthropic_key)
        seed.channel(servers["gemini"].url, ["gemini-test", "text-embedding-004"], type=24, key=gemini_key)
        seed.channel(servers["gemini_bad"].url, ["gemini-broken"], type=24, key=gemini_key)
        seed.channel(servers["ollama"].url, ["llama-test", "nomic-embed-text"], type=30, key="")
        seed.channel(servers["ollama_bad"].url, ["llama-broken"], type=30, key="")
        compat = servers["compat"].url
        seed.channel(compat, ["glm-test"], type=16, key=CHANNEL_KEYS["zhipu"])
        seed.channel(compat, ["gpt-tools"], type=1)
        seed.channel(servers["deepseek"].url, ["deepseek-reasoner"], type=36)
        seed.channel(f"{compat}/api/v3", ["doubao-test"], type=40)
        seed.channel(compat, ["bge-reranker"], type=44)
        env = {"SYNC_FREQUENCY": "600", "BATCH_UPDATE_INTERVAL": "0.1",
               "ALLOW_PRIVATE_IMAGE_URLS": "true"}  # the test image host is on 127.0.0.1
        with run_gateway(tmp, env) as gateway:
            yield VendorWorld(gateway, seed, servers)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
