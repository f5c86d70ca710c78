"""Short-lived codes sent by email: registration / binding codes and password-reset tokens.

As one-api, the codes live in this process's memory with their expiry
(:data:`VALID_SECONDS`, one-api's 10 minutes) and are keyed by purpose and address. Unlike
one-api, a code works once: the check that accepts it removes it, so a code that was
read from a mailbox, used, and later leaked is worthless. It is compared in constant time,
and :data:`MAX_WRONG` wrong guesses for one address discard the code, so the six
characters of a code cannot be guessed one try at a time within its ten minutes.

Each replica keeps its own codes: behind several replicas, the user's next request must
reach the replica that sent the mail (sticky sessions), which is the one deployment
constraint of this choice. Issuing a new code for an address replaces the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection

from oneapi.security import constant_time_equal, generate_code

__all__ = ("EMAIL_VERIFICATION", "MAX_WRONG", "PASSWORD_RESET", "VALID_SECONDS", "CodeBook", "email_codes")

EMAIL_VERIFICATION = "v"
PASSWORD_RESET = "r"
VALID_SECONDS = 10 * 60
MAX_WRONG = 5
MAX_CODES = 100_000  # beyond this, expired codes are dropped before a new one is kept


@dataclass(slots=True)
class _Code:
    value: str
    expires: float
    wrong: int = 0


class CodeBook:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 valid_seconds: float = VALID_SECONDS) -> None:
        self._clock = clock
        self.valid_seconds = valid_seconds
        self._codes: dict[tuple[str, str], _Code] = {}

    def issue(self, purpose: str, address: str, length: int) -> str:
        """A fresh random code for ``address``, replacing any earlier one for the same purpose."""
        now = self._clock()
        if len(self._codes) >= MAX_CODES:
            self._codes = {key: code for key, code in self._codes.items() if code.expires > now}
        value = generate_code(length)
        self._codes[(purpose, address.lower())] = _Code(value, now + self.valid_seconds)
        return value

    def consume(self, purpose: str, address: str, value: str) -> bool:
        """Whether ``value`` is the live code for ``address``; a match is used up."""
        key = (purpose, address.lower())
        code = self._codes.get(key)
        if code is None:
            return False
        if self._clock() >= code.expires:
            del self._codes[key]
            return False
        if not constant_time_equal(code.value, value):
            code.wrong += 1
            if code.wrong >= MAX_WRONG:
                del self._codes[key]
            return False
        del self._codes[key]
        return True


def email_codes(connection: ASGIConnection[Any, Any, Any, Any]) -> CodeBook:
    """The runtime's code book (made by ``oneapi.api.routes.install_management``)."""
    return connection.app.state.runtime.state["email_codes"]  # type: ignore[no-any-return]
