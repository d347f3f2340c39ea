"""Headless Debian Chromium driven by Playwright (its own browser download is not used)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = os.environ.get("POLICYQA_CHROMIUM", "/usr/bin/chromium")
# The flags keep Chromium off the network (this machine has none) and out of the sandbox it can't have as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: scripts/test.sh installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page_at(browser, server, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=server, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser, server):
    """A 375 px wide phone screen."""
    yield from _page_at(browser, server, 375, 740)


@pytest.fixture
def desktop(browser, server):
    yield from _page_at(browser, server, 1280, 900)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
