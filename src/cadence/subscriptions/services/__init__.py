"""Writes on subscriptions, split by use case: lifecycle (create, edit, pause, cancel, skip),
sync (proxy orders), scheduling (cycles and schedules), order_sync (edits reaching placed
orders), placement and confirmation (the engine)."""
