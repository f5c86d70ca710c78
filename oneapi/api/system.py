"""Public system routes: ``/api/status`` (One API's fields) and ``/healthz`` (liveness).

The ``/api`` ones are served by the management router (its per-IP limit, as one-api) and
declared public; ``/healthz`` stays outside it, never limited.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from oneapi import __version__
from oneapi.api import auth
from oneapi.options import options
from oneapi.runtime import Runtime

__all__ = ("about", "healthz", "home_page_content", "notice", "status")


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Liveness for container hosts: answers without touching the database."""
    return {"status": "ok"}


@get("/status", opt=auth.public, sync_to_thread=False)
def status(request: Request) -> dict[str, Any]:
    """Public site facts for front ends, with one-api's field names."""
    runtime: Runtime = request.app.state.runtime
    opts = options.snapshot()
    theme = opts.get("Theme") or runtime.settings.theme
    return {
        "success": True,
        "message": "",
        "data": {
            "version": __version__,
            "start_time": runtime.started_at,
            "email_verification": options.get_bool("EmailVerificationEnabled"),
            # GitHub, OIDC, Lark and WeChat sign-in are not built yet (WeChat never will be: it needs
            # one-api's separate wechat-server), so front ends must not offer them.
            "github_oauth": False,
            "github_client_id": opts.get("GitHubClientId", ""),
            "lark_client_id": opts.get("LarkClientId", ""),
            "system_name": opts.get("SystemName", "One API"),
            "logo": opts.get("Logo", ""),
            "footer_html": opts.get("Footer", ""),
            "wechat_qrcode": opts.get("WeChatAccountQRCodeImageURL", ""),
            "wechat_login": False,
            "server_address": opts.get("ServerAddress", ""),
            "turnstile_check": options.get_bool("TurnstileCheckEnabled"),
            "turnstile_site_key": opts.get("TurnstileSiteKey", ""),
            "top_up_link": opts.get("TopUpLink", ""),
            "chat_link": opts.get("ChatLink", ""),
            "quota_per_unit": options.get_float("QuotaPerUnit", 500000.0),
            "display_in_currency": options.get_bool("DisplayInCurrencyEnabled"),
            "oidc": False,
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
