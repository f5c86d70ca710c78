"""One gateway with a channel of each vendor added by issue 18, each played by its mock on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import openai
import pytest

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import OpenAIUpstream, UpstreamServer
from tests.support.vendors import bedrock, cloudflare, cohere, hunyuan, realtime, single_endpoint, vertex


@dataclass
class ChannelWorld:
    gateway: GatewayProcess
    seed: Seed
    servers: dict[str, UpstreamServer]
    proxy_channel: int = 0

    def key(self) -> str:
        return self.seed.token(self.seed.user())

    def anthropic(self, key: str | None = None) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=key or self.key(), base_url=self.gateway.base_url, max_retries=0)

    def openai(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(api_key=key or self.key(), base_url=f"{self.gateway.base_url}/v1", max_retries=0)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelWorld]:
    tmp = tmp_path_factory.mktemp("channels")
    servers: dict[str, UpstreamServer] = {
        "bedrock": bedrock.BedrockUpstream(),
        "bedrock_throttled": bedrock.BedrockUpstream(mode="exception", name="bedrock"),
        "vertex": vertex.VertexUpstream(),
        "vertex_other": vertex.VertexUpstream(name="vertex-other"),
        "cohere": cohere.CohereUpstream(),
        "cloudflare": cloudflare.CloudflareUpstream(),
        "hunyuan": hunyuan.HunyuanUpstream(),
        "deepl": single_endpoint.DeepLUpstream(),
        "coze": single_endpoint.CozeUpstream(),
        "library": single_endpoint.AIProxyLibraryUpstream(),
        "replicate": single_endpoint.ReplicateUpstream(),
        "proxied": OpenAIUpstream(name="proxied"),
        "realtime": realtime.RealtimeUpstream(),
    }
    for server in servers.values():
        server.__enter__()
    try:
        seed = Seed(tmp / "one-api.db")
        aws_key = f"{bedrock.ACCESS_KEY}|{bedrock.SECRET_KEY}|us-east-1"
        seed.channel(
            servers["bedrock"].url,
            ["claude-sonnet-4-5", "nova-pro", "titan-embed-text-v2", "cohere-embed-multilingual-v3"],
            type=33,
            key=aws_key,
        )
        seed.channel(
            servers["bedrock"].url,
            ["llama3-70b-8192"],
            type=33,
            key="",
            config={"ak": bedrock.ACCESS_KEY, "sk": bedrock.SECRET_KEY, "region": "us-east-1"},
        )
        seed.channel(
            servers["bedrock"].url,
            ["nova-wrong-secret"],
            type=33,
            key=f"{bedrock.ACCESS_KEY}|not-the-secret|us-east-1",
            model_mapping={"nova-wrong-secret": "amazon.nova-pro-v1:0"},
        )
        seed.channel(
            servers["bedrock"].url,
            ["nova-profile"],
            type=33,
            key=f"{bedrock.TEMPORARY_ACCESS_KEY}|{bedrock.SECRET_KEY}|us-east-1|{bedrock.SESSION_TOKEN}",
            model_mapping={"nova-profile": bedrock.PROFILE_ARN},
        )
        seed.channel(
            servers["bedrock_throttled"].url,
            ["nova-throttled"],
            type=33,
            key=aws_key,
            model_mapping={"nova-throttled": "nova-pro"},
        )
        account = servers["vertex"].service_account()
        vertex_config = {
            "region": vertex.REGION,
            "vertex_ai_project_id": vertex.PROJECT,
            "vertex_ai_adc": account,
        }
        seed.channel(
            servers["vertex"].url,
            ["gemini-2.5-flash", "claude-opus-4-1-20250805", "text-embedding-005"],
            type=42,
            key="",
            config=vertex_config,
        )
        seed.channel(
            servers["vertex"].url,
            ["gemini-from-key"],
            type=42,
            key=f"{vertex.REGION}||{account}",
            model_mapping={"gemini-from-key": "gemini-2.0-flash"},
        )
        # a key whose token_uri is the right server but whose private key that server does not know
        stranger = (
            servers["vertex_other"]
            .service_account()
            .replace(servers["vertex_other"].url, servers["vertex"].url)
        )
        seed.channel(
            servers["vertex"].url,
            ["gemini-stranger"],
            type=42,
            key="",
            config={**vertex_config, "vertex_ai_adc": stranger},
        )
        seed.channel(
            servers["cohere"].url, ["command-a-03-2025", "embed-v4.0", "rerank-v3.5"], type=35, key="co-key"
        )
        seed.channel(
            servers["cloudflare"].url,
            ["@cf/meta/llama-3.1-8b-instruct", "@cf/baai/bge-m3"],
            type=37,
            key=cloudflare.TOKEN,
            config={"user_id": cloudflare.ACCOUNT},
        )
        hunyuan_key = f"{hunyuan.APP_ID}|{hunyuan.SECRET_ID}|{hunyuan.SECRET_KEY}"
        seed.channel(
            servers["hunyuan"].url, ["hunyuan-turbos-latest", "hunyuan-embedding"], type=23, key=hunyuan_key
        )
        seed.channel(
            servers["hunyuan"].url,
            ["hunyuan-wrong-secret"],
            type=23,
            key=f"{hunyuan.APP_ID}|{hunyuan.SECRET_ID}|wrong",
        )
        seed.channel(servers["deepl"].url, ["deepl-en", "deepl-ja"], type=38, key="deepl-key:fx")
        seed.channel(
            servers["coze"].url, ["bot-7340012345"], type=34, key="pat_coze_mock", config={"user_id": "u1"}
        )
        seed.channel(servers["library"].url, ["library-qa"], type=21, key="ap-library-key", other="lib-42")
        seed.channel(
            servers["replicate"].url,
            ["meta/meta-llama-3-8b-instruct", "black-forest-labs/flux-schnell"],
            type=46,
            key="r8_mock",
        )
        proxy = seed.channel(
            servers["proxied"].url, ["proxy-only"], type=43, key="Bearer proxied-upstream-key"
        )
        seed.channel(servers["realtime"].url, ["gpt-realtime", "gpt-realtime-mini"], type=1, key=realtime.KEY)
        env = {"SYNC_FREQUENCY": "600", "BATCH_UPDATE_INTERVAL": "0.1"}
        with run_gateway(tmp, env) as gateway:
            yield ChannelWorld(gateway, seed, servers, proxy.id or 0)
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)
