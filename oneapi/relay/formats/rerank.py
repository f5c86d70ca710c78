"""``POST /v1/rerank`` in the shape Jina, Cohere and SiliconFlow share.

The request (``model``, ``query``, ``documents``, ``top_n``, ``return_documents``) is
forwarded as it came; only its shape is checked, so a bad request is answered by the
gateway rather than billed upstream. Usage is read from whichever field the vendor
fills: Jina's ``usage``, or Cohere's ``meta.tokens``/``meta.billed_units``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest
from oneapi.relay.formats.events import TokenUsage

__all__ = ("check_rerank_request", "rerank_usage")


def check_rerank_request(document: Mapping[str, Any]) -> None:
    """Raise a 400 unless the body is a rerank request."""
    if not isinstance(document.get("query"), str) or not document["query"]:
        raise InvalidRequest("query must be a non-empty string", param="query")
    documents = document.get("documents")
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("documents must be a non-empty list", param="documents")
    for item in documents:
        if not isinstance(item, str) and not (isinstance(item, dict) and isinstance(item.get("text"), str)):
            raise InvalidRequest("each document must be a string or an object with text", param="documents")
    top_n = document.get("top_n")
    if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
        raise InvalidRequest("top_n must be a positive integer", param="top_n")


def rerank_usage(body: Mapping[str, Any]) -> TokenUsage | None:
    usage = body.get("usage")
    if isinstance(usage, dict):
        tokens = usage.get("prompt_tokens") or usage.get("total_tokens") or usage.get("input_tokens")
        if tokens:
            return TokenUsage(prompt_tokens=int(tokens))
    meta = body.get("meta")
    if isinstance(meta, dict):
        for section in ("tokens", "billed_units"):
            counts = meta.get(section)
            if isinstance(counts, dict) and counts.get("input_tokens"):
                return TokenUsage(prompt_tokens=int(counts["input_tokens"]))
    return None
