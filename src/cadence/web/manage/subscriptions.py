"""The shop's subscriptions: the list (filters, search, columns), each subscription's page
(deliveries, history) and the pause, unpause, cancel, skip and resume actions."""

from __future__ import annotations

urlpatterns: list = []
