"""Tokens-per-minute on a token and a per-user group limit, on one gateway without Redis."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlmodel import Session, select

from oneapi.db.models import Option, Role, Token
from tests.support.gateway import run_gateway
from tests.support.seed import Seed
from tests.support.upstreams import OpenAIUpstream

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _chat(base_url: str, key: str) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/chat/completions", json=CHAT,
                      headers={"Authorization": f"Bearer {key}"},
                      timeout=10)


def test_tpm_on_a_token_and_rpm_per_user_from_the_group(tmp_path: Path) -> None:
    with OpenAIUpstream() as upstream:  # each answer uses 11 prompt + 6 completion tokens
        seed = Seed(tmp_path / "one-api.db")
        seed.user("root", role=Role.ROOT)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        seed.channel(upstream.url, ["gpt-4o-mini"], group="vip")
        tpm_key = seed.token(seed.user())
        with Session(seed.engine) as session:
            token = session.exec(select(Token).where(Token.key == tpm_key[3:])).one()
            token.tpm_limit = 20
            session.add(token)
            session.add(Option(key="GroupRateLimit", value=json.dumps({"vip": {"rpm": 3}})))
            session.commit()
        vip = seed.user(group="vip")
        vip_keys = [seed.token(vip), seed.token(vip)]
        with run_gateway(tmp_path) as gateway:
            assert [_chat(gateway.base_url, tpm_key).status_code for _ in range(2)] == [200, 200]
            refused = _chat(gateway.base_url, tpm_key)
            assert refused.status_code == 429 and "Retry-After" in refused.headers
            assert "tokens per minute (20)" in refused.json()["error"]["message"]

            statuses = [_chat(gateway.base_url, vip_keys[i % 2]).status_code for i in range(5)]
            assert statuses == [200, 200, 200, 429, 429]  # three per minute for the user, whatever the token
            assert "user requests per minute (3)" in _chat(gateway.base_url,
                                                           vip_keys[0]).json()["error"]["message"]
