"""Headless Chromium from Debian for the browser tests, and where their screenshots go."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway import ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (never a downloaded browser), for ``tests/web`` only.

    Playwright's sync API marks its own event loop as running in the main thread for as
    long as it is open, so it must be closed when the browser tests are done: held for the
    session, it made every later asyncio test fail ("Runner.run() cannot be called from a
    running event loop").
    """
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.rglob("*.png")):
        terminalreporter.write_line(f"web UI screenshots: {SCREENSHOTS}")
