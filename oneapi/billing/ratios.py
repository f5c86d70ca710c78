"""Price ratios: the built-in table and the admin's overrides in the options table.

One API's unit: 500,000 quota = $1, and model ratio 1 = $0.002 per 1K prompt tokens
($2 per 1M). ``ModelRatio``, ``CompletionRatio`` and ``GroupRatio`` options hold JSON
objects; an empty option means "use the built-in table". Lookup order follows one-api:
``"model(channel_type)"`` in the option, the option's plain ``model``, the built-in
table, then the longest built-in prefix (so dated snapshots inherit their family's price).

Prompt caching: cached prompt tokens are charged at their own ratios of the input
price, ``CacheRatio`` for cache reads and ``CreateCacheRatio`` for cache writes (the
option names new-api uses), looked up the same way. The built-in values are the vendors'
published prices: Anthropic reads 0.1x and (5-minute) writes 1.25x; OpenAI's cached
input 0.5x (gpt-4o, o1, o3-mini), 0.25x (gpt-4.1, o3, o4-mini) and 0.1x (gpt-5); Gemini
0.25x (1.5, 2.0, 2.5) and 0.1x (3); DeepSeek's cache-hit price (0.07 of 0.27, 0.14 of
0.55). Vendors that do not bill writes apart keep write ratio 1 (plain input).
"""

from __future__ import annotations

import logging
from typing import Any

from oneapi.options import OptionStore, options

__all__ = (
    "DEFAULT_CACHE_RATIO",
    "DEFAULT_COMPLETION_RATIO",
    "DEFAULT_CREATE_CACHE_RATIO",
    "DEFAULT_MODEL_RATIO",
    "UNKNOWN_MODEL_RATIO",
    "cache_ratios",
    "channel_priced",
    "completion_ratio",
    "effective_table",
    "group_ratio",
    "model_ratio",
)

log = logging.getLogger("oneapi.billing")

QUOTA_PER_UNIT = 500_000
UNKNOWN_MODEL_RATIO = 30.0  # one-api charges unknown models as an expensive model
_USD_PER_1M = 0.5  # ratio per $1 per 1M prompt tokens

# $ per 1M prompt tokens, turned into ratios below; completion prices are ratios of these.
_PROMPT_USD_PER_1M: dict[str, float] = {
    "gpt-4o": 2.5, "gpt-4o-mini": 0.15, "gpt-4.1": 2.0, "gpt-4.1-mini": 0.4, "gpt-4.1-nano": 0.1,
    "gpt-4-turbo": 10.0, "gpt-4": 30.0, "gpt-3.5-turbo": 0.5, "o1": 15.0, "o1-mini": 1.1, "o3": 2.0,
    "o3-mini": 1.1, "o4-mini": 1.1, "gpt-5": 1.25, "gpt-5-mini": 0.25, "gpt-5-nano": 0.05,
    "text-embedding-3-small": 0.02, "text-embedding-3-large": 0.13, "text-embedding-ada-002": 0.1,
    "omni-moderation-latest": 0.0, "text-moderation-latest": 0.0, "whisper-1": 15.0, "tts-1": 7.5,
    "tts-1-hd": 15.0, "dall-e-2": 10.0, "dall-e-3": 20.0, "gpt-image-1": 5.0,
    "claude-3-haiku": 0.25, "claude-3-5-haiku": 0.8, "claude-haiku-4-5": 1.0, "claude-3-5-sonnet": 3.0,
    "claude-3-7-sonnet": 3.0, "claude-sonnet-4": 3.0, "claude-sonnet-4-5": 3.0, "claude-3-opus": 15.0,
    "claude-opus-4": 15.0,
    "gemini-1.5-flash": 0.075, "gemini-1.5-pro": 1.25, "gemini-2.0-flash": 0.1,
    "gemini-2.0-flash-lite": 0.075,
    "gemini-2.5-flash": 0.3, "gemini-2.5-pro": 1.25, "text-embedding-004": 0.0,
    "deepseek-chat": 0.27, "deepseek-reasoner": 0.55, "glm-4": 14.0, "glm-4-plus": 7.0, "glm-4-air": 0.14,
    "glm-4-flash": 0.0, "moonshot-v1-8k": 1.7, "moonshot-v1-32k": 3.4, "moonshot-v1-128k": 8.5,
    "mistral-large-latest": 2.0, "mistral-small-latest": 0.2, "mistral-embed": 0.1,
    "llama-3.3-70b-versatile": 0.59, "llama-3.1-8b-instant": 0.05, "grok-2": 2.0, "grok-3": 3.0,
    "grok-3-mini": 0.3, "qwen-turbo": 0.05, "qwen-plus": 0.4, "qwen-max": 1.6,
}

DEFAULT_MODEL_RATIO: dict[str, float] = {
    model: round(price * _USD_PER_1M, 6) for model, price in _PROMPT_USD_PER_1M.items()
}

DEFAULT_COMPLETION_RATIO: dict[str, float] = {
    "gpt-4o": 4, "gpt-4o-mini": 4, "gpt-4.1": 4, "gpt-4.1-mini": 4, "gpt-4.1-nano": 4, "gpt-4-turbo": 3,
    "gpt-4": 2, "gpt-3.5-turbo": 3, "o1": 4, "o1-mini": 4, "o3": 4, "o3-mini": 4, "o4-mini": 4,
    "gpt-5": 8, "gpt-5-mini": 8, "gpt-5-nano": 8,
    "claude-3-haiku": 5, "claude-3-5-haiku": 5, "claude-haiku-4-5": 5, "claude-3-5-sonnet": 5,
    "claude-3-7-sonnet": 5, "claude-sonnet-4": 5, "claude-sonnet-4-5": 5, "claude-3-opus": 5,
    "claude-opus-4": 5,
    "gemini-1.5-flash": 4, "gemini-1.5-pro": 4, "gemini-2.0-flash": 4, "gemini-2.0-flash-lite": 4,
    "gemini-2.5-flash": 8.33, "gemini-2.5-pro": 8,
    "deepseek-chat": 4, "deepseek-reasoner": 4, "mistral-large-latest": 3, "mistral-small-latest": 3,
    "grok-2": 5, "grok-3": 5, "grok-3-mini": 1.67, "qwen-turbo": 4, "qwen-plus": 3, "qwen-max": 4,
    "llama-3.3-70b-versatile": 1.34, "llama-3.1-8b-instant": 1.6,
}

# cache reads, as a ratio of the input price (families by prefix)
DEFAULT_CACHE_RATIO: dict[str, float] = {
    "claude": 0.1,
    "gpt-4o": 0.5, "gpt-4o-mini": 0.5, "o1": 0.5, "o1-mini": 0.5, "o3-mini": 0.5,
    "gpt-4.1": 0.25, "o3": 0.25, "o4-mini": 0.25,
    "gpt-5": 0.1,
    "gemini-1.5": 0.25, "gemini-2.0": 0.25, "gemini-2.5": 0.25, "gemini-3": 0.1,
    "deepseek-chat": round(0.07 / 0.27, 4), "deepseek-reasoner": round(0.14 / 0.55, 4),
}
# cache writes (Anthropic's five-minute cache; the one-hour cache costs 2x)
DEFAULT_CREATE_CACHE_RATIO: dict[str, float] = {"claude": 1.25}

_DEFAULT_GROUP_RATIO = {"default": 1.0, "vip": 1.0, "svip": 1.0}


def _lookup(table: dict[str, Any], model: str, channel_type: int | None) -> float | None:
    if channel_type is not None:
        value = table.get(f"{model}({channel_type})")
        if value is not None:
            return float(value)
    value = table.get(model)
    return float(value) if value is not None else None


_PER_MODEL_OPTIONS = ("ModelRatio", "CompletionRatio", "CacheRatio", "CreateCacheRatio")


def channel_priced(model: str, store: OptionStore = options) -> frozenset[int]:
    """The channel types with a ``model(type)`` entry of their own in any ratio table."""
    prefix = f"{model}("
    found = set()
    for option in _PER_MODEL_OPTIONS:
        for key in store.get_json(option, {}) or {}:
            inside = key[len(prefix):-1] if key.startswith(prefix) and key.endswith(")") else ""
            if inside.isdigit():
                found.add(int(inside))
    return frozenset(found)


def _longest_prefix(table: dict[str, float], model: str) -> float | None:
    best = ""
    for name in table:
        if model.startswith(name) and len(name) > len(best):
            best = name
    return table[best] if best else None


def model_ratio(model: str, channel_type: int | None = None, store: OptionStore = options) -> float:
    """The model's ratio; unknown models cost ``UNKNOWN_MODEL_RATIO`` and are logged."""
    found = _lookup(store.get_json("ModelRatio", {}) or {}, model, channel_type)
    if found is None:
        found = DEFAULT_MODEL_RATIO.get(model)
    if found is None:
        found = _longest_prefix(DEFAULT_MODEL_RATIO, model)
    if found is None:
        log.warning("model %r has no price ratio; charging ratio %s (set it in ModelRatio)", model,
                    UNKNOWN_MODEL_RATIO)
        return UNKNOWN_MODEL_RATIO
    return found


def _per_model(option: str, defaults: dict[str, float], model: str, channel_type: int | None,
               store: OptionStore) -> float:
    found = _lookup(store.get_json(option, {}) or {}, model, channel_type)
    if found is None:
        found = defaults.get(model)
    if found is None:
        found = _longest_prefix(defaults, model)
    return 1.0 if found is None else found


def completion_ratio(model: str, channel_type: int | None = None, store: OptionStore = options) -> float:
    """How much more a completion token costs than a prompt token (1 when unknown)."""
    return _per_model("CompletionRatio", DEFAULT_COMPLETION_RATIO, model, channel_type, store)


def cache_ratios(model: str, channel_type: int | None = None,
                 store: OptionStore = options) -> tuple[float, float]:
    """The (cache read, cache write) ratios of the input price; 1 (plain input) when unknown."""
    return (_per_model("CacheRatio", DEFAULT_CACHE_RATIO, model, channel_type, store),
            _per_model("CreateCacheRatio", DEFAULT_CREATE_CACHE_RATIO, model, channel_type, store))


def group_ratio(group: str, store: OptionStore = options) -> float:
    table = store.get_json("GroupRatio", None)
    if not isinstance(table, dict):
        table = _DEFAULT_GROUP_RATIO
    value = table.get(group)
    return float(value) if value is not None else 1.0


def effective_table(store: OptionStore = options) -> dict[str, dict[str, float]]:
    """The price table an admin sees: built-in values with the options laid over them."""
    group_table = store.get_json("GroupRatio", None)
    if not isinstance(group_table, dict):
        group_table = dict(_DEFAULT_GROUP_RATIO)
    return {"ModelRatio": _laid_over(DEFAULT_MODEL_RATIO, "ModelRatio", store),
            "CompletionRatio": _laid_over(DEFAULT_COMPLETION_RATIO, "CompletionRatio", store),
            "CacheRatio": _laid_over(DEFAULT_CACHE_RATIO, "CacheRatio", store),
            "CreateCacheRatio": _laid_over(DEFAULT_CREATE_CACHE_RATIO, "CreateCacheRatio", store),
            "GroupRatio": {k: float(v) for k, v in group_table.items()}}


def _laid_over(defaults: dict[str, float], option: str, store: OptionStore) -> dict[str, float]:
    return {**defaults, **{k: float(v) for k, v in (store.get_json(option, {}) or {}).items()}}
