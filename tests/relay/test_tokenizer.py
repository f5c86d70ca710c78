"""Local token counts are OpenAI's exact ones (reference values from tiktoken's encodings)."""

from __future__ import annotations

import pytest

from oneapi.relay.tokenizer import count_messages, count_text

# (text, cl100k_base count, o200k_base count): as tiktoken (and bpe-openai) count them
EXACT = [
    ("hello world", 2, 2),
    ("日本語のテキストと中文和한국어 😀👍🏽", 23, 15),
    ("def f(x):\n    return x**2  # code\n", 13, 13),
    ("<|endoftext|> is text here", 10, 10),  # a special token's look-alike is counted as text
    (" " * 300, 3, 3),
]


@pytest.mark.parametrize(("text", "cl100k", "o200k"), EXACT)
def test_counts_match_openai_encodings(text: str, cl100k: int, o200k: int) -> None:
    assert count_text(text, "gpt-4") == cl100k
    assert count_text(text, "gpt-4o-mini") == o200k
    assert count_text(text, "some-other-model") == cl100k


def test_chat_messages_add_openai_overhead() -> None:
    messages = [{"role": "user", "content": "hello world"}]
    # 3 priming + 3 per message + "user" (1) + "hello world" (2)
    assert count_messages(messages, "gpt-4o") == 3 + 3 + 1 + 2
    assert count_text("", "gpt-4o") == 0
