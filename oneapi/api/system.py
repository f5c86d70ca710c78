"""Public system routes: ``/api/status`` (One API's fields) and ``/healthz`` (liveness).

The ``/api`` ones are served by the management router (its per-IP limit, as one-api) and
declared public; ``/healthz`` stays outside it, never limited.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from oneapi import __version__
from oneapi.api import auth
from oneapi.api.context import management
from oneapi.api.oauth_clients import GITHUB_AUTHORIZE, LARK_AUTHORIZE, endpoint
from oneapi.options import options
from oneapi.runtime import Runtime

__all__ = ("about", "healthz", "home_page_content", "notice", "status")


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness for container hosts: answers without touching the database."""
    return {"status": "ok"}


@get("/status", opt=auth.public)
async def status(request: Request) -> dict[str, Any]:
    """Public site facts for front ends, with one-api's field names (and the sign-in pages' URLs)."""
    runtime: Runtime = request.app.state.runtime
    opts = options.snapshot()
    theme = opts.get("Theme") or runtime.settings.theme
    oidc_enabled = options.get_bool("OidcEnabled")
    oidc_authorize = opts.get("OidcAuthorizationEndpoint", "")
    if oidc_enabled and not oidc_authorize:  # from discovery, as one-api's settings page fills it in
        oidc_authorize = await management(request).oidc_discovery.authorization_endpoint()
    test_origin = runtime.settings.oauth_test_origin
    return {
        "success": True,
        "message": "",
        "data": {
            "version": __version__,
            "start_time": runtime.started_at,
            "email_verification": options.get_bool("EmailVerificationEnabled"),
            "github_oauth": options.get_bool("GitHubOAuthEnabled"),
            "github_client_id": opts.get("GitHubClientId", ""),
            "github_authorize_endpoint": endpoint(test_origin, GITHUB_AUTHORIZE),
            "lark_client_id": opts.get("LarkClientId", ""),
            "lark_authorize_endpoint": endpoint(test_origin, LARK_AUTHORIZE),
            "system_name": opts.get("SystemName", "One API"),
            "logo": opts.get("Logo", ""),
            "footer_html": opts.get("Footer", ""),
            "wechat_qrcode": opts.get("WeChatAccountQRCodeImageURL", ""),
            # WeChat sign-in needs one-api's separate wechat-server, which this gateway does not support
            "wechat_login": False,
            "server_address": opts.get("ServerAddress", ""),
            "turnstile_check": options.get_bool("TurnstileCheckEnabled"),
            "turnstile_site_key": opts.get("TurnstileSiteKey", ""),
            "top_up_link": opts.get("TopUpLink", ""),
            "chat_link": opts.get("ChatLink", ""),
            "quota_per_unit": options.get_float("QuotaPerUnit", 500000.0),
            "display_in_currency": options.get_bool("DisplayInCurrencyEnabled"),
            "oidc": oidc_enabled,
            "oidc_client_id": opts.get("OidcClientId", ""),
            "oidc_well_known": opts.get("OidcWellKnown", ""),
            "oidc_authorization_endpoint": oidc_authorize,
            "oidc_token_endpoint": opts.get("OidcTokenEndpoint", ""),
            "oidc_userinfo_endpoint": opts.get("OidcUserinfoEndpoint", ""),
            "register_enabled": options.get_bool("RegisterEnabled"),
            "password_register_enabled": options.get_bool("PasswordRegisterEnabled"),
            "theme": theme,
        },
    }


def _content(key: str) -> dict[str, Any]:
    return {"success": True, "message": "", "data": options.get(key)}


@get("/notice", opt=auth.public, sync_to_thread=False)
def notice() -> dict[str, Any]:
    """The site notice (option ``Notice``, Markdown)."""
    return _content("Notice")


@get("/about", opt=auth.public, sync_to_thread=False)
def about() -> dict[str, Any]:
    """The about page (option ``About``, Markdown or a URL)."""
    return _content("About")


@get("/home_page_content", opt=auth.public, sync_to_thread=False)
def home_page_content() -> dict[str, Any]:
    """The home page (option ``HomePageContent``, Markdown or a URL)."""
    return _content("HomePageContent")
