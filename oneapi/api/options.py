"""System options (root only): one-api's ``GET/PUT /api/option/``.

Values are strings, as one-api stores them. Keys that name a secret (…Token, …Secret,
…Password) can be written but are never read back; the session secret cannot be
touched here at all. Values are checked as one-api checks them: a theme must exist,
switching on a sign-in method needs its credentials, ratio tables must be JSON.

The list is in the form one-api's settings pages parse: the ratio options as the JSON
of the effective table (they ``JSON.parse`` it, and a parse failure leaves the form on
its zero defaults, which a Save would then write), booleans as ``"true"``/``"false"``.
Loading a form and saving it unchanged writes nothing: a value equal to the one shown
(the same text, the same number, the same ratio table) is not stored again.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import JSONBody

from oneapi.api import auth
from oneapi.api.common import changed, ok, run_db
from oneapi.api.context import db_session
from oneapi.api.pricing import RATIO_OPTIONS, check_ratio_json
from oneapi.billing.ratios import effective_table
from oneapi.bootstrap import SESSION_SECRET_OPTION
from oneapi.config import VALID_THEMES
from oneapi.errors import InvalidRequest
from oneapi.i18n import N_
from oneapi.options import DEFAULT_OPTIONS, is_secret_option, options

__all__ = ("OptionController",)

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Turning one of these on needs the options named beside it to be set first; for OIDC, its
# endpoints too: the discovery document, or the three explicit ones.
_NEEDS = {"GitHubOAuthEnabled": ("GitHubClientId", "GitHubClientSecret"),
          "WeChatAuthEnabled": ("WeChatServerAddress",),
          "TurnstileCheckEnabled": ("TurnstileSiteKey",), "OidcEnabled": ("OidcClientId", "OidcClientSecret"),
          "EmailVerificationEnabled": ("SMTPServer",),
          "EmailDomainRestrictionEnabled": ("EmailDomainWhitelist",)}
_OIDC_ENDPOINTS = ("OidcAuthorizationEndpoint", "OidcTokenEndpoint", "OidcUserinfoEndpoint")
_BOOLEANS = frozenset({"TwoFactorRequiredForAdmins"})  # true/false options not named ...Enabled


class OptionUpdate(msgspec.Struct):
    key: str
    value: str | bool | int | float | None = ""


def _text(value: str | bool | int | float | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _check(key: str, value: str) -> str:
    if not _KEY.match(key) or key == SESSION_SECRET_OPTION:
        raise InvalidRequest(N_("option {key!r} cannot be set", key=key), param="key")
    if key.endswith("Enabled") or key in _BOOLEANS:
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise InvalidRequest(N_("{key} must be true or false", key=key), param="value")
        if lowered == "true":
            _check_needs(key)
        return lowered
    if key == "Theme" and value and value not in VALID_THEMES:
        raise InvalidRequest(N_("Theme must be one of {themes}",
                                themes=', '.join(VALID_THEMES)), param="value")
    if key in RATIO_OPTIONS:
        return check_ratio_json(key, value)
    default = DEFAULT_OPTIONS.get(key)
    if default is not None and _is_number(default) and not _is_number(value):
        raise InvalidRequest(N_("{key} must be a number", key=key), param="value")
    return value


def _check_needs(key: str) -> None:
    """Refuse turning ``key`` on while the options it works with are empty."""
    missing = [name for name in _NEEDS.get(key, ()) if not options.get(name).strip()]
    if (key == "OidcEnabled" and not options.get("OidcWellKnown").strip()
            and not all(options.get(name).strip() for name in _OIDC_ENDPOINTS)):
        missing.append(f"OidcWellKnown (or {', '.join(_OIDC_ENDPOINTS)})")
    if missing:
        raise InvalidRequest(N_("set {needed} before turning {key} on",
                                needed=', '.join(missing), key=key), param="value")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _shown() -> dict[str, str]:
    """Every readable option as ``GET /api/option/`` shows it."""
    shown = {key: value for key, value in options.snapshot().items()
             if not is_secret_option(key) and key != SESSION_SECRET_OPTION}
    tables = effective_table()
    for key in RATIO_OPTIONS:
        shown[key] = json.dumps(tables[key], ensure_ascii=False)
    return shown


def _unchanged(key: str, value: str) -> bool:
    """Whether storing ``value`` would change nothing (a form saved as it was loaded)."""
    current = options.get(key, DEFAULT_OPTIONS.get(key, ""))
    if value == current:
        return True
    if key in RATIO_OPTIONS:
        return bool(value) and json.loads(value) == effective_table()[key]
    return _is_number(value) and _is_number(current) and float(value) == float(current)


def _save(key: str, value: str) -> None:
    with db_session() as session:
        options.save(session, key, value)


class OptionController(Controller):
    path = "/option"
    tags = ("options",)
    opt = auth.root

    @get("/", sync_to_thread=False)
    def list_options(self) -> dict[str, Any]:
        """Every option as ``{key, value}``, without secrets; ratios as their effective JSON."""
        return ok([{"key": key, "value": value} for key, value in sorted(_shown().items())])

    @put("/", dependencies={"me": Provide(auth.caller)})
    async def update_option(self, request: Request, me: auth.Me,
                            data: JSONBody[OptionUpdate]) -> dict[str, Any]:
        value = _check(data.key, _text(data.value))
        if data.key == "TwoFactorRequiredForAdmins" and value == "true" and not me.totp_enabled:
            # root without it would be held at once, settings page and all
            raise InvalidRequest(
                N_("turn on your own two-factor sign-in (personal page) before requiring it"), param="value")
        if not _unchanged(data.key, value):
            await run_db(_save, data.key, value)
            await changed(request, "options")
        return ok()
