"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

They are marked `browser` and skipped, with the reason printed, when Chromium or Playwright is
missing. The payment fixtures (localstripe) come from tests/support/stripe.py.
"""

from __future__ import annotations

import pytest

from tests.support.browser import PHONE_WIDTH, chromium_page


@pytest.fixture
def browser_page(monkeypatch, live_server, request):
    # (Depending on live_server makes the browser close first, ending its connections.)
    yield from chromium_page(monkeypatch, request)


@pytest.fixture
def phone_page(monkeypatch, live_server, request):
    yield from chromium_page(monkeypatch, request, viewport={"width": PHONE_WIDTH, "height": 844})
