"""Orders with their line items and fee adjustments, and the shop's shipping methods."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cadence.catalog.models import Variant
from cadence.customers.models import Customer
from cadence.cycles.models import OrderCycle
from cadence.enterprises.models import Enterprise


class ShippingMethod(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="shipping_methods")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2, default=0)
    requires_address = models.BooleanField(_("requires an address"), default=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="shipping_fee_not_negative")
        ]

    def __str__(self) -> str:
        return self.name


class OrderState(models.TextChoices):
    COMPLETE = "complete", _("Placed")
    CANCELED = "canceled", _("Canceled")
    CONFIRMED = "confirmed", _("Confirmed")


class PaymentState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    REQUIRES_AUTHORIZATION = "requires_authorization", _("Awaiting authorisation")
    VOID = "void", _("Void")


class Order(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="orders")
    order_cycle = models.ForeignKey(OrderCycle, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(_("email"))
    state = models.CharField(max_length=20, choices=OrderState.choices, default=OrderState.COMPLETE)
    payment_state = models.CharField(
        max_length=30, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    currency = models.CharField(max_length=3, default="EUR")
    shipping_method = models.ForeignKey(
        ShippingMethod, null=True, on_delete=models.PROTECT, related_name="orders"
    )
    bill_address = models.JSONField(null=True, blank=True)
    ship_address = models.JSONField(null=True, blank=True)
    item_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    fee_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # What the subscription last wrote into this order, part by part; a part that differs from
    # it now was changed by hand and is left alone by subscription edits.
    sync_snapshot = models.JSONField(default=dict, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order_cycle", "state"])]

    def __str__(self) -> str:
        return self.number


class LineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(_("quantity"))
    requested_quantity = models.IntegerField(_("requested quantity"))
    price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="line_item_quantity_gte_0"),
            models.UniqueConstraint(fields=["order", "variant"], name="uniq_line_item_variant"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class AdjustmentKind(models.TextChoices):
    SHIPPING = "shipping", _("Shipping")
    PAYMENT = "payment", _("Payment")
    ORDER_CYCLE = "order_cycle", _("Order cycle fee")


class Adjustment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments")
    kind = models.CharField(max_length=20, choices=AdjustmentKind.choices)
    label = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.label}: {self.amount}"
