"""The operators' admin: every registered model's list, search and change pages render."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from cadence import demo

pytestmark = pytest.mark.django_db


def test_admin_pages_render_for_every_model(client):
    """With the demo loaded (one load for all models, to keep this fast), each of our models'
    changelist, its search, and the change page of its first row answer 200 to staff."""
    demo.demo_load()
    client.force_login(get_user_model().objects.get(username=demo.STAFF_EMAIL))
    models = [m for m in admin.site._registry if m.__module__.startswith("cadence.")]
    assert len(models) >= 15

    for model in models:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        if admin.site._registry[model].search_fields:
            assert client.get(changelist, {"q": "a"}).status_code == 200, changelist
        first = model.objects.order_by("pk").first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change


def test_admin_is_closed_to_managers(client, django_user_model):
    """A manager who is not staff is sent to the admin's sign-in page."""
    client.force_login(django_user_model.objects.create_user(username="m@example.org"))
    response = client.get("/admin/subscriptions/subscription/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
