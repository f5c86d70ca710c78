"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and a local
Cloudflare Turnstile siteverify endpoint, for the account email tests."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

__all__ = ("Mailbox", "TurnstileMock", "mailbox", "turnstile_mock")


class Mailbox:
    """The aiosmtpd handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait(self, count: int, timeout: float = 10.0) -> EmailMessage:
        """The ``count``-th message (1-based), waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no message #{count} within {timeout} s"
                self._arrived.wait(left)
            return self.messages[count - 1]

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(("html", "plain"))
        assert part is not None
        return str(part.get_content())

    def code(self, count: int) -> str:
        found = re.search(r"<strong>(\w+)</strong>", self.body(self.wait(count)))
        assert found, self.body(self.wait(count))
        return found.group(1)


@contextmanager
def mailbox(**smtp: Any) -> Iterator[tuple[Mailbox, int]]:
    """A server on a free port; ``smtp`` goes to aiosmtpd's ``SMTP`` (STARTTLS, authentication)."""
    box = Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so port 0 will not do
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class TurnstileMock:
    """Cloudflare's siteverify, strictly: a form POST with ``secret`` and ``response``; it answers
    ``{"success": true}`` only for :attr:`good` answers under :attr:`secret`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.good: set[str] = set()
        self.calls: list[dict[str, list[str]]] = []


@contextmanager
def turnstile_mock(secret: str) -> Iterator[tuple[TurnstileMock, str]]:
    mock = TurnstileMock(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            if self.path != "/turnstile/v0/siteverify" or not self.headers.get(
                    "content-type", "").startswith("application/x-www-form-urlencoded"):
                self.send_error(400)
                return
            form = parse_qs(self.rfile.read(length).decode())
            mock.calls.append(form)
            errors = []
            if form.get("secret") != [mock.secret]:
                errors.append("invalid-input-secret")
            if not form.get("response"):
                errors.append("missing-input-response")
            elif form["response"][0] not in mock.good:
                errors.append("invalid-input-response")
            body = json.dumps({"success": not errors, "error-codes": errors}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mock, f"http://127.0.0.1:{server.server_address[1]}/turnstile/v0/siteverify"
    finally:
        server.shutdown()
        server.server_close()
