"""A common user's own pages in a real browser, under each theme: the models and prices of
their group, the playground streaming an answer from a local mock upstream through the
gateway's /v1 and showing its cost (and stopping one), a log row's detail (and root's, with
the channel path), and the dashboard's chart over a chosen period with the top tokens."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.upstreams import REPLY, OpenAIUpstream
from tests.web.test_browser import Shots, _eventually_contains, _open, _ready, _sign_in

pytestmark = pytest.mark.browser

PASSWORD = "alice-password"


class _Models(OpenAIUpstream):
    MODEL_IDS = ("gpt-4o-mini", "gpt-4o")


def _ok(response: httpx.Response) -> object:
    body = response.json()
    assert body["success"], body
    return body["data"]


@pytest.fixture(params=["default", "berry"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, GatewayProcess, _Models]]:
    """A gateway where alice is in group vip (half price); vip may call two models through the
    mock upstream, and only group default may call claude."""
    theme = str(request.param)
    with _Models(chunk_delay=0.15) as upstream, run_gateway(tmp_path, {"THEME": theme}) as gateway:
        with httpx.Client(base_url=gateway.base_url) as root:
            _ok(root.post("/api/user/login", json={"username": "root", "password": "123456"}))
            _ok(root.put("/api/pricing/", json={"GroupRatio": {"default": 1, "vip": 0.5}}))
            _ok(root.post("/api/user/", json={"username": "alice", "password": PASSWORD}))
            alice_id = next(user["id"] for user in _ok(root.get("/api/user/search?keyword=alice"))  # type: ignore[attr-defined]
                            if user["username"] == "alice")
            _ok(root.put("/api/user/", json={"id": alice_id, "username": "alice", "group": "vip",
                                             "quota": 50_000_000}))
            _ok(root.post("/api/channel/", json={"type": 1, "name": "mock", "key": "sk-upstream",
                                                 "base_url": upstream.url, "models": "gpt-4o-mini,gpt-4o",
                                                 "group": "vip"}))
            _ok(root.post("/api/channel/", json={"type": 14, "name": "claude", "key": "sk-ant",
                                                 "base_url": "http://127.0.0.1:9",
                                                 "models": "claude-sonnet-4-5", "group": "default"}))
        with httpx.Client(base_url=gateway.base_url) as alice:
            _ok(alice.post("/api/user/login", json={"username": "alice", "password": PASSWORD}))
            _ok(alice.post("/api/token/", json={"name": "playground-key", "unlimited_quota": True}))
        yield theme, gateway, upstream


def test_models_playground_log_detail_and_dashboard(browser: object,
                                                    site: tuple[str, GatewayProcess, _Models]) -> None:
    from playwright.sync_api import expect

    theme, gateway, upstream = site
    base = gateway.base_url
    shots = Shots(f"{theme}-user-pages")
    context = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/login")
    _ready(page)
    _sign_in(page, "alice", PASSWORD)
    page.wait_for_url("**/dashboard")
    _ready(page)
    expect(page.get_by_role("link", name="Playground")).to_be_visible()

    # Models and prices: what vip may call, at half price ($2.50 / $10 per 1M for gpt-4o).
    _open(page, base, "/models")
    rows = page.locator("#models tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#models")).not_to_contain_text("claude")
    expect(page.locator("#models-group")).to_have_text("vip")
    expect(page.locator("#models-group-ratio")).to_have_text("0.5")
    expect(rows.nth(0)).to_contain_text("gpt-4o")
    expect(rows.nth(0)).to_contain_text("OpenAI")
    prices = rows.nth(0).inner_text()
    assert re.search(r"\$1\.25\s+\$5\.00\s+\$0\.625\s+\$1\.25", prices), prices  # in, out, cache r/w
    expect(rows.nth(1)).to_contain_text("$0.075")  # gpt-4o-mini's $0.15, halved: not rounded to cents
    page.get_by_label("Search models").fill("mini")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("gpt-4o-mini")
    page.get_by_label("Search models").fill("")
    page.get_by_label("Vendor").select_option("OpenAI")
    expect(rows).to_have_count(2)
    expect(page.locator("#models-count")).to_have_text("2 of 2 models")
    shots.take(page, "models")

    # The playground: Try from the models page picks the model; the answer streams in.
    rows.filter(has_text="gpt-4o-mini").get_by_role("link", name="Try").click()
    page.wait_for_url("**/playground?model=gpt-4o-mini")
    _ready(page)
    expect(page.get_by_label("Model", exact=True)).to_have_value("gpt-4o-mini")
    expect(page.get_by_label("Token", exact=True)).to_have_value(re.compile(r"^\d+$"))
    page.get_by_label("System prompt").fill("Answer briefly.")
    page.get_by_label("Temperature").fill("0.5")
    page.get_by_label("Max tokens").fill("50")
    page.get_by_label("Message").fill("Hi")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".chat-assistant").last
    expect(answer.locator(".chat-text")).to_contain_text("Hello")
    partial = answer.locator(".chat-text").inner_text()
    assert partial != REPLY, "the answer arrived in one piece, not streamed"
    expect(answer.locator(".chat-text")).to_have_text(REPLY)
    # 11 prompt + 6 completion tokens of gpt-4o-mini: (11 + 6 * 4) * 0.075 * 0.5 -> 2 quota
    expect(answer.locator("[data-usage]")).to_contain_text(
        "11 prompt tokens · 6 completion tokens · cost $0.000004")
    sent = upstream.received[-1].json()
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.5 and sent["max_tokens"] == 50
    assert sent["messages"] == [{"role": "system", "content": "Answer briefly."},
                                {"role": "user", "content": "Hi"}]
    shots.take(page, "playground")

    upstream.chunk_delay = 1.0  # slow enough to stop mid-answer
    page.get_by_label("Message").fill("Again")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("button", name="Stop")).to_be_enabled()
    expect(page.locator(".chat-assistant").last.locator(".chat-text")).to_contain_text("Hello")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".chat-assistant").last.locator("[data-usage]")).to_have_text("Stopped.")
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    assert len(upstream.received[-1].json()["messages"]) == 4  # the history went with it
    upstream.chunk_delay = 0.0
    shots.take(page, "playground-stopped")

    # A log row's detail: ratios and cost for the owner, not the channel path.
    _eventually_contains(page, base, "/log", "#logs", ["gpt-4o-mini", "playground-key"])
    page.locator("#logs tbody tr", has_text="gpt-4o-mini").last.get_by_role("button", name="Details").click()
    detail = page.locator("#log-detail-dialog")
    expect(detail).to_be_visible()
    expect(detail.locator('[data-detail="Request ID"]')).to_have_text(re.compile(r"\S{6,}"))
    expect(detail.locator('[data-detail="Group ratio"]')).to_have_text("0.5")
    expect(detail.locator('[data-detail="Model ratio"]')).to_have_text("0.075")
    expect(detail.locator('[data-detail="Cost"]')).to_have_text("$0.000004")
    expect(detail.locator('[data-detail="Prompt tokens"]')).to_have_text("11")
    expect(detail.locator('[data-detail="Stream"]')).to_have_text("Yes")
    expect(detail.locator('[data-detail="Channels tried"]')).to_have_count(0)
    shots.take(page, "log-detail")
    detail.get_by_role("button", name="Close").click()
    expect(detail).to_be_hidden()

    # The dashboard: the chart over a chosen period, the top tokens, an empty period.
    _open(page, base, "/dashboard")
    expect(page.locator("#chart-daily svg")).to_be_visible()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    expect(page.get_by_label("To")).to_have_value(today)
    page.get_by_label("From").fill(time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * 86400)))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#chart-daily .chart-legend")).to_contain_text("gpt-4o-mini")
    axis = page.locator("#chart-daily svg text.axis")
    labels = axis.evaluate_all("texts => texts.map((t) => t.textContent)")
    assert today[5:] in labels and len([label for label in labels if re.fullmatch(r"\d\d-\d\d", label)]) <= 10
    expect(page.locator("#top-tokens tbody tr").first).to_contain_text("playground-key")
    expect(page.locator("#top-tokens tbody tr").first).to_contain_text("100.0%")
    shots.take(page, "dashboard-period")
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To").fill("2020-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#chart-daily")).to_contain_text("No usage in this period.")
    expect(page.locator("#top-tokens")).to_contain_text("No token spent anything in this period.")
    page.get_by_role("button", name="Last 7 days").click()
    expect(page.locator("#chart-daily svg")).to_be_visible()
    context.close()

    # Root sees the channel path and the upstream model in the same detail.
    admin = browser.new_context(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    root_page = admin.new_page()
    root_page.on("pageerror", lambda error: errors.append(str(error)))
    root_page.goto(f"{base}/login")
    _ready(root_page)
    _sign_in(root_page, "root", "123456")
    root_page.wait_for_url(re.compile(r".*/(dashboard|profile#password)$"))
    _open(root_page, base, "/log")
    # a click anywhere on the row opens it too
    root_page.locator("#logs tbody tr", has_text="gpt-4o-mini").last.locator("td").first.click()
    root_detail = root_page.locator("#log-detail-dialog")
    expect(root_detail.locator('[data-detail="Channels tried"]')).to_have_text("#1")
    expect(root_detail.locator('[data-detail="Upstream model"]')).to_have_text("gpt-4o-mini")
    shots.take(root_page, "log-detail-root")
    admin.close()
    assert errors == []
