"""Passwords, secrets and keys.

Passwords use bcrypt, so hashes written by one-api verify here and ours verify there.
Every secret comparison is constant-time, and every key shown to a person or a log
line goes through :func:`mask_key`.
"""

from __future__ import annotations

import hmac
import secrets
import string

import bcrypt

__all__ = (
    "constant_time_equal",
    "generate_access_token",
    "generate_aff_code",
    "generate_redemption_key",
    "generate_secret",
    "generate_token_key",
    "hash_password",
    "mask_key",
    "verify_password",
)

_ALPHANUMERIC = string.ascii_letters + string.digits
BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    """bcrypt with a fresh salt; refuses what bcrypt would silently truncate."""
    raw = password.encode()
    if len(raw) > BCRYPT_MAX_BYTES:
        raise ValueError(f"password is longer than {BCRYPT_MAX_BYTES} bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches a bcrypt hash (ours or one-api's ``$2a$``)."""
    raw = password.encode()
    if not hashed or len(raw) > BCRYPT_MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(raw, hashed.encode())
    except ValueError:
        return False


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _random_chars(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


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
