"""The admin UI's pages: one server-rendered shell per page, filled by ``static/js/``.

Pages carry no user data: the browser fetches it from the management API with its own
session, so a page never shows more than the API would give the same user. The server
adds only what is public or static: site name, money display, channel types, the theme, and
renders each page in its reader's language (:mod:`oneapi.web.language`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from oneapi import __version__
from oneapi.api.vendor_account import BALANCE_TYPES
from oneapi.billing.ratios import cache_ratios, completion_ratio, effective_table
from oneapi.channel_types import CHANNEL_TYPES
from oneapi.db.models import Role
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.runtime import Runtime
from oneapi.web.settings_form import OPTION_GROUPS
from oneapi.web.theme import VALID_THEMES, active_theme

__all__ = ("NAV", "PAGES", "Page", "page_context", "page_handlers")


@dataclass(frozen=True)
class Page:
    """One page of the UI: its path, template, title and the least role that may use it."""

    name: str
    path: str
    title: str
    min_role: int = Role.COMMON
    icon: str = ""
    in_nav: bool = True
    template: str = ""  # pages/<template>.html; empty: the page's name

    @property
    def template_name(self) -> str:
        return f"pages/{self.template or self.name}.html"


PAGES: tuple[Page, ...] = (
    Page("dashboard", "/dashboard", N_("Dashboard"), icon="chart"),
    Page("playground", "/playground", N_("Playground"), icon="chat"),
    Page("models", "/models", N_("Models"), icon="cube"),
    Page("channel", "/channel", N_("Channels"), Role.ADMIN, icon="plug"),
    Page("token", "/token", N_("Tokens"), icon="key"),
    Page("log", "/log", N_("Logs"), icon="list"),
    Page("user", "/user", N_("Users"), Role.ADMIN, icon="users"),
    Page("redemption", "/redemption", N_("Redemptions"), Role.ADMIN, icon="gift"),
    Page("setting", "/setting", N_("Settings"), Role.ROOT, icon="gear"),
    Page("profile", "/profile", N_("Personal"), icon="person"),
    Page("login", "/login", N_("Sign in"), Role.GUEST, in_nav=False),
    Page("register", "/register", N_("Register"), Role.GUEST, in_nav=False),
    Page("reset", "/reset", N_("Reset password"), Role.GUEST, in_nav=False),
    Page("reset_confirm", "/user/reset", N_("Reset password"), Role.GUEST, in_nav=False),  # the mailed link
    # where GitHub, OIDC and Lark send the browser back (one-api's paths): finish signing in or binding
    Page("oauth_github", "/oauth/github", N_("Sign in with GitHub"), Role.GUEST, in_nav=False,
         template="oauth"),
    Page("oauth_oidc", "/oauth/oidc", N_("Sign in with OIDC"), Role.GUEST, in_nav=False,
         template="oauth"),
    Page("oauth_lark", "/oauth/lark", N_("Sign in with Lark"), Role.GUEST, in_nav=False,
         template="oauth"),
)
NAV: tuple[Page, ...] = tuple(page for page in PAGES if page.in_nav)


def _site() -> dict[str, Any]:
    return {
        "system_name": options.get("SystemName") or "One API",
        "logo": options.get("Logo"),
        "footer": options.get("Footer"),
        "notice": options.get("Notice"),
        "register_enabled": (options.get_bool("RegisterEnabled")
                             and options.get_bool("PasswordRegisterEnabled")),
        "version": __version__,
        "email_verification": options.get_bool("EmailVerificationEnabled"),
        "turnstile_site_key": (options.get("TurnstileSiteKey") if options.get_bool("TurnstileCheckEnabled")
                               else ""),
        "oauth": {"github": options.get_bool("GitHubOAuthEnabled"), "oidc": options.get_bool("OidcEnabled"),
                  "lark": bool(options.get("LarkClientId").strip())},
    }


def _client_config(page: Page, language: str) -> dict[str, Any]:
    """What the page scripts need before its first API call (all of it is public in /api/status)."""
    return {
        "page": page.name,
        "language": language,
        "minRole": page.min_role,
        "quotaPerUnit": options.get_float("QuotaPerUnit", 500000.0) or 500000.0,
        "displayInCurrency": options.get_bool("DisplayInCurrencyEnabled"),
        "roles": {"common": Role.COMMON, "admin": Role.ADMIN, "root": Role.ROOT},
        "twoFactorForAdmins": options.get_bool("TwoFactorRequiredForAdmins"),
    }


def _page_extras(page: Page) -> dict[str, Any]:
    if page.name == "channel":
        return {"channel_types": [
            {"id": kind.id, "name": kind.name, "base_url": kind.base_url, "models": list(kind.default_models),
             "balance": kind.id in BALANCE_TYPES, "replaced_by": kind.replaced_by}
            for kind in sorted(CHANNEL_TYPES.values(), key=lambda kind: kind.id)]}
    if page.name == "setting":
        table = effective_table()
        return {"option_groups": OPTION_GROUPS, "themes": VALID_THEMES,
                "price_table": [(model, ratio, completion_ratio(model), *cache_ratios(model))
                                for model, ratio in sorted(table["ModelRatio"].items())]}
    return {}


def page_context(page: Page, theme: str, language: str) -> dict[str, Any]:
    """Everything ``page``'s template reads."""
    from oneapi.web.language import language_context

    return {"theme": theme, "page": page, "nav": NAV, "site": _site(),
            "client_config": _client_config(page, language), **language_context(language),
            **_page_extras(page)}


def render_page(request: Request, page: Page) -> Template:
    from oneapi.i18n.catalogs import request_language
    from oneapi.web.language import template_name

    runtime: Runtime = request.app.state.runtime
    language = request_language(request)
    return Template(template_name=template_name(language, page.template_name),
                    context=page_context(page, active_theme(runtime.settings), language),
                    headers={"Vary": "Accept-Language, Cookie"})


def _handler(page: Page) -> Any:
    @get(page.path, name=f"web-{page.name}", include_in_schema=False, sync_to_thread=False)
    def show(request: Request) -> Template:
        return render_page(request, page)

    return show


@get("/", name="web-home", include_in_schema=False, sync_to_thread=False)
def home() -> Redirect:
    """The landing page is the dashboard; it sends a signed-out browser on to the login page."""
    return Redirect("/dashboard")


page_handlers = [home, *(_handler(page) for page in PAGES)]
