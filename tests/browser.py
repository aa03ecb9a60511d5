"""A real browser for the web pages' tests: Debian's Chromium (scripts/test-browser; `./run tests`
sets GRIDLINE_TEST_CHROMIUM), driven by Playwright's Python package pointed at it.

    async def test_something(browser_page):
        await browser_page.goto(url)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest


def chromium_path() -> str:
    path = os.environ.get("GRIDLINE_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no Chromium: run the tests with ./run tests (scripts/test-browser installs Debian's chromium)")
    return path


@pytest.fixture
async def browser_page() -> AsyncIterator[object]:
    """A fresh page (1280x800) in a headless Chromium of its own, closed after the test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            yield page
        finally:
            await browser.close()
