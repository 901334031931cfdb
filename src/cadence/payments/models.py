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
    state = models.CharField(
        max_length=30, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    error = models.TextField(blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.amount} ({self.state})"


class StripeCustomer(models.Model):
    """The instance's Stripe Customer for a buyer (one per user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class SavedCard(models.Model):
    """A buyer's card saved with a SetupIntent; only cards set up for off-session use may be
    the default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cards"
    )
    stripe_payment_method_id = models.CharField(max_length=100, unique=True)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.IntegerField(null=True, blank=True)
    exp_year = models.IntegerField(null=True, blank=True)
    usable_off_session = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="one_default_card_per_user"
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(usable_off_session=True),
                name="default_card_usable_off_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class ChargeConsent(models.Model):
    """A buyer's consent that a shop may charge their default card off-session ("allow charges").

    The row is kept when consent is withdrawn (`withdrawn_at`), as a record of what was agreed.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shop = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "shop"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_live_consent_per_user_shop",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.shop_id}"


class StripeEvent(models.Model):
    """Webhook events already processed; the unique id is what makes replays harmless."""

    stripe_event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_event_id
