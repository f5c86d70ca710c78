"""The admin UI's pages as the server renders them: every page, both themes, theme choice."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient

from oneapi.options import options
from oneapi.server import create_app
from oneapi.web import STATIC_DIR
from oneapi.web.pages import PAGES
from tests.support.db import session_scope

THEME_MARKERS = {"default": 'class="topbar"', "berry": 'class="sidebar"'}


class _Page(HTMLParser):
    """Collects what the checks below look at: labels, form controls, external resources."""

    def __init__(self) -> None:
        super().__init__()
        self.label_targets: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.resources: list[str] = []
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if attributes.get("for"):
                self.label_targets.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea"):
            self.controls.append({**attributes, "_wrapped": "yes" if self.in_label else None})
        if tag in ("script", "img") and attributes.get("src"):
            self.resources.append(str(attributes["src"]))
        if tag == "link" and attributes.get("href"):
            self.resources.append(str(attributes["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


@pytest.fixture
def client_for(clean_env: pytest.MonkeyPatch) -> Iterator[object]:
    clients: list[TestClient] = []

    def start(theme: str | None = None) -> TestClient:
        if theme is not None:
            clean_env.setenv("THEME", theme)
        client = TestClient(create_app())
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("theme", ["default", "berry"])
def test_every_page_renders_in_the_theme_with_labelled_controls(client_for, theme: str) -> None:
    client = client_for(theme)
    for page in PAGES:
        response = client.get(page.path)
        assert response.status_code == 200, page.path
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert f'data-theme="{theme}"' in html, page.path
        assert f'data-page="{page.name}"' in html
        if page.in_nav:
            assert THEME_MARKERS[theme] in html, page.path
            for other in (item for item in PAGES if item.in_nav):
                assert f'href="{other.path}"' in html
        parsed = _Page()
        parsed.feed(html)
        for control in parsed.controls:
            if control.get("type") == "hidden" or "hidden" in control:
                continue
            labelled = (control.get("id") in parsed.label_targets or control.get("aria-label")
                        or control.get("_wrapped"))
            assert labelled, f"{page.path}: control {control} has no label"
        for resource in parsed.resources:
            assert resource.startswith("/"), f"{page.path} loads {resource} from another site"


def test_themes_differ_in_layout_not_only_colour(client_for) -> None:
    default = client_for("default").get("/channel").text
    berry = client_for("berry").get("/channel").text
    assert '<dialog class="modal"' in default and '<dialog class="drawer"' in berry
    assert "nav-section" in berry and "nav-section" not in default
    assert 'class="outlined' in berry and 'class="field"' in default


def test_static_assets_are_served(client_for) -> None:
    client = client_for()
    assets = sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*")
                    if path.is_file())
    assert {"js/main.js", "chart.js", "default/theme.css", "berry/theme.css"} <= set(assets)
    for asset in assets:
        path = f"/static/{asset}"
        response = client.get(path)
        assert response.status_code == 200, path
        addresses = set(re.findall(r"https?://[^\s\"'`)]+", response.text)) - {"http://www.w3.org/2000/svg"}
        assert not addresses, f"{path} refers to {addresses}"


def test_root_redirects_to_the_dashboard(client_for) -> None:
    response = client_for().get("/", follow_redirects=False)
    assert response.status_code in (301, 302, 307)
    assert response.headers["location"] == "/dashboard"


def test_unknown_theme_warns_and_falls_back_to_default(client_for, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="oneapi.config"):
        client = client_for("purple-unicorn")
    assert 'data-theme="default"' in client.get("/login").text
    assert any("purple-unicorn" in record.getMessage() for record in caplog.records)


def test_stored_theme_option_overrides_the_environment(client_for) -> None:
    client = client_for("default")
    with session_scope() as session:
        options.save(session, "Theme", "berry")
    try:
        assert 'data-theme="berry"' in client.get("/dashboard").text
        with session_scope() as session:
            options.save(session, "Theme", "no-such-theme")
        assert 'data-theme="default"' in client.get("/dashboard").text
    finally:
        with session_scope() as session:
            options.save(session, "Theme", "")


def test_settings_page_shows_the_price_table_in_dollars(client_for) -> None:
    html = client_for().get("/setting").text
    assert "gpt-4o" in html
    assert 'id="opt-DisplayInCurrencyEnabled"' in html and 'id="opt-QuotaPerUnit"' in html
    # secrets are write-only fields; the rest of the email and Turnstile options are plain ones
    assert re.search(r'id="opt-SMTPToken" name="SMTPToken" type="password"', html)
    assert 'id="opt-SMTPServer"' in html and 'id="opt-TurnstileSiteKey"' in html


def test_turnstile_widget_only_when_the_check_is_on(client_for) -> None:
    client = client_for()
    assert "cf-turnstile" not in client.get("/register").text
    with session_scope() as session:
        options.save(session, "TurnstileSiteKey", "site-key-1")
        options.save(session, "TurnstileCheckEnabled", "true")
    try:
        for path in ("/register", "/reset"):
            assert 'data-sitekey="site-key-1"' in client.get(path).text
        assert "Reset it" in client.get("/login").text
    finally:
        with session_scope() as session:
            options.save(session, "TurnstileCheckEnabled", "false")


def test_channel_page_carries_the_type_defaults(client_for) -> None:
    html = client_for().get("/channel").text
    assert '"base_url": "https://api.openai.com"' in html
    assert "Test all channels" in html and "<progress" in html


def test_site_name_from_the_options_is_escaped(client_for) -> None:
    client = client_for()
    with session_scope() as session:
        options.save(session, "SystemName", "<script>alert(1)</script>Gate")
    try:
        html = client.get("/login").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;Gate" in html
        assert "<script>alert(1)" not in html
    finally:
        with session_scope() as session:
            options.save(session, "SystemName", "One API")


@pytest.mark.parametrize("limit", ["3", "0"])
def test_global_web_rate_limit(clean_env: pytest.MonkeyPatch, limit: str) -> None:
    """GLOBAL_WEB_RATE_LIMIT counts pages and static files per IP, apart from the API's budget."""
    clean_env.setenv("GLOBAL_WEB_RATE_LIMIT", limit)
    clean_env.setenv("GLOBAL_API_RATE_LIMIT", "0")
    with TestClient(create_app()) as client:
        codes = [client.get("/login").status_code, client.get("/static/chart.js").status_code,
                 client.get("/login").status_code, client.get("/static/chart.js").status_code,
                 client.get("/dashboard", follow_redirects=False).status_code]
        if limit == "0":
            assert codes == [200, 200, 200, 200, 200]
        else:
            assert codes == [200, 200, 200, 429, 429]
            assert int(client.get("/login").headers["retry-after"]) > 100
        assert client.get("/api/status").status_code == 200  # the API has its own budget
        assert client.get("/healthz").status_code == 200
