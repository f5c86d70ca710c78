"""Both languages in a real browser, under each theme: a Chinese browser gets every page in
Chinese (the server's templates, the scripts' strings and the management API's messages),
the header's switch turns the whole UI to English and the choice outlives the cookie it is
kept in. Every page is saved as a screenshot per theme and language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oneapi.web.pages import PAGES, Page
from tests.support.gateway import GatewayProcess, run_gateway
from tests.web.test_browser import Shots, _open

pytestmark = pytest.mark.browser

PASSWORD = "root-Pass-2"
SIGNED_OUT = [page for page in PAGES if page.min_role == 0]
SIGNED_IN = [page for page in PAGES if page.min_role > 0]
# each page's title as the browser tab shows it, in each language (from the catalogs)
CHINESE_TITLES = {"dashboard": "总览", "channel": "渠道", "token": "令牌", "log": "日志", "user": "用户",
                  "redemption": "兑换码", "setting": "设置", "profile": "个人设置", "login": "登录",
                  "register": "注册", "reset": "重置密码", "reset_confirm": "重置密码",
                  "playground": "操练场", "models": "模型", "oauth_github": "使用 GitHub 登录",
                  "oauth_oidc": "使用 OIDC 登录", "oauth_lark": "使用飞书登录"}


@pytest.fixture(params=["default", "berry"])
def themed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, GatewayProcess]]:
    theme = str(request.param)
    with run_gateway(tmp_path, {"THEME": theme, "INITIAL_ROOT_PASSWORD": PASSWORD}) as gateway:
        yield theme, gateway


def _title(page: object) -> str:
    return str(page.title()).split(" · ")[0]  # type: ignore[attr-defined]


def _visit_all(page: object, base: str, shots: Shots, pages: list[Page], language: str) -> None:
    from playwright.sync_api import expect

    for item in pages:
        _open(page, base, item.path)
        expect(page.locator("html")).to_have_attribute("lang", language)  # type: ignore[attr-defined]
        assert _title(page) == (CHINESE_TITLES[item.name] if language == "zh-CN" else item.title)
        shots.take(page, item.name)


def test_both_languages_on_every_page_and_the_switch(browser: object,
                                                    themed: tuple[str, GatewayProcess]) -> None:
    from playwright.sync_api import expect

    theme, gateway = themed
    base = gateway.base_url
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    chinese, english = Shots(f"{theme}-zh-CN"), Shots(f"{theme}-en")

    # A Chinese browser: the signed-out pages, and an API error message, in Chinese.
    _visit_all(page, base, chinese, SIGNED_OUT, "zh-CN")
    page.goto(f"{base}/login")
    page.get_by_label("用户名或邮箱").fill("root")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    chinese.take(page, "login-error")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/dashboard")

    # Every signed-in page in Chinese, the scripts' text included.
    _visit_all(page, base, chinese, SIGNED_IN, "zh-CN")
    _open(page, base, "/token")
    expect(page.locator("#tokens tbody")).to_contain_text("暂无令牌")
    expect(page.locator("#tokens-pager .pager-label")).to_have_text("第 1 页")
    page.get_by_role("button", name="创建令牌").click()
    expect(page.locator("#token-dialog h2")).to_have_text("创建令牌")
    chinese.take(page, "token-dialog")
    page.get_by_role("button", name="保存令牌").click()
    expect(page.locator("#token-dialog [data-error]")).to_have_text("请为令牌命名。")
    page.locator("#token-dialog").get_by_role("button", name="取消").click()

    # The header's switch: the same page, now in English, the choice kept in a cookie and localStorage.
    if theme == "berry":
        page.locator(".appbar [data-language-switch]").select_option("en")
    else:
        page.locator(".topbar [data-language-switch]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#tokens tbody")).to_contain_text("No tokens yet.")
    assert {"name": "lang", "value": "en"}.items() <= next(
        cookie for cookie in context.cookies() if cookie["name"] == "lang").items()
    assert page.evaluate("localStorage.getItem('oneapi.language')") == "en"
    _visit_all(page, base, english, SIGNED_IN, "en")

    # The cookie gone (signed out, cookies cleared): localStorage puts the choice back.
    context.clear_cookies()
    _visit_all(page, base, english, SIGNED_OUT, "en")
    page.goto(f"{base}/login")
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")

    # And back to Chinese from the sign-in page's switch.
    page.locator("[data-language-switch]").select_option("zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert not errors, errors
    context.close()
