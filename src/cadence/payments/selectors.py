"""Reads on payments: a shop's payment methods, saved cards and whether a shop may charge a
buyer."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager
from cadence.payments.models import ChargeConsent, PaymentMethod, SavedCard


def payment_methods_for_shop(*, shop: Enterprise) -> QuerySet[PaymentMethod]:
    """The shop's payment methods, inactive ones included, by name."""
    return PaymentMethod.objects.filter(shop=shop).order_by("name", "id")


def default_card_for(user) -> SavedCard | None:
    if user is None:
        return None
    return SavedCard.objects.filter(user=user, is_default=True, usable_off_session=True).first()


def charges_allowed(*, user, shop) -> bool:
    if user is None:
        return False
    return ChargeConsent.objects.filter(user=user, shop=shop, withdrawn_at__isnull=True).exists()


def stripe_charge_problems(*, customer: Customer) -> list[str]:
    """Why the customer's shop cannot charge them off-session ([] when it can).

    Used to validate subscriptions with a Stripe method, at create and at update."""
    if customer.user_id is None:
        return [_("this customer has no user account, so no card can be charged")]
    problems = []
    if not charges_allowed(user=customer.user, shop=customer.shop):
        problems.append(_("charges are not allowed by this customer"))
    if default_card_for(customer.user) is None:
        problems.append(_("no default card available for this customer"))
    return problems


def payment_method_for_manager(*, user, payment_method_id: int) -> PaymentMethod:
    """The payment method if the user manages its shop (or is staff); raises NotFound
    otherwise."""
    return object_for_manager(
        user=user,
        queryset=PaymentMethod.objects.select_related("shop"),
        pk=payment_method_id,
        label=_("Payment method"),
    )
