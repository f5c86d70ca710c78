"""Email on accounts in a real browser, under each theme: register with a mailed code, reset a
forgotten password through the mailed link, bind another address on the personal page, and
set the email options on the settings page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.mailbox import Mailbox, mailbox
from tests.web.test_browser import Shots, _open, _ready, _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(params=["default", "berry"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, GatewayProcess, Mailbox]]:
    theme = str(request.param)
    with mailbox() as (inbox, port), run_gateway(tmp_path, {"THEME": theme}) as gateway:
        with httpx.Client(base_url=gateway.base_url) as root:
            signed_in = root.post("/api/user/login", json={"username": "root", "password": "123456"})
            assert signed_in.json()["success"]
            for key, value in {"SMTPServer": "127.0.0.1", "SMTPPort": port, "SMTPFrom": "gw@example.org",
                               "ServerAddress": gateway.base_url, "EmailVerificationEnabled": "true"}.items():
                assert root.put("/api/option/", json={"key": key, "value": value}).json()["success"]
        yield theme, gateway, inbox


def _code(inbox: Mailbox, count: int) -> str:
    found = re.search(r"<strong>(\w+)</strong>", inbox.body(inbox.wait(count)))
    assert found
    return found.group(1)


def test_register_reset_and_bind_by_email(browser: object, site: tuple[str, GatewayProcess, Mailbox]) -> None:
    from playwright.sync_api import expect

    theme, gateway, inbox = site
    base = gateway.base_url
    shots = Shots(f"{theme}-accounts")
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    _open(page, base, "/register")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password", exact=True).fill("carolpass1")
    page.get_by_label("Repeat password").fill("carolpass1")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator(".saved-note")).to_contain_text("Code sent")
    page.get_by_label("Verification code").fill(_code(inbox, 1))
    shots.take(page, "register-verified")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/login")

    _ready(page)
    page.get_by_role("link", name="Reset it").click()
    page.wait_for_url("**/reset")
    _ready(page)
    page.get_by_label("Email of your account").fill("carol@example.com")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator(".saved-note")).to_contain_text("reset link is on its way")
    shots.take(page, "reset-requested")
    body = inbox.body(inbox.wait(2))
    link = re.search(r'href="([^"]+)"', body)
    assert link and link.group(1).startswith(f"{base}/user/reset?email=carol%40example.com&amp;token=")
    _open(page, "", link.group(1).replace("&amp;", "&"))
    page.get_by_role("button", name="Reset my password").click()
    expect(page.locator("#reset-result")).to_be_visible()
    shots.take(page, "reset-done")
    password = page.locator("#reset-password").input_value()
    assert len(password) == 12

    page.goto(f"{base}/login")
    _ready(page)
    _sign_in(page, "carol", password)
    page.wait_for_url("**/dashboard")
    _open(page, base, "/profile")
    expect(page.locator("#profile-email")).to_have_text("carol@example.com")
    form = page.locator('form[data-form="bind-email"]')
    form.get_by_label("Email").fill("carol@corp.example")
    form.get_by_role("button", name="Send code").click()
    expect(form.locator(".saved-note")).to_contain_text("Code sent")
    form.get_by_label("Verification code").fill("wrong1")
    form.get_by_role("button", name="Bind email").click()
    expect(form.locator("[data-error]")).to_contain_text("wrong or has expired")
    form.get_by_label("Verification code").fill(_code(inbox, 3))
    form.get_by_role("button", name="Bind email").click()
    expect(page.locator("#profile-email")).to_have_text("carol@corp.example")
    shots.take(page, "profile-email-bound")
    assert errors == []
