"""Rerank request checks and usage; Zhipu's JWT signing."""

from __future__ import annotations

import jwt
import pytest

from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.formats.rerank import check_rerank_request, rerank_usage
from oneapi.relay.zhipu_auth import ZhipuTokens


def test_rerank_request_shape() -> None:
    check_rerank_request({"query": "q", "documents": ["a", {"text": "b"}], "top_n": 1})
    for bad in ({"documents": ["a"]}, {"query": "q", "documents": []}, {"query": "q", "documents": [1]},
                {"query": "q", "documents": ["a"], "top_n": 0}):
        with pytest.raises(InvalidRequest):
            check_rerank_request(bad)


def test_rerank_usage_from_jina_and_cohere_shapes() -> None:
    assert rerank_usage({"usage": {"total_tokens": 12}}).prompt_tokens == 12
    assert rerank_usage({"meta": {"tokens": {"input_tokens": 7}}}).prompt_tokens == 7
    assert rerank_usage({"meta": {"billed_units": {"input_tokens": 5, "search_units": 1}}}).prompt_tokens == 5
    assert rerank_usage({"results": []}) is None


SECRET = "s" * 32
KEY = f"myid.{SECRET}"


def test_zhipu_jwt_claims_header_and_cache() -> None:
    tokens = ZhipuTokens()
    token = tokens.token(KEY, now=1000.0)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "sign_type": "SIGN", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"api_key": "myid", "exp": (1000 + 24 * 3600) * 1000, "timestamp": 1000000}
    assert tokens.token(KEY, now=2000.0) == token  # cached
    assert tokens.token(KEY, now=1000.0 + 24 * 3600 - 10) != token  # renewed near expiry
    with pytest.raises(UpstreamError, match=r"id>\.<secret"):
        tokens.token("no-dot")
