"""OpenAI chat completions and image generations ⇄ Replicate predictions.

A prediction is created with the model's ``input``: for language models one-api's prompt
(``role: content`` lines) with ``max_tokens`` (500 unless asked), ``temperature``, ``top_p``
and the penalties; for image models the prompt and an aspect ratio from ``size``. The
finished prediction's ``output`` is a list of text pieces (language models) or of file URLs
(image models); ``metrics`` carries token counts. A prediction that failed, was canceled or
is still running is an error here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.formats.chat import (
    chat_completion,
    content_text,
    max_tokens_of,
    reject_unsupported,
    stop_list,
)
from oneapi.relay.formats.events import TokenUsage

__all__ = ("chat_to_replicate", "image_to_replicate", "replicate_to_chat", "replicate_to_images")

VENDOR = "Replicate"
DEFAULT_MAX_TOKENS = 500
_UNSUPPORTED = ("n", "logprobs", "top_logprobs", "logit_bias", "audio", "modalities", "prediction", "tools",
                "functions", "response_format", "web_search_options")
_SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed")


def chat_to_replicate(document: Mapping[str, Any]) -> dict[str, Any]:
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    lines = [f"{m.get('role')}: {content_text(m.get('content'))}" for m in document.get("messages") or ()
             if isinstance(m, dict)]
    if not lines:
        raise InvalidRequest("messages must not be empty", param="messages")
    inputs: dict[str, Any] = {"prompt": "\n".join(lines) + "\n",
                              "max_tokens": max_tokens_of(document) or DEFAULT_MAX_TOKENS}
    inputs.update({name: document[name] for name in _SAMPLING if document.get(name) is not None})
    if stops := stop_list(document.get("stop")):
        inputs["stop_sequences"] = ",".join(stops)
    return {"input": inputs}


def image_to_replicate(document: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(document.get("prompt"), str) or not document["prompt"]:
        raise InvalidRequest("prompt is required", param="prompt")
    inputs: dict[str, Any] = {"prompt": document["prompt"]}
    width, _, height = str(document.get("size") or "").partition("x")
    if width.isdigit() and height.isdigit():
        inputs.update(width=int(width), height=int(height))
    return {"input": inputs}


def _finished(prediction: Mapping[str, Any]) -> Mapping[str, Any]:
    status = prediction.get("status")
    if status == "succeeded":
        return prediction
    if status in ("failed", "canceled"):
        raise UpstreamError(f"{VENDOR} prediction {status}: {prediction.get('error') or 'no reason given'}")
    raise UpstreamError(f"{VENDOR} prediction {prediction.get('id')} did not finish within the wait "
                        f"({status})")


def replicate_to_chat(prediction: Mapping[str, Any], model: str) -> dict[str, Any]:
    prediction = _finished(prediction)
    output = prediction.get("output")
    text = "".join(map(str, output)) if isinstance(output, list) else str(output or "")
    metrics = prediction.get("metrics") or {}
    usage = None
    if "input_token_count" in metrics or "output_token_count" in metrics:
        usage = TokenUsage(prompt_tokens=int(metrics.get("input_token_count") or 0),
                           completion_tokens=int(metrics.get("output_token_count") or 0)).openai()
    reply = {"role": "assistant", "content": text}
    response_id = f"chatcmpl-{prediction.get('id') or uuid.uuid4().hex[:24]}"
    return chat_completion(response_id, model, int(time.time()),
                           [{"index": 0, "message": reply, "logprobs": None, "finish_reason": "stop"}], usage)


def replicate_to_images(prediction: Mapping[str, Any]) -> dict[str, Any]:
    output = _finished(prediction).get("output")
    urls = output if isinstance(output, list) else [output]
    return {"created": int(time.time()), "data": [{"url": str(url)} for url in urls if url]}
