"""Helpers for API tests: a client per user, authenticated with a real bearer token."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cadence.api.models import ApiToken


class ApiClient:
    """Calls /api/v1 as one user (or anonymously) and decodes the JSON answer."""

    def __init__(self, user=None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            _token, raw = ApiToken.issue(user)
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"

    def call(self, method: str, path: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = dict(self.headers)
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        response = getattr(self.client, method.lower())(f"/api/v1{path}", **kwargs)
        response.data = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **query):
        kwargs = dict(self.headers)
        response = self.client.get(f"/api/v1{path}", query, **kwargs)
        response.data = json.loads(response.content) if response.content else None
        return response

    def post(self, path, body=None, **kw):
        return self.call("post", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("patch", path, body if body is not None else {}, **kw)

    def delete(self, path):
        return self.call("delete", path)


@pytest.fixture
def as_user(db):
    """`as_user(user)` → an ApiClient for that user; `as_user(None)` is anonymous."""
    return ApiClient
