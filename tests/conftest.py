"""Test set-up shared by the whole suite.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points at one.
Tests marked `postgres` need PostgreSQL's locking and are skipped, with the reason printed,
on SQLite; CI runs the suite on both.
"""

from __future__ import annotations

import pytest
from django.db import connection

# Fixtures shared by several directories, registered once for the whole suite. The builders
# and helpers of tests live in tests/support; test modules import only from there.
pytest_plugins = [
    "tests.support.smtp",
    "tests.support.stripe",
    "tests.support.worlds",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (row locks, concurrency)")
    config.addinivalue_line("markers", "browser: needs Chromium and Playwright")


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run the suite with DATABASE_URL=postgres://... (CI does)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Tasks run at once in tests unless a test asks for the database backend."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Users are made by the hundred in tests; the production hasher costs ~0.3 s each."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`rep_call`…), so that a browser fixture can
    tell whether its test failed and save a screenshot."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
