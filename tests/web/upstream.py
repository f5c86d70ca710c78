"""A real OpenAI-format upstream on 127.0.0.1 for the browser tests: chat completions
(JSON, or SSE with a usage chunk when ``stream`` is set), the model list and the legacy
billing endpoints that report a key's balance."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ("ANSWER", "BALANCE_LIMIT_USD", "BALANCE_USED_CENTS", "MODELS", "openai_upstream")

ANSWER = "Hello from the mock upstream."
MODELS = ("gpt-4o-mini", "gpt-4o")
BALANCE_LIMIT_USD, BALANCE_USED_CENTS = 120.0, 2050  # a balance of $99.50


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return

    def _send_json(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path.endswith("/dashboard/billing/subscription"):  # OpenAI's legacy billing API
            self._send_json(200, {"object": "billing_subscription", "hard_limit_usd": BALANCE_LIMIT_USD})
        elif path.endswith("/dashboard/billing/usage"):
            self._send_json(200, {"object": "list", "total_usage": BALANCE_USED_CENTS})
        elif path.endswith("/models"):
            models = [{"id": model, "object": "model", "created": 1700000000, "owned_by": "mock"}
                      for model in MODELS]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            self._send_json(401, {"error": {"message": "missing key", "type": "invalid_request_error"}})
            return
        model = body.get("model", "gpt-4o-mini")
        usage = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
        created = int(time.time())
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": created,
                    "model": model}
            events = [
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ANSWER},
                                      "finish_reason": None}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {**base, "choices": [], "usage": usage},
            ]
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True
            return
        self._send_json(200, {
            "id": "chatcmpl-mock", "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                         "finish_reason": "stop"}],
            "usage": usage,
        })


@contextmanager
def openai_upstream() -> Iterator[str]:
    """Serve the mock upstream on a free port; yields its base URL (without ``/v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
