"""One-api's pricing rules: ratios, their option overrides, and what a request costs."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from oneapi.billing.pricing import Price, price_for
from oneapi.billing.ratios import (
    UNKNOWN_MODEL_RATIO,
    cache_ratios,
    completion_ratio,
    effective_table,
    group_ratio,
    model_ratio,
)
from oneapi.options import DEFAULT_OPTIONS, options
from oneapi.relay.formats.anthropic_upstream import anthropic_usage
from oneapi.relay.formats.events import TokenUsage
from oneapi.relay.formats.gemini_upstream import gemini_usage


@pytest.fixture(autouse=True)
def default_options() -> Iterator[None]:
    options.replace({})
    yield
    options.replace({})


def test_text_quota_rounds_up_and_charges_at_least_one() -> None:
    price = Price(model_ratio=0.15, completion_ratio=4.0, group_ratio=1.0)
    assert price.text_quota(100, 10) == 21  # (100 + 10 * 4) * 0.15 = 21
    assert price.text_quota(1, 0) == 1  # 0.15 rounds up to 1
    assert price.text_quota(0, 0) == 0
    assert Price(0.0, 1.0, 1.0).text_quota(1000, 1000) == 0  # a free model stays free
    assert price.description == "model ratio 0.15, group ratio 1, completion ratio 4"


def test_image_quota_follows_size_quality_and_count() -> None:
    price = Price(model_ratio=20.0, completion_ratio=1.0, group_ratio=1.0)
    assert price.image_quota("dall-e-3", "1024x1024", "", 1) == 20_000
    assert price.image_quota("dall-e-3", "1024x1792", "", 2) == 80_000
    assert price.image_quota("dall-e-3", "1024x1024", "hd", 1) == 40_000
    assert price.image_quota("dall-e-3", "1792x1024", "hd", 1) == 60_000


def test_lookup_order_and_unknown_models() -> None:
    assert model_ratio("gpt-4o-mini") == 0.075  # $0.15 per 1M prompt tokens; ratio 1 is $2 per 1M
    assert model_ratio("gpt-4o-mini-2024-07-18") == 0.075  # a dated snapshot inherits its family's price
    assert completion_ratio("gpt-4o-mini") == 4
    assert model_ratio("no-such-model") == UNKNOWN_MODEL_RATIO
    assert completion_ratio("no-such-model") == 1.0
    options.replace({"ModelRatio": '{"gpt-4o-mini": 0.5, "gpt-4o-mini(14)": 0.7}'})
    assert model_ratio("gpt-4o-mini") == 0.5
    assert model_ratio("gpt-4o-mini", channel_type=14) == 0.7  # per channel type first


def test_group_ratio_from_the_option() -> None:
    assert group_ratio("default") == 1.0
    options.replace({"GroupRatio": '{"default": 1, "vip": 0.8}'})
    assert group_ratio("vip") == 0.8
    assert group_ratio("unknown-group") == 1.0
    assert DEFAULT_OPTIONS["GroupRatio"]  # the built-in groups exist before any admin change


def test_prices_are_memoised_until_the_options_change() -> None:
    first = price_for("gpt-4o-mini", "default")
    assert price_for("gpt-4o-mini", "default") is first
    options.replace({"ModelRatio": '{"gpt-4o-mini": 1.5}', "GroupRatio": '{"default": 2}'})
    changed = price_for("gpt-4o-mini", "default")
    assert (changed.model_ratio, changed.group_ratio, changed.ratio) == (1.5, 2.0, 3.0)


# Each vendor's usage shape, read by the gateway's own reader, billed with cache reads and writes at
# their ratios: (model, reader result) -> the uncached, read and written prompt tokens.
def _vendor_usages() -> list[tuple[str, str, TokenUsage]]:
    return [
        ("anthropic", "claude-sonnet-4-5", anthropic_usage(
            {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 8000,
             "cache_creation_input_tokens": 2000})),
        ("openai", "gpt-4o", TokenUsage.from_openai(
            {"prompt_tokens": 10100, "completion_tokens": 50,
             "prompt_tokens_details": {"cached_tokens": 8000}})),
        ("openai-responses", "gpt-5", TokenUsage.from_openai(
            {"input_tokens": 10100, "output_tokens": 50, "input_tokens_details": {"cached_tokens": 8000}})),
        ("gemini", "gemini-2.5-pro", gemini_usage(
            {"promptTokenCount": 10100, "candidatesTokenCount": 50, "cachedContentTokenCount": 8000})),
        ("deepseek", "deepseek-chat", TokenUsage.from_openai(
            {"prompt_tokens": 10100, "completion_tokens": 50, "prompt_cache_hit_tokens": 8000,
             "prompt_cache_miss_tokens": 2100})),
    ]


@pytest.mark.parametrize(("vendor", "model", "usage"), _vendor_usages(), ids=lambda value: str(value)[:16])
def test_cache_tokens_are_billed_at_their_own_ratios(vendor: str, model: str,
                                                     usage: TokenUsage | None) -> None:
    assert usage is not None and usage.cached_tokens == 8000
    price = price_for(model, "default")
    read, write = cache_ratios(model)
    plain = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    prompt = plain + 8000 * read + usage.cache_write_tokens * write
    expected = math.ceil((prompt + 50 * price.completion_ratio) * price.ratio - 1e-9)
    quota = price.text_quota(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
                             usage.cache_write_tokens)
    assert quota == expected
    assert quota < price.text_quota(usage.prompt_tokens, usage.completion_tokens)  # cheaper than plain input
    published = {"anthropic": (0.1, 1.25), "openai": (0.5, 1.0), "openai-responses": (0.1, 1.0),
                 "gemini": (0.25, 1.0), "deepseek": (0.2593, 1.0)}[vendor]
    assert (read, write) == published
    if vendor == "anthropic":
        assert usage.prompt_tokens == 10100 and usage.cache_write_tokens == 2000


def test_cache_ratios_are_editable_per_model_and_channel_type() -> None:
    assert cache_ratios("claude-opus-4-8") == (0.1, 1.25)  # a new model inherits its family's ratios
    assert cache_ratios("gemini-3-pro") == (0.1, 1.0) and cache_ratios("llama-3") == (1.0, 1.0)
    options.replace({"CacheRatio": '{"claude-opus-4-8": 0.2, "llama-3(30)": 0.5}',
                     "CreateCacheRatio": '{"claude-opus-4-8": 2}'})
    assert cache_ratios("claude-opus-4-8") == (0.2, 2.0)
    assert cache_ratios("llama-3", channel_type=30) == (0.5, 1.0)
    price = price_for("claude-opus-4-8", "default")
    assert (price.cache_ratio, price.create_cache_ratio) == (0.2, 2.0)
    assert price.cache_description().endswith("cache read ratio 0.2, cache write ratio 2")
    table = effective_table()
    assert table["CacheRatio"]["claude-opus-4-8"] == 0.2 and table["CreateCacheRatio"]["claude"] == 1.25
