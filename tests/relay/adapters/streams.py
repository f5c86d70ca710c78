"""Helpers for stream-conversion tests: build vendor streams, read OpenAI chunks back."""

from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ("anthropic_events", "chunks_of", "feed_in_pieces", "sse_payloads")


class Converter(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


def anthropic_events(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events)


def feed_in_pieces(converter: Converter, data: bytes, size: int) -> bytes:
    """Feed ``data`` in ``size``-byte reads, as a slow network would deliver it."""
    out = b"".join(converter.feed(data[start:start + size]) for start in range(0, len(data), size))
    return out + converter.finish()


def sse_payloads(data: bytes) -> list[tuple[str, str]]:
    """(event name, data) of each server-sent event."""
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        name = ""
        payload = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                payload.append(line[6:])
        events.append((name, "\n".join(payload)))
    return events


def chunks_of(data: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The JSON chunks of an OpenAI stream and whether it ended with ``[DONE]``."""
    payloads = [payload for _, payload in sse_payloads(data)]
    done = bool(payloads) and payloads[-1] == "[DONE]"
    return [json.loads(payload) for payload in payloads if payload != "[DONE]"], done
