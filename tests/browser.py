"""The web client in a real browser: Debian's Chromium driven by Playwright (no browser download).

The app runs on its own origin, as on the CDN, so every API call and upload crosses origins under
the template's CORS rules. Tests save screenshots under tests/artifacts/ (ignored by git)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (CI runs as root), and nothing that reaches for Google's hosts on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "tests/artifacts"


@contextmanager
def chromium() -> Iterator[Browser]:
    """The browser, or a skip where it is not installed (a failure where CI requires it)."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: tools/setup-browser.sh installs Debian's"
        if os.environ.get("APERTURE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def signed_in(browser: Browser, app_url: str, user_id: str) -> Page:
    """A fresh tab (its own session storage) with ``user_id`` signed in by the dev login."""
    page = browser.new_context(viewport={"width": 700, "height": 900}).new_page()
    page.goto(app_url)
    page.fill("input[name=user_id]", user_id)
    page.click("#signin button")
    page.wait_for_selector("body[data-ready=true]")
    return page


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")
