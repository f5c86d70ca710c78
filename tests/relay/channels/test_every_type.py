"""A database made by one-api, holding one channel of every one-api type, boots and serves each one.

The tables are created with one-api's own DDL and filled with SQL as one-api writes rows
(credentials in the key or the ``config`` JSON, the library id in ``other``, abilities per
group and model); the gateway adopts the database on boot. Then every channel is asked
for a chat completion through the ``openai`` SDK and answers from its vendor's mock, the
retired types (11, 15, 18) answer an error naming their replacement, and the Proxy
channel (43) forwards through ``/v1/oneapi/proxy/{id}/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import sqlalchemy as sa

from oneapi.channel_types import CHANNEL_TYPES
from tests.db.one_api_ddl import one_api_ddl
from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.upstreams import AzureUpstream, OpenAIUpstream, UpstreamServer
from tests.support.vendors import bedrock, cloudflare, cohere, hunyuan, single_endpoint, vertex
from tests.support.vendors.anthropic import AnthropicUpstream
from tests.support.vendors.gemini import GeminiUpstream
from tests.support.vendors.ollama import OllamaUpstream
from tests.support.vendors.openai_compat import CompatUpstream

ZHIPU_SECRET = "zhipu-secret-" + "y" * 20
TOKEN_KEY = "E" * 48
RETIRED = {11: 24, 15: 47, 18: 48}
ONE_API_TYPES = list(range(1, 52))  # one-api's channel types (reference §2.1): every number from 1 to 51


def _server_for(kind: int) -> str:
    return {
        3: "azure",
        14: "anthropic",
        16: "compat",
        21: "library",
        23: "hunyuan",
        24: "gemini",
        30: "ollama",
        33: "bedrock",
        34: "coze",
        35: "cohere",
        37: "cloudflare",
        38: "deepl",
        42: "vertex",
        46: "replicate",
    }.get(kind, "openai")


def _channel_row(kind: int, servers: dict[str, UpstreamServer]) -> dict[str, Any]:
    """The columns one-api would store for a channel of ``kind`` pointing at its mock."""
    url = servers[_server_for(kind)].url
    versioned = CHANNEL_TYPES[kind].versioned_base if kind in CHANNEL_TYPES else False
    row: dict[str, Any] = {
        "type": kind,
        "key": "sk-upstream",
        "base_url": f"{url}/v1" if versioned else url,
        "config": "",
        "other": "",
        "model_mapping": "",
    }
    mapping = {
        33: "nova-pro",
        34: "bot-7340012345",
        38: "deepl-ja",
        42: "gemini-2.5-flash",
        46: "meta/meta-llama-3-8b-instruct",
    }
    if kind in mapping:
        row["model_mapping"] = json.dumps({f"m-{kind}": mapping[kind]})
    if kind == 3:
        row["other"] = "2024-10-21"
    elif kind == 16:
        row["key"] = f"zhipu-id.{ZHIPU_SECRET}"
    elif kind == 21:
        row.update(key="ap-library-key", other="lib-42")
    elif kind == 23:
        row["key"] = f"{hunyuan.APP_ID}|{hunyuan.SECRET_ID}|{hunyuan.SECRET_KEY}"
    elif kind == 33:
        row["key"] = f"{bedrock.ACCESS_KEY}|{bedrock.SECRET_KEY}|us-east-1"
    elif kind == 34:
        row.update(key="pat_coze_mock", config=json.dumps({"user_id": "u1"}))
    elif kind == 35:
        row["key"] = "co-key"
    elif kind == 37:
        row.update(key=cloudflare.TOKEN, config=json.dumps({"user_id": cloudflare.ACCOUNT}))
    elif kind == 38:
        row["key"] = "deepl-key:fx"
    elif kind == 42:
        account = servers["vertex"].service_account()  # type: ignore[attr-defined]
        row.update(
            key=f"{vertex.REGION}|{vertex.PROJECT}|{account}",
            config=json.dumps(
                {"region": vertex.REGION, "vertex_ai_project_id": vertex.PROJECT, "vertex_ai_adc": account}
            ),
        )
    elif kind == 43:
        row["key"] = "Bearer proxied-key"
    elif kind == 46:
        row["key"] = "r8_mock"
    return row


def _one_api_database(path: Path, servers: dict[str, UpstreamServer]) -> dict[int, int]:
    """Create the tables with one-api's DDL and write one-api's rows; returns type -> channel id."""
    engine = sa.create_engine(f"sqlite:///{path}")
    ids: dict[int, int] = {}
    with engine.begin() as connection:
        for statement in one_api_ddl("sqlite"):
            connection.execute(sa.text(statement))
        connection.execute(
            sa.text(
                'INSERT INTO users (id, username, password, role, status, quota, "group", aff_code) '
                "VALUES (1, 'root', 'x', 100, 1, 100000000, 'default', 'Ab12')"
            )
        )
        connection.execute(
            sa.text(
                'INSERT INTO tokens (user_id, "key", status, name, created_time, expired_time, remain_quota, '
                "unlimited_quota) VALUES (1, :key, 1, 'all', :now, -1, 0, true)"
            ),
            {"key": TOKEN_KEY, "now": int(time.time())},
        )
        for kind in ONE_API_TYPES:
            row = _channel_row(kind, servers)
            result = connection.execute(
                sa.text(
                    'INSERT INTO channels (type, "key", status, name, weight, created_time, base_url, other, '
                    'models, "group", model_mapping, priority, config) '
                    "VALUES (:type, :key, 1, :name, 0, :now, :base_url, :other, :model, 'default', "
                    ":model_mapping, 0, :config)"
                ),
                {**row, "name": f"type {kind}", "now": int(time.time()), "model": f"m-{kind}"},
            )
            ids[kind] = int(result.lastrowid or 0)
            connection.execute(
                sa.text(
                    'INSERT INTO abilities ("group", model, channel_id, enabled, priority) '
                    "VALUES ('default', :model, :id, true, 0)"
                ),
                {"model": f"m-{kind}", "id": ids[kind]},
            )
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def every_type(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GatewayProcess, dict[int, int], dict[str, UpstreamServer]]]:
    tmp = tmp_path_factory.mktemp("every-type")
    servers: dict[str, UpstreamServer] = {
        "openai": OpenAIUpstream(),
        "azure": AzureUpstream(),
        "anthropic": AnthropicUpstream(),
        "gemini": GeminiUpstream(),
        "ollama": OllamaUpstream(),
        "compat": CompatUpstream(jwt_secret=ZHIPU_SECRET),
        "bedrock": bedrock.BedrockUpstream(),
        "vertex": vertex.VertexUpstream(),
        "cohere": cohere.CohereUpstream(),
        "cloudflare": cloudflare.CloudflareUpstream(),
        "hunyuan": hunyuan.HunyuanUpstream(),
        "deepl": single_endpoint.DeepLUpstream(),
        "coze": single_endpoint.CozeUpstream(),
        "library": single_endpoint.AIProxyLibraryUpstream(),
        "replicate": single_endpoint.ReplicateUpstream(),
    }
    for server in servers.values():
        server.__enter__()
    try:
        ids = _one_api_database(tmp / "one-api.db", servers)
        with run_gateway(tmp, {"SYNC_FREQUENCY": "600"}) as gateway:
            yield gateway, ids, servers
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


def test_every_channel_type_relays_or_names_its_replacement(
    every_type: tuple[GatewayProcess, dict[int, int], dict[str, UpstreamServer]],
) -> None:
    gateway, ids, servers = every_type
    client = openai.OpenAI(api_key=f"sk-{TOKEN_KEY}", base_url=f"{gateway.base_url}/v1", max_retries=0)
    answered: dict[int, str] = {}
    for kind in ONE_API_TYPES:
        if kind == 43:
            continue
        model = f"m-{kind}"
        if kind in RETIRED:
            with pytest.raises(openai.BadRequestError) as failure:
                client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}])
            assert f"use type {RETIRED[kind]}" in str(failure.value), kind
            continue
        completion = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hello"}]
        )
        answered[kind] = completion.choices[0].message.content or ""
        assert answered[kind], f"type {kind} answered nothing"
        assert servers[_server_for(kind)].received, f"type {kind} never reached its vendor"
    assert len(answered) == len(ONE_API_TYPES) - len(RETIRED) - 1
    proxied = httpx.post(
        f"{gateway.base_url}/v1/oneapi/proxy/{ids[43]}/v1/chat/completions",
        headers={"Authorization": f"Bearer sk-{TOKEN_KEY}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]},
    )
    assert proxied.status_code == 200 and proxied.json()["choices"][0]["message"]["content"]
    assert servers["openai"].received[-1].headers["Authorization"] == "Bearer proxied-key"


def test_every_one_api_type_is_known_and_the_retired_ones_are_deprecated() -> None:
    assert {kind.id for kind in CHANNEL_TYPES.values() if kind.deprecated} == set(RETIRED)
    assert set(ONE_API_TYPES) <= set(CHANNEL_TYPES)
