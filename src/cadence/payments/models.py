"""Payment methods, payments of orders, buyers' saved cards and their per-shop consent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cadence.enterprises.models import Enterprise
from cadence.orders.models import Order, PaymentState


class PaymentMethodKind(models.TextChoices):
    MANUAL = "manual", _("Manual (cash, cheque, bank transfer)")
    STRIPE = "stripe", _("Stripe")
    OTHER = "other", _("Other")


class PaymentMethod(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="payment_methods")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=PaymentMethodKind.choices)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2, default=0)
    fee_percent = models.DecimalField(_("fee percent"), max_digits=6, decimal_places=3, default=0)
    stripe_account = models.CharField(_("Stripe connected account"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(fee_percent__gte=0), name="payment_fee_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    state = models.CharField(max_length=30, choices=PaymentState.choices, default=PaymentState.PENDING)
    error = models.TextField(blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
