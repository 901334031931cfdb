"""A shop's customer list. Addresses are stored as JSON copies (see `customers.domain`).

A removed customer that orders or past subscriptions still refer to is kept as a soft-deleted
row (`deleted_at` set) so that history stays intact; reads for managers and buyers skip it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from cadence.enterprises.models import Enterprise


class Customer(models.Model):
    shop = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(_("email"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    code = models.CharField(_("code"), max_length=50, blank=True)
    tags = models.CharField(_("tags"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    bill_address = models.JSONField(_("bill address"), null=True, blank=True)
    ship_address = models.JSONField(_("ship address"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email", "id"]
        constraints = [
            # Only live customers hold their email: once removed, the same buyer can be added
            # again as a new customer while the old row stays attached to past orders.
            models.UniqueConstraint(
                Lower("email"),
                "shop",
                condition=Q(deleted_at__isnull=True),
                name="uniq_customer_email_per_shop",
            )
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
