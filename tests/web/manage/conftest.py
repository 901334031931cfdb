"""Fixtures of the back-office tests: a shop with its manager, the three kinds of visitor who
must not see it, and a query counter for list pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support import factories


@pytest.fixture
def manager(db):
    return factories.user("manager@example.org")


@pytest.fixture
def shop(manager):
    return factories.shop("Ferme du Val", managers=[manager], timezone="Europe/Paris")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def outsiders(db, client):
    """(label, client) for the visitors who must get a 404 or the sign-in page: anonymous, a
    buyer, and the manager of another shop."""
    from django.test import Client

    buyer, other = Client(), Client()
    buyer.force_login(factories.user("buyer@example.org"))
    other_manager = factories.user("other@example.org")
    factories.shop("Other shop", managers=[other_manager])
    other.force_login(other_manager)
    return [("anonymous", Client()), ("buyer", buyer), ("other manager", other)]


@pytest.fixture
def assert_hidden(outsiders) -> Callable[..., None]:
    """Assert that GET (or POST) `url` shows nothing to outsiders: the sign-in page for
    anonymous visitors, 404 for the others."""

    def check(url: str, *, method: str = "get", data: dict | None = None) -> None:
        for label, visitor in outsiders:
            response = getattr(visitor, method)(url, data or {})
            if label == "anonymous":
                assert response.status_code == 302, (label, url)
                assert response["Location"].startswith("/accounts/login/"), (label, url)
            else:
                assert response.status_code == 404, (label, url, response.status_code)

    return check


@pytest.fixture
def count_queries() -> Callable[..., int]:
    """The number of queries a GET of `url` runs (asserting it answers 200)."""

    def count(client, url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return len(queries.captured_queries)

    return count
