"""A cycle's orders, an order's page, and the cycle's placement and confirmation results."""

from __future__ import annotations

urlpatterns: list = []
