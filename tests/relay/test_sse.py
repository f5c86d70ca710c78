"""The SSE pass-through on its own: boundaries, usage sniffing, hidden and dropped chunks."""

from __future__ import annotations

import json

from oneapi.relay.sse import OpenAIEventStream


def _event(document: object) -> bytes:
    return b"data: " + json.dumps(document).encode() + b"\n\n"


WORD = _event({"choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None})
USAGE = _event({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}})
DONE = b"data: [DONE]\n\n"


def _run(stream: OpenAIEventStream, data: bytes, step: int) -> bytes:
    out = b"".join(stream.feed(data[i:i + step]) for i in range(0, len(data), step))
    return out + stream.finish()


def test_bytes_pass_unchanged_across_any_split() -> None:
    data = WORD * 3 + USAGE + DONE
    for step in (1, 7, 64, len(data)):
        stream = OpenAIEventStream(hide_usage_chunk=False)
        assert _run(stream, data, step) == data
        assert stream.usage is not None and (stream.usage.prompt_tokens,
                                             stream.usage.completion_tokens) == (3, 1)


def test_usage_chunk_is_hidden_when_the_client_did_not_ask() -> None:
    stream = OpenAIEventStream(hide_usage_chunk=True)
    assert _run(stream, WORD + USAGE + DONE, 5) == WORD + DONE
    assert stream.usage is not None


def test_crlf_events_and_text_for_counting() -> None:
    stream = OpenAIEventStream(hide_usage_chunk=True)
    out = _run(stream, (WORD * 2 + DONE).replace(b"\n", b"\r\n"), 3)
    assert out == WORD * 2 + DONE and stream.usage is None and stream.produced_text() == "hihi"


def test_azure_filter_chunks_are_dropped_and_responses_usage_is_read() -> None:
    azure = OpenAIEventStream(hide_usage_chunk=True, drop_empty_choices=True)
    prompt_filter = _event({"choices": [], "prompt_filter_results": []})
    assert _run(azure, prompt_filter + WORD + DONE, 1000) == WORD + DONE
    responses = OpenAIEventStream(hide_usage_chunk=False)
    done = b"event: response.completed\n" + _event({"type": "response.completed", "response": {
        "usage": {"input_tokens": 4, "output_tokens": 2}}})
    assert _run(responses, done, 9) == done
    assert responses.usage is not None and responses.usage.completion_tokens == 2
