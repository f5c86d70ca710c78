"""Provider sign-in and two-factor sign-in in a real browser, under each theme: GitHub from the
login page through a local provider and back, two-factor set-up on the personal page (QR code,
confirm code, recovery codes shown once), the code step after GitHub and after a password,
binding OIDC on the personal page, and the Sign-in settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.oauth_providers import CLIENT_ID, CLIENT_SECRET, Providers, oauth_providers
from tests.web.test_browser import Shots, _open, _ready, _sign_in, _sign_out

pytestmark = pytest.mark.browser


def wrong_code(secret: str, when: float) -> str:
    """Six digits that are none of the codes around ``when``."""
    totp = pyotp.TOTP(secret)
    taken = {totp.at(when + offset) for offset in (-30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444") if code not in taken)


@pytest.fixture(params=["default", "berry"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, GatewayProcess, Providers]]:
    theme = str(request.param)
    with oauth_providers() as providers, run_gateway(
            tmp_path, {"THEME": theme, "OAUTH_TEST_ORIGIN": providers.origin}) as gateway:
        with httpx.Client(base_url=gateway.base_url) as root:
            signed_in = root.post("/api/user/login", json={"username": "root", "password": "123456"})
            assert signed_in.json()["success"]
            for key, value in {"GitHubClientId": CLIENT_ID, "GitHubClientSecret": CLIENT_SECRET,
                               "GitHubOAuthEnabled": "true", "OidcClientId": CLIENT_ID,
                               "OidcClientSecret": CLIENT_SECRET, "OidcWellKnown": providers.well_known,
                               "OidcEnabled": "true"}.items():
                assert root.put("/api/option/", json={"key": key, "value": value}).json()["success"]
            # an admin without two-factor sign-in, for when it becomes compulsory
            for path, body in (("/api/user/", {"username": "keeper", "password": "keeper-pass1"}),
                               ("/api/user/manage", {"username": "keeper", "action": "promote"})):
                assert root.post(path, json=body).json()["success"]
        yield theme, gateway, providers


Site = tuple[str, GatewayProcess, Providers]


def test_provider_and_two_factor_sign_in(browser: object, site: Site) -> None:
    from playwright.sync_api import expect

    theme, gateway, _providers = site
    base = gateway.base_url
    shots = Shots(f"{theme}-sign-in")
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # GitHub from the login page: to the provider, back to /oauth/github, signed in as a new account
    _open(page, base, "/login")
    expect(page.get_by_role("button", name="GitHub")).to_be_visible()
    expect(page.get_by_role("button", name="OpenID Connect")).to_be_visible()
    expect(page.get_by_role("button", name="Lark")).to_have_count(0)  # not configured
    shots.take(page, "login-providers")
    page.get_by_role("button", name="GitHub").click()
    page.wait_for_url("**/dashboard")
    _ready(page)
    expect(page.locator("[data-user-name]").first).to_have_text("The Octocat")

    # the personal page: GitHub bound; bind OIDC too; set up two-factor sign-in
    _open(page, base, "/profile")
    expect(page.locator("#binding-github")).to_contain_text("bound (1001)")
    expect(page.get_by_role("button", name="Bind GitHub")).to_be_hidden()
    page.get_by_role("button", name="Bind OIDC").click()
    page.wait_for_url("**/profile?bound=oidc")
    _ready(page)
    expect(page.locator("#binding-note")).to_contain_text("OIDC is now bound")
    expect(page.locator("#binding-oidc")).to_contain_text("bound (oidc-sub-1)")
    expect(page.locator("#two-factor-status")).to_have_text("Two-factor sign-in is off.")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator("#two-factor-qr")).to_be_visible()
    assert page.eval_on_selector("#two-factor-qr", "img => img.complete && img.naturalWidth > 100")  # shown
    secret = page.locator("#two-factor-secret").input_value()
    assert len(secret) == 32
    page.get_by_label("Code from the app").fill(wrong_code(secret, time.time()))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator('form[data-form="2fa-enable"] [data-error]')).to_contain_text("wrong")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    shots.take(page, "two-factor-setup")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#two-factor-recovery")).to_be_visible()
    codes = page.locator("#two-factor-recovery-codes").input_value().split("\n")
    assert len(codes) == 10
    shots.take(page, "two-factor-recovery-codes")
    _open(page, base, "/profile")  # shown once: a reload shows the switch-off form, not the codes
    expect(page.locator("#two-factor-status")).to_have_text("Two-factor sign-in is on.")
    expect(page.locator("#two-factor-recovery")).to_be_hidden()

    # signing in with GitHub again asks for a code: a recovery code finishes it
    _sign_out(page, theme)
    page.get_by_role("button", name="GitHub").click()
    page.wait_for_url("**/oauth/github?**")
    expect(page.get_by_label("Code")).to_be_visible()
    shots.take(page, "oauth-two-factor-step")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/dashboard")
    _ready(page)

    # root's password sign-in with two-factor on: the code step on the login page
    with httpx.Client(base_url=base) as root:
        root.post("/api/user/login", json={"username": "root", "password": "123456"})
        root_secret = root.get("/api/user/2fa/setup").json()["data"]["secret"]
        enabled = root.post("/api/user/2fa/enable", json={"code": pyotp.TOTP(root_secret).now()})
        assert enabled.json()["success"]
    _sign_out(page, theme)
    _sign_in(page, "root", "123456")
    expect(page.get_by_label("Code")).to_be_visible()
    page.get_by_label("Code").fill(wrong_code(root_secret, time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator('form[data-form="login-2fa"] [data-error]')).to_contain_text("wrong")
    page.get_by_label("Code").fill(pyotp.TOTP(root_secret).at(time.time() + 30))  # the next step
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/profile#password")  # still the default password
    _ready(page)

    # the settings page's Sign-in section: ids shown, secrets never
    _open(page, base, "/setting")
    page.get_by_role("tab", name="Sign-in").click()
    expect(page.locator("#opt-GitHubClientId")).to_have_value(CLIENT_ID)
    expect(page.locator("#opt-GitHubClientSecret")).to_have_value("")
    expect(page.locator("#opt-GitHubOAuthEnabled")).to_be_checked()
    page.get_by_text("Admins must use two-factor sign-in").click()
    page.get_by_role("button", name="Save sign-in").click()
    expect(page.locator('form[data-group="signin"] .saved-note')).to_contain_text("Saved 1 setting")
    expect(page.locator("#opt-TwoFactorRequiredForAdmins")).to_be_checked()
    shots.take(page, "settings-sign-in")

    # now an admin without it is held on the personal page until they set it up
    _sign_out(page, theme)
    _sign_in(page, "keeper", "keeper-pass1")
    page.wait_for_url("**/profile#two-factor")
    _ready(page)
    expect(page.locator("#two-factor-status")).to_contain_text("requires two-factor sign-in")
    page.goto(f"{base}/channel")
    page.wait_for_url("**/profile#two-factor")
    _ready(page)
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator("#two-factor-secret")).not_to_have_value("")
    keeper_secret = page.locator("#two-factor-secret").input_value()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(keeper_secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#two-factor-recovery")).to_be_visible()
    _open(page, base, "/channel")  # let through now
    assert page.url.endswith("/channel")

    # an admin turns off two-factor sign-in for a user who lost the authenticator and the codes
    _open(page, base, "/user")
    row = page.locator("#users tbody tr", has_text="The Octocat")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Turn off 2FA").click()
    expect(row.get_by_role("button", name="Turn off 2FA")).to_have_count(0)
    assert errors == []
