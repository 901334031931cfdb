"""Enterprises (shops and producers), their managers and the permissions between them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AllocationPolicy(models.TextChoices):
    FIRST_COME = "first_come", _("First come, first served")
    FAIR_SHARE = "fair_share", _("Fair share")


class Language(models.TextChoices):
    """Languages a shop's own emails (placement and confirmation summaries) are written in."""

    ENGLISH = "en", _("English")
    FRENCH = "fr", _("French")


class Enterprise(models.Model):
    name = models.CharField(_("name"), max_length=200)
    is_shop = models.BooleanField(_("is a shop"), default=True)
    is_producer = models.BooleanField(_("is a producer"), default=False)
    contact_email = models.EmailField(_("contact email"), blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    enable_subscriptions = models.BooleanField(_("enable subscriptions"), default=False)
    allow_order_changes = models.BooleanField(_("allow order changes"), default=False)
    allow_self_subscribe = models.BooleanField(_("allow self-subscribe"), default=False)
    send_subscription_emails = models.BooleanField(_("send subscription emails"), default=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    allocation_policy = models.CharField(
        _("allocation policy"),
        max_length=20,
        choices=AllocationPolicy.choices,
        default=AllocationPolicy.FIRST_COME,
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="managed_enterprises", blank=True
    )
    suppliers = models.ManyToManyField(
        "self",
        symmetrical=False,
        through="SupplierPermission",
        through_fields=("shop", "producer"),
        related_name="supplied_shops",
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return self.name


class SupplierPermission(models.Model):
    """A producer lets a shop sell its variants."""

    producer = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+")
    shop = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["producer", "shop"], name="uniq_supplier_permission")
        ]

    def __str__(self) -> str:
        return f"{self.producer_id} → {self.shop_id}"
