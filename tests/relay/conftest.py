"""One gateway process for the relay tests, with upstreams for every scenario the tests need.

Channels are routed by model name, so each scenario (retries, cut streams, mapping, ...)
has its own model and all tests share one gateway.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest

from oneapi.db.models import Role
from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import AzureUpstream, OpenAIUpstream, UpstreamServer, dead_url


@dataclass
class World:
    gateway: GatewayProcess
    seed: Seed
    upstreams: dict[str, UpstreamServer]
    channels: dict[str, int] = field(default_factory=dict)
    root_access_token: str = ""

    @property
    def v1(self) -> str:
        return self.gateway.base_url + "/v1"

    def key(self, **kwargs: object) -> str:
        """A fresh token of a fresh user (the gateway finds it in the database on first use)."""
        user_kwargs = {k: kwargs.pop(k) for k in ("quota", "role", "group") if k in kwargs}
        return self.seed.token(self.seed.user(**user_kwargs), **kwargs)  # type: ignore[arg-type]

    def client(self, key: str | None = None, **kwargs: object) -> openai.OpenAI:
        return openai.OpenAI(api_key=key or self.key(), base_url=self.v1, max_retries=0, **kwargs)  # type: ignore[arg-type]

    def async_client(self, key: str | None = None, **kwargs: object) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=key or self.key(), base_url=self.v1, max_retries=0, **kwargs)  # type: ignore[arg-type]


JUNK_MODES = ("html", "truncated", "error200")
ECHOED_KEY = "sk-live-Zq8rT3xKp2Lm9Vn4Wb7Yc1Hd6Jf0Gs5"  # a channel key its upstream quotes back

TEXT_MODELS = ["gpt-4o-mini", "text-embedding-3-small", "omni-moderation-latest", "dall-e-3", "whisper-1",
               "tts-1", "gpt-3.5-turbo-instruct"]


def build_world(tmp: Path) -> Iterator[World]:
    servers = {
        "ok": OpenAIUpstream(name="ok"), "ok2": OpenAIUpstream(name="ok2"),
        "w1": OpenAIUpstream(name="w1"), "w3": OpenAIUpstream(name="w3"),
        "e500": OpenAIUpstream(mode="500", name="e500"), "e429": OpenAIUpstream(mode="429", name="e429"),
        "e400": OpenAIUpstream(mode="400", name="e400"), "cut": OpenAIUpstream(mode="cut", name="cut"),
        "slow": OpenAIUpstream(name="slow", chunk_delay=0.15), "no_usage": OpenAIUpstream(mode="no_usage"),
        "hang": OpenAIUpstream(mode="hang", name="hang"), "azure": AzureUpstream(name="azure"),
        "stall": OpenAIUpstream(mode="stall", name="stall"), "echo_key": OpenAIUpstream(mode="echo_key"),
        **{f"junk_{mode}": OpenAIUpstream(mode=mode, name=mode) for mode in JUNK_MODES},
    }
    for server in servers.values():
        server.__enter__()
    try:
        seed = Seed(tmp / "one-api.db")
        root_access_token = secrets.token_hex(16)
        seed.user("root", role=Role.ROOT, access_token=root_access_token)
        ids: dict[str, int] = {}
        ok = servers["ok"].url
        ids["ok"] = seed.channel(ok, [*TEXT_MODELS, "mapped-*"], name="ok").id
        ids["mapped"] = seed.channel(ok, ["friendly-name"], model_mapping={"friendly-name": "gpt-4o-mini"}).id
        ids["w1"] = seed.channel(servers["w1"].url, ["weighted"], weight=1).id
        ids["w3"] = seed.channel(servers["w3"].url, ["weighted"], weight=3).id
        for scenario in ("500", "429", "400"):
            seed.channel(servers[f"e{scenario}"].url, [f"retry-{scenario}"], priority=10)
            seed.channel(servers["ok2"].url, [f"retry-{scenario}"], priority=0)
        seed.channel(dead_url(), ["retry-dead"], priority=10)
        seed.channel(servers["ok2"].url, ["retry-dead"], priority=0)
        seed.channel(servers["e500"].url, ["always-500"])
        seed.channel(servers["e429"].url, ["always-429"])
        seed.channel(servers["cut"].url, ["cut-stream"])
        seed.channel(servers["slow"].url, ["slow-stream"])
        seed.channel(servers["no_usage"].url, ["no-usage"])
        seed.channel(servers["hang"].url, ["hang"])
        seed.channel(servers["hang"].url, ["hang-fast"], config={"first_byte_timeout": 0.3})
        seed.channel(servers["hang"].url, ["retry-hang"], priority=10)
        seed.channel(servers["ok2"].url, ["retry-hang"], priority=0)
        seed.channel(servers["stall"].url, ["stall-stream"])
        for mode in JUNK_MODES:
            seed.channel(servers[f"junk_{mode}"].url, [f"junk-{mode}", f"retry-junk-{mode}"], priority=10)
            seed.channel(servers["ok2"].url, [f"retry-junk-{mode}"], priority=0)
        ids["echo_key"] = seed.channel(servers["echo_key"].url, ["echo-key"], key=ECHOED_KEY).id
        ids["azure"] = seed.channel(servers["azure"].url, ["gpt-4.1", "text-embedding-3-large"], type=3,
                                    config={"api_version": "2024-10-21"}, key="azure-secret").id
        env = {"RELAY_FIRST_BYTE_TIMEOUT": "2", "RELAY_IDLE_TIMEOUT": "1.5", "SYNC_FREQUENCY": "600",
               "BATCH_UPDATE_INTERVAL": "0.1"}
        with run_gateway(tmp, env) as gateway:
            yield World(gateway, seed, servers, ids, root_access_token)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("relay"))
