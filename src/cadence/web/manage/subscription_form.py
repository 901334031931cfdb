"""Creating and editing a subscription: one form in steps (details, addresses, products,
review), with the product and customer searches it uses."""

from __future__ import annotations

urlpatterns: list = []
