"""One-api's pricing rules: ratios, their option overrides, and what a request costs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oneapi.billing.pricing import Price, price_for
from oneapi.billing.ratios import UNKNOWN_MODEL_RATIO, completion_ratio, group_ratio, model_ratio
from oneapi.options import DEFAULT_OPTIONS, options


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
