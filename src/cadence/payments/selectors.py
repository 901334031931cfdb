"""Reads on payments: a shop's payment methods, saved cards and whether a shop may charge a
buyer."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.enterprises.selectors import object_for_manager
from cadence.payments import cards
from cadence.payments.models import ChargeConsent, Payment, PaymentMethod, SavedCard


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


def saved_cards_of(user, *, default_first: bool = False) -> QuerySet[SavedCard]:
    """The buyer's saved cards in the order they were saved (the default one first with
    `default_first`)."""
    order = ("-is_default", "pk") if default_first else ("pk",)
    return SavedCard.objects.filter(user=user).order_by(*order)


def saved_card_of(*, user, card_id: int) -> SavedCard | None:
    """The buyer's card with this id; None for another buyer's card, as for a missing one."""
    return SavedCard.objects.filter(pk=card_id, user=user).first()


def shop_ids_allowed_to_charge(user) -> set[int]:
    """Ids of the shops the buyer lets charge their default card (consent not withdrawn)."""
    return set(
        ChargeConsent.objects.filter(user=user, withdrawn_at__isnull=True).values_list(
            "shop_id", flat=True
        )
    )


def shop_of_buyer(*, user, shop_id: int) -> Enterprise | None:
    """One of the shops whose customer list has the buyer; None for any other shop."""
    return cards.shops_of_buyer(user).filter(pk=shop_id).first()


def payment_for_authentication(*, payment_id: int) -> Payment | None:
    """The payment with its order, the order's shop and the payment method."""
    return (
        Payment.objects.select_related("order", "order__shop", "method")
        .filter(pk=payment_id)
        .first()
    )
