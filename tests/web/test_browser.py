"""The admin UI in a real browser, under each theme, doing what the user guides describe:
sign in as root and change the default password, add a channel that points at an upstream
and test it, create a token and use it with the ``openai`` SDK, then find that request in
the logs and on the dashboard. Every page is saved as a screenshot along the way."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.upstreams import REPLY, OpenAIUpstream
from tests.web.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

NEW_PASSWORD = "s3cret-Pass!"


class _TwoModelUpstream(OpenAIUpstream):
    MODEL_IDS = ("gpt-4o-mini", "gpt-4o")


@pytest.fixture
def upstream() -> Iterator[str]:
    with _TwoModelUpstream() as server:
        yield server.url


@pytest.fixture(params=["default", "berry"])
def themed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, GatewayProcess]]:
    theme = str(request.param)
    with run_gateway(tmp_path, {"THEME": theme}) as gateway:
        yield theme, gateway


class Shots:
    """Saves full-page screenshots as ``<theme>/<nn>-<name>.png``."""

    def __init__(self, theme: str) -> None:
        self.folder = SCREENSHOTS / theme
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def take(self, page: object, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _ready(page: object) -> None:
    """Wait until the page scripts have filled the page from the API."""
    page.wait_for_selector("body[data-ready=true]", timeout=15000)  # type: ignore[attr-defined]


def _open(page: object, base_url: str, path: str) -> None:
    page.goto(base_url + path)  # type: ignore[attr-defined]
    _ready(page)


def _sign_out(page: object, theme: str) -> None:
    if theme == "berry":
        page.click("[data-account-toggle]")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/login")  # type: ignore[attr-defined]


def _sign_in(page: object, username: str, password: str) -> None:
    page.get_by_label("Username or email").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def _eventually_contains(page: object, base_url: str, path: str, selector: str, texts: list[str]) -> str:
    """Reload ``path`` until ``selector`` shows every text (logs are written in batches)."""
    content = ""
    for _ in range(30):
        _open(page, base_url, path)
        content = page.inner_text(selector)  # type: ignore[attr-defined]
        if all(text in content for text in texts):
            return content
        time.sleep(0.3)
    raise AssertionError(f"{path} never showed {texts}; it showed: {content[:500]}")


def test_console_end_to_end(browser: object, themed: tuple[str, GatewayProcess], upstream: str) -> None:
    from playwright.sync_api import expect

    theme, gateway = themed
    base = gateway.base_url
    shots = Shots(theme)
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete …?" confirmations

    # A signed-out visit lands on the login page.
    page.goto(f"{base}/dashboard")
    page.wait_for_url("**/login?next=%2Fdashboard")
    shots.take(page, "login")
    _open(page, base, "/register")
    shots.take(page, "register")

    # First login as root with the default password: sent to change it.
    page.goto(f"{base}/login")
    _sign_in(page, "root", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    page.get_by_label("Username or email").fill("")
    page.get_by_label("Password").fill("")
    page.get_by_label("Username or email").focus()
    page.keyboard.type("root")  # keyboard only: type, Tab to the password, Enter submits
    page.keyboard.press("Tab")
    page.keyboard.type("123456")
    page.keyboard.press("Enter")
    page.wait_for_url("**/profile#password")
    _ready(page)
    expect(page.locator("[data-default-password]")).to_be_visible()
    shots.take(page, "profile-default-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill("something-else")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator('form[data-form="password"] [data-error]')).to_contain_text("differ")
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    expect(page.locator("[data-default-password]")).to_be_hidden()

    _sign_out(page, theme)
    _sign_in(page, "root", NEW_PASSWORD)
    page.wait_for_url("**/dashboard")
    _ready(page)

    # Add a channel pointing at the local upstream, then test it and see its time.
    _open(page, base, "/channel")
    page.get_by_role("button", name="Add channel").click()
    page.get_by_label("Type").select_option("8")
    page.get_by_label("Name", exact=True).fill("mock upstream")
    page.get_by_label("Base URL").fill(upstream)
    page.get_by_label("Key", exact=True).fill("sk-upstream-secret")
    page.get_by_label("Models", exact=True).fill("gpt-4o-mini, gpt-4o")
    shots.take(page, "channel-dialog")
    page.get_by_role("button", name="Save channel").click()
    row = page.locator("#channels tbody tr", has_text="mock upstream")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Not tested")
    row.get_by_role("button", name="Test").click()
    tested = re.compile(r"^(\d+ ms|\d+\.\d\d s)$")
    expect(row.locator("[data-channel-time]")).to_have_text(tested, timeout=15000)
    page.get_by_role("button", name="Test all channels").click()
    progress = page.locator("#channel-progress")
    expect(progress).to_contain_text("1 tested: 1 passed, 0 failed.", timeout=15000)
    row.get_by_role("button", name="Update").click()
    expect(row).to_contain_text("$99.50")
    row.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Base URL")).to_have_value(upstream)
    page.get_by_role("button", name="Clear").click()
    page.get_by_role("button", name="Fetch from upstream").click()
    fetched = re.compile(r"^(gpt-4o-mini,gpt-4o|gpt-4o,gpt-4o-mini)$")  # the mock upstream's two models
    expect(page.get_by_label("Models", exact=True)).to_have_value(fetched)
    page.locator("#channel-dialog").get_by_role("button", name="Cancel").click()
    shots.take(page, "channels")

    # Create a token and read its key from the page.
    _open(page, base, "/token")
    page.get_by_role("button", name="Create token").click()
    page.get_by_label("Name", exact=True).fill("browser-token")
    page.locator("label[for=token-unlimited]").click()
    expect(page.get_by_label("Quota", exact=True)).to_be_disabled()
    page.get_by_role("button", name="Save token").click()
    key_box = page.locator("#token-created-key")
    expect(key_box).to_have_value(re.compile(r"^sk-\w{20,}$"))
    key = key_box.input_value()
    shots.take(page, "token-created")
    page.locator("#token-created-dialog").get_by_role("button", name="Done").click()
    expect(page.locator("#tokens code.token-key")).to_have_text(key)
    shots.take(page, "tokens")

    # A real client uses the key.
    client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=30)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == REPLY

    # The request shows in the logs and on the dashboard.
    logs = _eventually_contains(page, base, "/log", "#logs", ["gpt-4o-mini", "browser-token"])
    assert "Consume" in logs
    assert page.inner_text("#log-total").startswith("$")
    yesterday = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 86400))
    page.get_by_label("Delete logs before").fill(yesterday)
    page.get_by_role("button", name="Delete logs").click()
    expect(page.get_by_text("Deleted 0 logs.")).to_be_visible()
    shots.take(page, "logs")
    _eventually_contains(page, base, "/dashboard", "main", ["gpt-4o-mini", "browser-token"])
    assert page.inner_text("#stat-requests") != "0"
    expect(page.locator("#chart-daily svg")).to_be_visible()
    shots.take(page, "dashboard")

    # Users, redemption codes, settings and the personal page.
    _open(page, base, "/user")
    page.get_by_role("button", name="Add user").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Save user").click()
    expect(page.locator('form[data-form="user"] [data-error]')).to_contain_text("8 to 20")
    page.get_by_label("Password").fill("alice-password")
    page.get_by_role("button", name="Save user").click()
    expect(page.locator("#users tbody tr", has_text="alice")).to_be_visible()
    shots.take(page, "users")

    _open(page, base, "/redemption")
    page.get_by_role("button", name="Create codes").click()
    page.get_by_label("Name", exact=True).fill("launch")
    page.get_by_label("How many").fill("2")
    page.get_by_role("button", name="Create", exact=True).click()
    codes = page.locator("#redemption-created-keys")
    expect(codes).to_have_value(re.compile(r"^\S+\n\S+$"))
    code = codes.input_value().splitlines()[0]
    shots.take(page, "redemption-created")
    page.locator("#redemption-created-dialog").get_by_role("button", name="Done").click()
    expect(page.locator("#redemptions tbody tr")).to_have_count(2)
    shots.take(page, "redemptions")

    _open(page, base, "/setting")
    expect(page.locator("#opt-LogConsumeEnabled")).to_be_checked()
    page.get_by_role("tab", name="Site").click()
    expect(page.locator("#opt-SystemName")).to_have_value("One API")
    page.locator("#opt-Notice").fill("Maintenance on Sunday.")
    page.locator('form[data-group="site"]').get_by_role("button", name="Save site").click()
    expect(page.locator('form[data-group="site"] .saved-note')).to_have_text("Saved 1 setting.")
    page.get_by_role("tab", name="Ratios").click()
    page.locator("#opt-GroupRatio").fill("{not json")
    page.locator('form[data-group="ratios"]').get_by_role("button", name="Save ratios").click()
    expect(page.locator('form[data-group="ratios"] [data-error]')).to_contain_text("not valid JSON")
    shots.take(page, "settings")
    page.get_by_role("tab", name="Price table").click()
    expect(page.locator(".price-table")).to_contain_text("gpt-4o-mini")
    shots.take(page, "price-table")

    _open(page, base, "/profile")
    page.get_by_label("Redemption code").fill(code)
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_text(re.compile(r"^Redeemed: .+ added to your balance\.$"))).to_be_visible()
    expect(page.locator("#profile-tokens")).to_contain_text("browser-token")
    shots.take(page, "profile")

    _open(page, base, "/dashboard")
    expect(page.get_by_text("Maintenance on Sunday.")).to_be_visible()

    # On a phone.
    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True,  # type: ignore[attr-defined]
                                reduced_motion="reduce")
    phone_page = phone.new_page()
    phone_page.context.add_cookies(context.cookies())
    for name, path in (("dashboard", "/dashboard"), ("channels", "/channel"), ("tokens", "/token")):
        _open(phone_page, base, path)
        shots.take(phone_page, f"phone-{name}")
    logs_link = phone_page.get_by_role("link", name="Logs")
    expect(logs_link).to_be_hidden()
    phone_page.click("[data-sidebar-toggle]" if theme == "berry" else "[data-menu-toggle]")
    expect(logs_link).to_be_visible()
    shots.take(phone_page, "phone-navigation")
    logs_link.click()
    phone_page.wait_for_url("**/log")
    phone.close()

    # A common user sees only their own pages.
    visitor = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    alice = visitor.new_page()
    alice.goto(f"{base}/login")
    _sign_in(alice, "alice", "alice-password")
    alice.wait_for_url("**/dashboard")
    _ready(alice)
    expect(alice.get_by_role("link", name="Tokens")).to_be_visible()
    expect(alice.get_by_role("link", name="Channels")).to_be_hidden()
    shots.take(alice, "common-user-dashboard")
    alice.goto(f"{base}/channel")
    expect(alice.get_by_text("You do not have access to this page.")).to_be_visible()
    visitor.close()

    # Anyone may register while registration is open, then sign in.
    newcomer = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    bob = newcomer.new_page()
    bob.goto(f"{base}/login")
    bob.get_by_role("link", name="Register").click()
    _ready(bob)
    bob.get_by_label("Username").fill("bob")
    bob.get_by_label("Password", exact=True).fill("bob-password")
    bob.get_by_label("Repeat password").fill("bob-password")
    bob.get_by_role("button", name="Create account").click()
    bob.wait_for_url("**/login")
    _sign_in(bob, "bob", "bob-password")
    bob.wait_for_url("**/dashboard")
    _ready(bob)
    expect(bob.locator("[data-user-name]").first).to_have_text("bob")
    newcomer.close()

    # The stored Theme option overrides THEME.
    other = "berry" if theme == "default" else "default"
    _open(page, base, "/setting")
    page.get_by_role("tab", name="Site").click()
    page.get_by_label("Theme").select_option(other)
    page.locator('form[data-group="site"]').get_by_role("button", name="Save site").click()
    expect(page.locator("body")).to_have_attribute("data-theme", other, timeout=10000)
    context.close()

    assert not console_errors, console_errors
    saved = sorted(path.name for path in shots.folder.glob("*.png"))
    print(f"\n{theme} screenshots in {shots.folder}: {', '.join(saved)}")
    assert len(saved) == shots.count
