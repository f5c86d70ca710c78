"""Structured logging to stdout, one line per event, with the request id.

Lines are ``key=value`` pairs (``ts``, ``level``, ``logger``, ``request_id``, ``msg``) so
container hosts' log viewers stay readable and log shippers can still parse them. The
request id comes from a context variable set by the request-id middleware. Every message
passes :func:`oneapi.security.mask_secrets` (credential patterns), the last guard against
a key that some code path logged.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time

from oneapi.security import mask_secrets

__all__ = ("configure_logging", "request_id_var")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = mask_secrets(record.getMessage()).replace("\n", "\\n")
        line = (f"ts={stamp}.{int(record.msecs):03d}Z level={record.levelname} logger={record.name} "
                f"request_id={request_id_var.get()} msg={message!r}")
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send every logger to stdout in the key=value format (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_oneapi", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_KeyValueFormatter())
    handler._oneapi = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("alembic.runtime.plugins", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True
