"""Subscriptions (standing orders), their line items, proxy orders and audit events."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cadence.catalog.models import Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle, Schedule
from cadence.enterprises.models import Enterprise
from cadence.orders.models import Order, ShippingMethod
from cadence.payments.models import PaymentMethod


class Subscription(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="subscriptions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="subscriptions")
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    shipping_method = models.ForeignKey(ShippingMethod, on_delete=models.PROTECT, related_name="+")
    bill_address = models.JSONField(_("bill address"))
    ship_address = models.JSONField(_("ship address"))
    begins_at = models.DateTimeField(_("begins at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resume_on = models.DateField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    shipping_fee_estimate = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    payment_fee_estimate = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        # A shop's list in its default order reads its first page from the index, however
        # many subscriptions the shop has.
        indexes = [
            models.Index(fields=["shop", "created_at", "id"], name="subscription_shop_order")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("begins_at")),
                name="subscription_ends_after_begins",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class SubscriptionLineItem(models.Model):
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="line_items"
    )
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(_("quantity"))
    price_estimate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="sub_line_quantity_positive"),
            models.UniqueConstraint(
                fields=["subscription", "variant"], name="uniq_subscription_variant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class ProxyOrderState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PLACED = "placed", _("Placed")
    EMPTY = "empty", _("Empty")
    CANCELED = "canceled", _("Skipped")
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Failed")


class ProxyOrder(models.Model):
    # No index of their own: the unique (subscription, order_cycle) and the (order_cycle,
    # state) indexes lead with them, and every index is one more write per proxy order
    # placed, confirmed or skipped.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="proxy_orders", db_index=False
    )
    order_cycle = models.ForeignKey(
        OrderCycle, on_delete=models.PROTECT, related_name="proxy_orders", db_index=False
    )
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="proxy_order"
    )
    state = models.CharField(
        max_length=20, choices=ProxyOrderState.choices, default=ProxyOrderState.PENDING
    )
    reason = models.TextField(blank=True)
    # Counted in its cycle's stored allocation (`CycleAllocation`): its share of scarce
    # stock is held for it until it is placed or leaves the pending state.
    allocated = models.BooleanField(default=False, db_default=False)
    placed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_cycle__closes_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "order_cycle"], name="uniq_proxy_order_per_cycle"
            )
        ]
        indexes = [models.Index(fields=["order_cycle", "state"])]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.state})"


class CycleAllocation(models.Model):
    """Who gets a cycle's scarce stock, decided once when its placement starts.

    Computed from the full stock over every proxy order eligible then (those get
    `allocated`), stored before the first chunk, and read by every chunk, re-run and
    worker, so a crash or a catch-up never changes who gets what. `shares` is the per-variant
    division in the form of `cycle_allocation.shares_to_json`; variants with enough stock are not
    in it. One per cycle: the one-to-one key makes two workers store one and read the same.
    """

    order_cycle = models.OneToOneField(
        OrderCycle, on_delete=models.CASCADE, related_name="allocation"
    )
    policy = models.CharField(max_length=20)
    shares = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"allocation of cycle #{self.order_cycle_id}"


class SubscriptionEvent(models.Model):
    """The audit trail: who did what to a subscription, and when."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.kind
