"""Short-lived codes sent by email: registration / binding codes and password-reset tokens.

A code is keyed by purpose and address and expires after :data:`VALID_SECONDS` (one-api's
10 minutes). Unlike one-api, a code works once: the check that accepts it removes it, so a
code that was read from a mailbox, used, and later leaked is worthless. It is compared in
constant time, and :data:`MAX_WRONG` wrong guesses for one address discard the code, so
the six characters of a code cannot be guessed one try at a time within its ten minutes.
Issuing a new code for an address replaces the previous one.

Where codes live: one-api keeps them in its process's memory, which breaks behind several
replicas (the mail is sent by one, the code checked by another). So with Redis configured
(``REDIS_CONN_STRING``) they are kept there, as a hash per address with the code's expiry,
and every replica sees them; the removal on a match is one Lua step, so two replicas given
the same code at once accept it once. Without Redis, or while it is down, they are kept in
this process's memory, as in one-api.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection

from oneapi.api.context import management
from oneapi.redis_state import RedisUnavailable, Script
from oneapi.security import constant_time_equal, generate_code

if TYPE_CHECKING:
    from oneapi.redis_state import SharedState

__all__ = ("EMAIL_VERIFICATION", "MAX_WRONG", "OAUTH_STATE", "PASSWORD_RESET", "VALID_SECONDS", "CodeBook",
           "email_codes")

EMAIL_VERIFICATION = "v"
PASSWORD_RESET = "r"
OAUTH_STATE = "o"  # not mailed: a sign-in's state, kept per browser (oneapi.api.oauth)
VALID_SECONDS = 10 * 60
MAX_WRONG = 5
MAX_CODES = 100_000  # beyond this, expired codes are dropped before a new one is kept

# Remove the code if it is still the one the caller matched (1 when removed).
_TAKE = Script("""
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
# Count a wrong guess on a live code; the last allowed one removes it.
_WRONG = Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], 'w', 1) >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return 1
""")


@dataclass(slots=True)
class _Code:
    value: str
    expires: float
    wrong: int = 0


class CodeBook:
    def __init__(self, shared: SharedState | None = None, clock: Callable[[], float] = time.monotonic,
                 valid_seconds: float = VALID_SECONDS) -> None:
        self._shared = shared
        self._clock = clock
        self.valid_seconds = valid_seconds
        self._codes: dict[tuple[str, str], _Code] = {}

    def _key(self, purpose: str, address: str) -> str:
        assert self._shared is not None
        return self._shared.key("email-code", purpose, address.lower())

    async def issue(self, purpose: str, address: str, length: int) -> str:
        """A fresh random code for ``address``, replacing any earlier one for the same purpose."""
        value = generate_code(length)
        if self._shared is not None:
            key, ttl_ms = self._key(purpose, address), int(self.valid_seconds * 1000)

            async def store(client: Any) -> None:
                async with client.pipeline(transaction=True) as pipe:
                    pipe.delete(key).hset(key, mapping={"v": value, "w": 0}).pexpire(key, ttl_ms)
                    await pipe.execute()

            try:
                await self._shared.call(store)
                return value
            except RedisUnavailable:
                pass
        now = self._clock()
        if len(self._codes) >= MAX_CODES:
            self._codes = {key: code for key, code in self._codes.items() if code.expires > now}
        self._codes[(purpose, address.lower())] = _Code(value, now + self.valid_seconds)
        return value

    async def consume(self, purpose: str, address: str, value: str) -> bool:
        """Whether ``value`` is the live code for ``address``; a match is used up."""
        if self._shared is not None:
            try:
                return await self._consume_shared(self._key(purpose, address), value)
            except RedisUnavailable:
                pass
        return self._consume_local((purpose, address.lower()), value)

    async def _consume_shared(self, key: str, value: str) -> bool:
        assert self._shared is not None
        stored = await self._shared.call(lambda client: client.hget(key, "v"))
        if stored is None:
            return False
        stored_text = stored.decode() if isinstance(stored, bytes) else stored
        if constant_time_equal(stored_text, value):
            return bool(await self._shared.run(_TAKE, [key], [stored_text]))
        await self._shared.run(_WRONG, [key], [MAX_WRONG])
        return False

    def _consume_local(self, key: tuple[str, str], value: str) -> bool:
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
    """The app's code book (made by ``oneapi.api.routes.install_management``)."""
    return management(connection).email_codes
