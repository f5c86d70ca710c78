"""OpenAI-compatible presets (DeepSeek, Doubao), Zhipu's JWT and /v1/rerank."""

from __future__ import annotations

import httpx
import jwt
import openai
import pytest

from tests.relay.adapters.conftest import ZHIPU_SECRET, VendorWorld
from tests.support.upstreams import REPLY_WORDS
from tests.support.vendors.openai_compat import REASONING


def test_zhipu_signs_a_jwt_from_id_and_secret(vendors: VendorWorld) -> None:
    completion = vendors.openai().chat.completions.create(model="glm-test",
                                                          messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "".join(REPLY_WORDS)
    sent = vendors.servers["compat"].received[-1]
    assert sent.path == "/api/paas/v4/chat/completions"
    token = sent.headers["Authorization"]
    assert not token.startswith("Bearer ")
    assert jwt.get_unverified_header(token)["sign_type"] == "SIGN"
    assert jwt.decode(token, ZHIPU_SECRET, algorithms=["HS256"])["api_key"] == "zhipu-id"


def test_deepseek_reasoning_content_passes_through(vendors: VendorWorld) -> None:
    client = vendors.openai()
    completion = client.chat.completions.create(model="deepseek-reasoner",
                                                messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.model_extra["reasoning_content"] == REASONING  # type: ignore[index]
    chunks = list(client.chat.completions.create(model="deepseek-reasoner", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    reasoning = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or ""
                        for c in chunks if c.choices)
    assert reasoning == REASONING
    sent = vendors.servers["deepseek"].received[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer sk-upstream-secret"


def test_doubao_versioned_base_url_gets_no_v1(vendors: VendorWorld) -> None:
    vendors.openai().chat.completions.create(model="doubao-test",
                                             messages=[{"role": "user", "content": "hi"}])
    assert vendors.servers["compat"].received[-1].path == "/api/v3/chat/completions"


def test_rerank_in_jina_cohere_shape_billed_from_meta_tokens(vendors: VendorWorld) -> None:
    key = vendors.key()
    response = httpx.post(f"{vendors.url}/v1/rerank", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "bge-reranker", "query": "q", "documents": ["a", "bbb", "cc"],
                                "top_n": 2})
    assert response.status_code == 200
    assert [item["index"] for item in response.json()["results"]] == [1, 2]
    assert vendors.servers["compat"].received[-1].path == "/v1/rerank"
    (log,) = vendors.seed.wait_logs(key, 1)
    assert log.prompt_tokens == vendors.servers["compat"].prompt_tokens
    bad = httpx.post(f"{vendors.url}/v1/rerank", headers={"Authorization": f"Bearer {key}"},
                     json={"model": "bge-reranker", "query": "q", "documents": []})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "documents"


def test_rerank_on_a_vendor_without_it_is_a_400(vendors: VendorWorld) -> None:
    with pytest.raises(openai.BadRequestError, match="cannot serve /v1/rerank"):
        vendors.openai().post("/rerank", cast_to=object, body={"model": "claude-test", "query": "q",
                                                                "documents": ["a"]})
