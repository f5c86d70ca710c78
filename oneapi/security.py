"""Passwords, secrets and keys.

Passwords use bcrypt, so hashes written by one-api verify here and ours verify there.
Checking a password costs one bcrypt run at :data:`BCRYPT_ROUNDS` whether or not the user
exists: an unknown name (or a row with no usable hash) is checked against a fixed hash of
the same cost, so the answer's timing does not tell which names exist (before this, an
unknown name answered in 2 ms and a wrong password in 190 ms). One-api writes cost-10
hashes, four times cheaper to check; :func:`password_needs_rehash` lets a login upgrade them.
Every secret comparison is constant-time, and every key shown to a person or a log
line goes through :func:`mask_key`. Text that came from an upstream (its error messages
echo keys: "Incorrect API key provided: Bearer sk-...") goes through :func:`mask_secrets`
before it reaches a client, a log line, a channel-test answer or the logs table.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
from collections.abc import Iterable

import bcrypt

__all__ = (
    "constant_time_equal",
    "generate_access_token",
    "generate_aff_code",
    "generate_code",
    "generate_redemption_key",
    "generate_secret",
    "generate_token_key",
    "hash_password",
    "mask_key",
    "mask_secrets",
    "password_needs_rehash",
    "verify_password",
)

_ALPHANUMERIC = string.ascii_letters + string.digits
BCRYPT_MAX_BYTES = 72
BCRYPT_ROUNDS = 12
# A hash of a random password nobody kept, at BCRYPT_ROUNDS: what a login for an unknown name
# is checked against, so it costs what a wrong password costs.
UNKNOWN_USER_HASH = b"$2b$12$.TDzqQ2gmrPqYCbd.kUY9uhSx/5z8A2kdURo4Zu0vuSdmudljz0ey"


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """bcrypt with a fresh salt; refuses what bcrypt would silently truncate."""
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:
        raise ValueError(f"password is longer than {BCRYPT_MAX_BYTES} bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches a bcrypt hash (ours or one-api's ``$2a$``).

    ``None`` (no such user) or an unusable hash costs the same bcrypt run and is False.
    """
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:
        return False
    if hashed:
        try:
            return bcrypt.checkpw(raw, hashed.encode())
        except ValueError:
            pass
    bcrypt.checkpw(raw, UNKNOWN_USER_HASH)
    return False


def password_needs_rehash(hashed: str) -> bool:
    """True for a bcrypt hash cheaper than :data:`BCRYPT_ROUNDS` (one-api's are cost 10)."""
    parts = hashed.split("$")
    return len(parts) > 2 and parts[2].isdigit() and int(parts[2]) < BCRYPT_ROUNDS


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _random_chars(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def generate_code(length: int) -> str:
    """Random letters and digits: emailed codes, reset tokens, passwords set by a reset."""
    return _random_chars(length)


def generate_token_key() -> str:
    """48 characters from a CSPRNG; users see it as ``sk-`` + key."""
    return _random_chars(48)


def generate_access_token() -> str:
    return secrets.token_hex(16)


def generate_redemption_key() -> str:
    return secrets.token_hex(16)


def generate_aff_code() -> str:
    return _random_chars(4)


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def mask_key(key: str) -> str:
    """Show enough of a key to recognise it, never enough to use it."""
    key = key.strip()
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:4]}...{key[-4:]}"


# Credentials as vendors and clients write them: OpenAI-style ``sk-`` keys, bearer tokens,
# ``key=`` / ``api_key=`` / ``x-api-key:`` parameters, Google's ``AIza`` keys.
_SECRET_PATTERNS = re.compile(
    r"(?P<sk>\bsk-)[\w\-.*]{4,}"
    r"|(?P<bearer>\bBearer\s+)[^\s\"',;]+"
    r"|(?P<param>\b(?:[\w-]*key\s*=|[\w-]*api[-_]?key[\"']?\s*:)\s*[\"']?)[^\s\"',;&]{4,}"
    r"|(?P<google>\bAIza)[\w\-]{20,}",
    re.IGNORECASE,
)
_MIN_KEY_PART = 8  # shorter fragments of a key (or "Bearer") would mask ordinary words


def _masked(match: re.Match[str]) -> str:
    return next(prefix for prefix in match.groups() if prefix is not None) + "***"


def mask_secrets(text: str, keys: Iterable[str] = ()) -> str:
    """``text`` with ``keys`` (each ``|``, ``.`` or space-separated part too) and credentials masked."""
    for key in keys:
        for part in {key, *re.split(r"[|.\s]", key)}:
            part = part.strip()
            if len(part) >= _MIN_KEY_PART and part in text:
                text = text.replace(part, "***")
    return _SECRET_PATTERNS.sub(_masked, text)
