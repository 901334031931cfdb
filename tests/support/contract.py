"""Facts of the API contract that several test suites assert."""

from __future__ import annotations

# The fields of a subscription's detail, as the API contract lists them.
SUBSCRIPTION_FIELDS = frozenset(
    {
        "id",
        "status",
        "customer_id",
        "schedule_id",
        "payment_method_id",
        "shipping_method_id",
        "begins_at",
        "ends_at",
        "paused_at",
        "resume_on",
        "canceled_at",
        "bill_address",
        "ship_address",
        "line_items",
        "estimates",
    }
)
