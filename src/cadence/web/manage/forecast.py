"""The forecast of an upcoming or open cycle: what subscriptions will ask for, against stock."""

from __future__ import annotations

urlpatterns: list = []
