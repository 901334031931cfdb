"""Products and variants: what producers supply and shops sell, with price and stock."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cadence.enterprises.models import Enterprise


class Product(models.Model):
    supplier = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("name"), max_length=200)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    name = models.CharField(_("name"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=50, blank=True)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    on_hand = models.IntegerField(_("on hand"), default=0)
    on_demand = models.BooleanField(_("on demand"), default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="variant_on_hand_not_negative"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        parts = [self.product.name]
        if self.name:
            parts.append(self.name)
        if self.unit and self.unit not in self.name.split():
            parts.append(self.unit)
        return " - ".join(parts)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None or self.product.deleted_at is not None
