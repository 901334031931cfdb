"""Order cycles (selling windows), their fees, and schedules (named sets of cycles)."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cadence.catalog.models import Variant
from cadence.enterprises.models import Enterprise


class OrderCycle(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="order_cycles")
    name = models.CharField(_("name"), max_length=200)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    variants = models.ManyToManyField(Variant, related_name="order_cycles", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["opens_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")), name="order_cycle_opens_before_closes"
            )
        ]
        indexes = [models.Index(fields=["closes_at"]), models.Index(fields=["opens_at"])]

    def __str__(self) -> str:
        return self.name


class FeeKind(models.TextChoices):
    PER_ORDER = "per_order", _("Per order")
    PER_ITEM = "per_item", _("Per item")
    PERCENT = "percent", _("Percent of items")


class OrderCycleFee(models.Model):
    order_cycle = models.ForeignKey(OrderCycle, on_delete=models.CASCADE, related_name="fees")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=FeeKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_amount_not_negative")
        ]

    def __str__(self) -> str:
        return self.name


class Schedule(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="schedules")
    name = models.CharField(_("name"), max_length=200)
    order_cycles = models.ManyToManyField(OrderCycle, related_name="schedules", blank=True)
    # A schedule that only canceled subscriptions still point at is deleted softly: they keep
    # their history, while the schedule disappears from lists and lets go of its cycles.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
