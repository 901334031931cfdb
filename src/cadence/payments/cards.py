"""Buyers' saved cards and their per-shop consent to be charged ("allow charges").

Stripe is called before any transaction is opened (no lock is held across a network call);
our rows are then written in one transaction. Changing or deleting the default card withdraws
every shop's consent: a buyer consents to a shop charging *that* card.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cadence.customers.models import Customer
from cadence.enterprises.models import Enterprise
from cadence.errors import ValidationFailed
from cadence.payments.gateways import stripe as gateway
from cadence.payments.models import ChargeConsent, SavedCard, StripeCustomer


def stripe_customer_for(*, user) -> StripeCustomer:
    """The buyer's Stripe Customer, created on first use. Raises GatewayError."""
    existing = StripeCustomer.objects.filter(user=user).first()
    if existing is not None:
        return existing
    # The idempotency key is per user, so two concurrent first uses get the same Customer.
    customer_id = gateway.customer_create(
        email=user.email, user_id=user.pk, joined_at=user.date_joined
    )
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(user=user, stripe_customer_id=customer_id)
    except IntegrityError:
        return StripeCustomer.objects.get(user=user)


def card_setup_start(*, user) -> gateway.SetupIntentInfo:
    """Start saving a card in the page: a SetupIntent whose client secret Stripe.js confirms.

    Raises ValidationFailed when Stripe cannot be reached."""
    try:
        customer = stripe_customer_for(user=user)
        return gateway.setup_intent_create(customer_id=customer.stripe_customer_id)
    except gateway.GatewayError as exc:
        raise ValidationFailed({"__all__": [exc.user_message]}) from exc


def card_save(*, user, stripe_payment_method_id: str, setup_intent_id: str = "") -> SavedCard:
    """Save a card (a Stripe PaymentMethod) for the buyer, usable for charges made without them.

    With `setup_intent_id` (the page's flow) the SetupIntent Stripe.js confirmed is checked;
    without it (the API) a SetupIntent is confirmed here with the payment method. The first
    card becomes the default. Saving a card already saved returns it.

    Raises ValidationFailed (field `stripe_payment_method_id`) for an unknown id, a card of
    another buyer, a refused card or one that needs the buyer to authenticate; nothing is
    written then.
    """
    field = "stripe_payment_method_id"
    pm_id = (stripe_payment_method_id or "").strip()
    if not pm_id.startswith("pm_"):
        raise ValidationFailed({field: [_("This is not a Stripe card id.")]})
    existing = SavedCard.objects.filter(stripe_payment_method_id=pm_id).first()
    if existing is not None:
        if existing.user_id != user.pk:
            raise ValidationFailed({field: [_("This card belongs to another account.")]})
        return existing
    try:
        customer_id = stripe_customer_for(user=user).stripe_customer_id
        card = gateway.payment_method_retrieve(pm_id)
        if card.customer_id and card.customer_id != customer_id:
            raise ValidationFailed({field: [_("This card belongs to another account.")]})
        if setup_intent_id:
            setup = gateway.setup_intent_retrieve(setup_intent_id)
            if (
                setup.customer_id != customer_id
                or setup.payment_method_id != card.payment_method_id
            ):
                raise ValidationFailed({field: [_("This card was not set up for your account.")]})
        else:
            setup = gateway.setup_intent_create(customer_id=customer_id)
            setup = gateway.setup_intent_confirm(
                setup_intent_id=setup.id, payment_method_id=card.payment_method_id
            )
        if setup.status != "succeeded" or setup.usage != "off_session":
            raise ValidationFailed(
                {field: [_("This card needs you to authenticate: add it from your cards page.")]}
            )
        if not card.customer_id:
            card = gateway.payment_method_attach(
                payment_method_id=card.payment_method_id, customer_id=customer_id
            )
    except gateway.GatewayUnavailable as exc:
        raise ValidationFailed({"__all__": [exc.user_message]}) from exc
    except gateway.GatewayError as exc:
        raise ValidationFailed({field: [exc.user_message]}) from exc
    return _card_record(user=user, card=card)


@transaction.atomic
def _card_record(*, user, card: gateway.CardDetails) -> SavedCard:
    # Lock the buyer's cards so two first cards saved at once cannot both become the default.
    has_default = SavedCard.objects.select_for_update().filter(user=user, is_default=True).exists()
    return SavedCard.objects.create(
        user=user,
        stripe_payment_method_id=card.payment_method_id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        usable_off_session=True,
        is_default=not has_default,
    )


def card_set_default(*, user, card: SavedCard, now: datetime | None = None) -> SavedCard:
    """Make a card the default; a change of default withdraws every shop's consent.

    Raises ValidationFailed when the card cannot be charged without the buyer present."""
    now = now or timezone.now()
    if card.user_id != user.pk:
        raise ValidationFailed({"card_id": [_("This card belongs to another account.")]})
    if not card.usable_off_session:
        raise ValidationFailed(
            {
                "card_id": [
                    _("This card was not saved for future payments, so it cannot be the default.")
                ]
            }
        )
    with transaction.atomic():
        cards = list(SavedCard.objects.select_for_update().filter(user=user).order_by("pk"))
        current = next((c for c in cards if c.is_default), None)
        if current is not None and current.pk == card.pk:
            return card
        if current is not None:
            SavedCard.objects.filter(pk=current.pk).update(is_default=False, updated_at=now)
            consents_withdraw_all(user=user, now=now)
        SavedCard.objects.filter(pk=card.pk).update(is_default=True, updated_at=now)
    card.is_default = True
    return card


def card_delete(*, user, card: SavedCard, now: datetime | None = None) -> None:
    """Delete a saved card (detached from the buyer at Stripe). Deleting the default card
    withdraws every shop's consent; no other card becomes the default by itself."""
    now = now or timezone.now()
    if card.user_id != user.pk:
        raise ValidationFailed({"card_id": [_("This card belongs to another account.")]})
    try:
        gateway.payment_method_detach(card.stripe_payment_method_id)
    except gateway.GatewayError:
        # Already logged. Our row goes regardless: without it the card is never charged.
        pass
    with transaction.atomic():
        deleted = SavedCard.objects.filter(pk=card.pk, user=user).delete()[0]
        if deleted and card.is_default:
            consents_withdraw_all(user=user, now=now)


@transaction.atomic(savepoint=False)
def consents_withdraw_all(*, user, now: datetime | None = None) -> int:
    """Withdraw the buyer's consent for every shop; returns how many were live."""
    now = now or timezone.now()
    return ChargeConsent.objects.filter(user=user, withdrawn_at__isnull=True).update(
        withdrawn_at=now
    )


def shops_of_buyer(user):
    """Shops whose customer list has the buyer (by linked account or by email)."""
    match = Q(user=user)
    if user.email:
        match |= Q(email__iexact=user.email)
    shop_ids = Customer.objects.filter(match, deleted_at__isnull=True).values("shop_id")
    return Enterprise.objects.filter(pk__in=shop_ids, is_shop=True).order_by("name", "pk")


def consent_text(shop: Enterprise) -> str:
    """The words the buyer agrees to, stored with the consent."""
    return _(
        "I authorise %(shop)s to charge my default saved card, without me being present, "
        "for each of my recurring orders with %(shop)s when its order cycle closes, until I "
        "withdraw this authorisation or change my default card."
    ) % {"shop": shop.name}


def consent_set(
    *, user, shop: Enterprise, allow: bool, text: str = "", now: datetime | None = None
) -> ChargeConsent | None:
    """Give or withdraw the buyer's consent that `shop` charges their default card.

    Giving it stores `text` (the shop's consent text by default) and the time; giving it again
    keeps the consent already given. Returns the live consent (None once withdrawn).

    Raises ValidationFailed: `shop_id` when the shop's customer list does not have the buyer,
    `allow_charges` when the buyer has no default card.
    """
    now = now or timezone.now()
    if not shops_of_buyer(user).filter(pk=shop.pk).exists():
        # Not the shop's name: any shop id can be sent, and a shop that does not have the
        # buyer is not theirs to see.
        raise ValidationFailed({"shop_id": [_("This shop does not have you as a customer.")]})
    if not allow:
        ChargeConsent.objects.filter(user=user, shop=shop, withdrawn_at__isnull=True).update(
            withdrawn_at=now
        )
        return None
    try:
        with transaction.atomic():
            # The buyer's cards are locked as card_set_default locks them, so a default card
            # changed at the same moment cannot leave a consent for a card no longer default.
            cards = SavedCard.objects.select_for_update().filter(user=user).order_by("pk")
            if not any(c.is_default and c.usable_off_session for c in cards):
                raise ValidationFailed(
                    {
                        "allow_charges": [
                            _("Save a card and make it your default before allowing charges.")
                        ]
                    }
                )
            live = ChargeConsent.objects.filter(
                user=user, shop=shop, withdrawn_at__isnull=True
            ).first()
            if live is not None:
                return live
            return ChargeConsent.objects.create(
                user=user, shop=shop, text=text or consent_text(shop), given_at=now
            )
    except IntegrityError:
        # Given at the same moment by another request: the constraint keeps one.
        return ChargeConsent.objects.get(user=user, shop=shop, withdrawn_at__isnull=True)
