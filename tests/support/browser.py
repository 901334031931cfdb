"""Helpers for browser tests: Playwright driving Debian's Chromium, and ORM calls made safely
between browser steps."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
# A phone's width, as the pages must fit it.
PHONE_WIDTH = 390


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_page(monkeypatch, request=None, *, viewport: dict | None = None) -> Iterator:
    """Yield a page of a headless Chromium, closed afterwards; skip the test, with the reason
    printed, when Chromium or Playwright is missing. For a fixture that also depends on
    `live_server`, so that the browser closes first, ending its connections.

    Given the fixture's `request`, a test that fails leaves a full-page screenshot in
    `test-artifacts/<test name>.png` (its path is printed)."""
    if not os.path.exists(CHROMIUM):
        print(f"skipping browser test: {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipping browser test: playwright is not installed")
        pytest.skip("playwright is not installed")
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous and made between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        report = getattr(request.node, "rep_call", None) if request is not None else None
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failing page: {shot}")
            except Exception as exc:  # the page may be gone; the test's own error matters more
                print(f"no screenshot of the failing page: {exc}")
        browser.close()


def in_db(fn):
    """Run `fn` (ORM calls) in a thread of its own and close its connection afterwards.

    While Playwright's sync API runs, ORM calls made directly in the test would open a
    connection in Playwright's context that nothing closes, and the test database could not
    be dropped at the end."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


# Records the browser's `securitypolicyviolation` events; injected by Playwright before the
# page's own scripts, so the policy does not apply to it.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def watch_csp(page) -> list[str]:
    """Every Content-Security-Policy complaint of the page from now on: console errors
    (Chromium prints one per refusal) and, see `violations`, the DOM's events."""
    complaints: list[str] = []
    page.add_init_script(_RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda msg: (
            complaints.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return complaints


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def playwright_expect():
    """Playwright's auto-waiting `expect`, imported when used: without Playwright the tests
    are skipped by the page fixtures rather than broken at import."""
    from playwright.sync_api import expect

    return expect


def squash(text: str) -> str:
    """Text as compared in browser tests: runs of whitespace (French writes no-break spaces
    before `€` and inside « ») read as one space."""
    return re.sub(r"\s+", " ", text).strip()


def text_of(locator) -> str:
    return squash(locator.inner_text())
