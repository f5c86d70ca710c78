"""What a request costs, in quota units, by one-api's formulas (reference §3.4).

Text: ``ceil((prompt + completion * completion_ratio) * model_ratio * group_ratio)``,
at least 1 when the price is not zero and some tokens were used, where the prompt's
cached tokens count at their own ratios, as new-api bills them:
``prompt = uncached + cache_reads * cache_ratio + cache_writes * create_cache_ratio``.
Images: ``model_ratio * group_ratio * size_ratio * 1000`` per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from oneapi.billing.ratios import cache_ratios, channel_priced, completion_ratio, group_ratio, model_ratio
from oneapi.options import options

__all__ = ("Price", "image_size_ratio", "price_for")

# dall-e's price steps by size; one-api's table
_IMAGE_SIZE_RATIO: dict[str, dict[str, float]] = {
    "dall-e-2": {"256x256": 1.0, "512x512": 1.125, "1024x1024": 1.25},
    "dall-e-3": {"1024x1024": 1.0, "1024x1792": 2.0, "1792x1024": 2.0},
}


@dataclass(frozen=True, slots=True)
class Price:
    model_ratio: float
    completion_ratio: float
    group_ratio: float
    cache_ratio: float = 1.0  # cache reads, of the input price
    create_cache_ratio: float = 1.0  # cache writes, of the input price
    #: channel types whose own entries (``model(type)``) change this price; see :meth:`for_channel`
    channel_types: frozenset[int] = field(default=frozenset(), compare=False, repr=False)
    description: str = field(init=False, compare=False, repr=False)  # the log row's content

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"model ratio {self.model_ratio:g}, group ratio "
                           f"{self.group_ratio:g}, completion ratio {self.completion_ratio:g}")

    def cache_description(self) -> str:
        """The log row's content when cached tokens were billed at their own ratios."""
        return (f"{self.description}, cache read ratio {self.cache_ratio:g}, cache write ratio "
                f"{self.create_cache_ratio:g}")

    def for_channel(self, model: str, group: str, channel_type: int) -> Price:
        """This price (``price_for(model, group)``'s) as a channel of ``channel_type`` charges it:
        itself, unless the options price the model on that channel type on its own."""
        return price_for(model, group, channel_type) if channel_type in self.channel_types else self

    @property
    def ratio(self) -> float:
        return self.model_ratio * self.group_ratio

    def text_quota(self, prompt_tokens: int, completion_tokens: int, cache_read: int = 0,
                   cache_write: int = 0) -> int:
        """``prompt_tokens`` includes the cached ones (``cache_read`` and ``cache_write``)."""
        if prompt_tokens + completion_tokens <= 0:
            return 0
        prompt = (max(prompt_tokens - cache_read - cache_write, 0) + cache_read * self.cache_ratio
                  + cache_write * self.create_cache_ratio)
        raw = (prompt + completion_tokens * self.completion_ratio) * self.ratio
        if raw <= 0:
            return 0
        return max(1, math.ceil(raw - 1e-9))

    def image_quota(self, model: str, size: str, quality: str, count: int) -> int:
        raw = self.ratio * image_size_ratio(model, size, quality) * 1000 * max(count, 1)
        return max(1, math.ceil(raw - 1e-9)) if raw > 0 else 0


_memo: dict[tuple[int, str, str, int | None], Price] = {}
_MEMO_LIMIT = 4096


def price_for(model: str, group: str, channel_type: int | None = None) -> Price:
    """The ratios for a request, memoised until the options change (they hold the tables)."""
    key = (options.version, model, group, channel_type)
    price = _memo.get(key)
    if price is None:
        if len(_memo) >= _MEMO_LIMIT:
            _memo.clear()
        own = channel_priced(model) if channel_type is None else frozenset()
        price = _memo[key] = Price(model_ratio(model, channel_type), completion_ratio(model, channel_type),
                                   group_ratio(group), *cache_ratios(model, channel_type), channel_types=own)
    return price


def image_size_ratio(model: str, size: str, quality: str = "") -> float:
    """The size multiplier; dall-e-3 "hd" doubles 1024x1024 and adds half to larger sizes."""
    table = _IMAGE_SIZE_RATIO.get(model, {})
    ratio = table.get(size, 1.0)
    if model == "dall-e-3" and quality == "hd":
        ratio *= 2.0 if size == "1024x1024" else 1.5
    return ratio
