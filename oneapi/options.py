"""System options: One API's ``options`` key/value table, with defaults and typed reads.

Values are stored as strings, as one-api stores them, so a database shared with one-api
keeps working. Reads come from an in-memory map loaded at boot and refreshed by the
cache; writes go to the database first, then to the map.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlmodel import Session, select

from oneapi.db.models import Option

T = TypeVar("T")

__all__ = ("DEFAULT_OPTIONS", "OptionStore", "is_secret_option", "options")

DEFAULT_OPTIONS: dict[str, str] = {
    # Accounts
    "PasswordLoginEnabled": "true",
    "PasswordRegisterEnabled": "true",
    "RegisterEnabled": "true",
    "EmailVerificationEnabled": "false",
    "EmailDomainRestrictionEnabled": "false",
    "EmailDomainWhitelist": "",
    "WeChatAuthEnabled": "false",
    # Sign-in through GitHub, OpenID Connect and Lark (oneapi.api.oauth); Lark is on when its id is set
    "GitHubOAuthEnabled": "false",
    "GitHubClientId": "",
    "GitHubClientSecret": "",
    "OidcEnabled": "false",
    "OidcClientId": "",
    "OidcClientSecret": "",
    "OidcWellKnown": "",
    "OidcAuthorizationEndpoint": "",
    "OidcTokenEndpoint": "",
    "OidcUserinfoEndpoint": "",
    "LarkClientId": "",
    "LarkClientSecret": "",
    # Two-factor sign-in (oneapi.api.two_factor): admins without it may only set it up
    "TwoFactorRequiredForAdmins": "false",
    "TurnstileCheckEnabled": "false",
    "TurnstileSiteKey": "",
    "TurnstileSecretKey": "",
    # Email (oneapi.api.mail): port 465 is implicit TLS, others use STARTTLS when offered
    "SMTPServer": "",
    "SMTPPort": "587",
    "SMTPAccount": "",
    "SMTPFrom": "",
    "SMTPToken": "",
    # Channels and relay
    "AutomaticDisableChannelEnabled": "false",
    "AutomaticEnableChannelEnabled": "false",
    "ChannelDisableThreshold": "5.0",
    "RetryTimes": "2",
    "RetryCooldownSeconds": "5",
    "ApproximateTokenEnabled": "false",
    "LogConsumeEnabled": "true",
    "LogRetentionDays": "0",
    # Stored Responses API answers (oneapi.relay.responses_store): days kept (0 = forever), bytes per user
    "ResponseRetentionDays": "30",
    "ResponseStoreUserLimitMB": "100",
    # JSON {"group": {"rpm": N, "tpm": N}}: per-user limits by group, across replicas; 0 = none
    "GroupRateLimit": "",
    # Display
    "DisplayInCurrencyEnabled": "true",
    "DisplayTokenStatEnabled": "true",
    "QuotaPerUnit": "500000",
    "SystemName": "One API",
    "Logo": "",
    "Footer": "",
    "Notice": "",
    "About": "",
    "HomePageContent": "",
    "ServerAddress": "",
    "TopUpLink": "",
    "ChatLink": "",
    "Theme": "",
    # Quota
    "QuotaForNewUser": "0",
    "QuotaForInviter": "0",
    "QuotaForInvitee": "0",
    "QuotaRemindThreshold": "1000",
    "PreConsumedQuota": "500",
    # Billing tables (JSON); empty means "the built-in table"
    "ModelRatio": "",
    "CompletionRatio": "",
    "CacheRatio": "",
    "CreateCacheRatio": "",
    "GroupRatio": '{"default":1,"vip":1,"svip":1}',
}

_SECRET_WORDS = ("Token", "Secret", "Password")


def is_secret_option(key: str) -> bool:
    """Keys that name a secret are never returned by the options API (as one-api)."""
    return any(word in key for word in _SECRET_WORDS)


class OptionStore:
    """The live option map; thread-safe because admin writes run in worker threads."""

    def __init__(self) -> None:
        self._values: dict[str, str] = dict(DEFAULT_OPTIONS)
        self._parsed: dict[tuple[str, str, Any], Any] = {}  # (type, key, default) -> value, per version
        self._lock = threading.Lock()
        self.version = 0

    def load(self, session: Session) -> None:
        rows = session.exec(select(Option)).all()
        self.replace({row.key: row.value or "" for row in rows})

    def replace(self, stored: Mapping[str, str]) -> None:
        merged = dict(DEFAULT_OPTIONS)
        merged.update(stored)
        with self._lock:
            self._values = merged
            self._parsed = {}
            self.version += 1

    def save(self, session: Session, key: str, value: str) -> None:
        """Persist one option and apply it here at once."""
        row = session.get(Option, key)
        if row is None:
            session.add(Option(key=key, value=value))
        else:
            row.value = value
            session.add(row)
        session.commit()
        with self._lock:
            self._values = {**self._values, key: value}
            self._parsed = {}
            self.version += 1

    def snapshot(self) -> dict[str, str]:
        return dict(self._values)

    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def get_bool(self, key: str) -> bool:
        return self._typed("bool", key, False, lambda raw: raw.strip().lower() in ("true", "1", "yes", "on"))

    def get_int(self, key: str, default: int = 0) -> int:
        return self._typed("int", key, default, lambda raw: int(float(raw)))

    def get_float(self, key: str, default: float = 0.0) -> float:
        return self._typed("float", key, default, float)

    def _typed(self, kind: str, key: str, default: T, parse: Callable[[str], T]) -> T:
        """``parse`` of the value (``default`` when it fails), remembered until the options change."""
        memo = self._parsed
        try:
            return memo[kind, key, default]
        except KeyError:
            pass
        try:
            value = parse(self._values.get(key, ""))
        except (ValueError, OverflowError):
            value = default
        memo[kind, key, default] = value
        return value

    def get_json(self, key: str, default: Any = None) -> Any:
        raw = self._values.get(key, "").strip()
        if not raw:
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default


options = OptionStore()
