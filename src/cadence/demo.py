"""The demo shop that `cadence demo` loads: a food hub in Lyon, two producers, a catalogue,
weekly and fortnightly schedules around today, customers and subscriptions in every status.

The hub is French, so its data is too (product names, units, methods, cycle names); the
interface still switches to English from the header. Everything is placed relative to `now`,
so the demo always has history (two closed cycles), one cycle open right now and six to come.
Loading is idempotent: the hub's name and contact email identify the demo, and a second load
changes nothing. Each start catches up: the cycles that time has used up are replaced by new
ones, so the shop always has a cycle open and six to come.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from cadence.api.models import ApiToken, hash_token
from cadence.catalog.models import Product, Variant
from cadence.customers.models import Customer
from cadence.cycles.domain import has_opened, order_cycle_is_open
from cadence.cycles.models import FeeKind, OrderCycle, OrderCycleFee, Schedule
from cadence.enterprises.models import Enterprise, Language, SupplierPermission
from cadence.orders.models import ShippingMethod
from cadence.payments.models import PaymentMethod
from cadence.subscriptions.models import Subscription

HUB_NAME = "La Ruche du Plateau"
HUB_EMAIL = "hub@demo.cadence"
TZ_NAME = "Europe/Paris"
PASSWORD = "demo"
MANAGER_EMAIL = "manager@demo.cadence"
STAFF_EMAIL = "admin@demo.cadence"
BUYER_EMAIL = "buyer@demo.cadence"
WEEKLY_NAME = "Hebdomadaire"
FORTNIGHTLY_NAME = "Quinzaine"
FEE = {"name": "Participation aux frais de la Ruche", "kind": FeeKind.PER_ORDER, "amount": "1.00"}
# The tokens `cadence demo` prints start with this (it is also their stored `prefix`), so a
# restart replaces them and leaves alone the tokens a user made on /account/.
DEMO_TOKEN_PREFIX = "cad_demo"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    # Where this login starts, relative to the site root.
    start: str


DEMO_LOGINS = (
    DemoLogin("manager", MANAGER_EMAIL, PASSWORD, "manage/"),
    DemoLogin("buyer", BUYER_EMAIL, PASSWORD, "account/"),
    DemoLogin("staff", STAFF_EMAIL, PASSWORD, "admin/"),
)


@dataclass(frozen=True)
class DemoResult:
    hub: Enterprise
    created: bool
    history: list[str] = field(default_factory=list)


# (supplier, product name, [(variant name, unit, price, on_hand, on_demand)]). The hub makes
# up its own box from its producers' vegetables; the two producers supply the rest.
CATALOGUE: list[tuple[str, str, list[tuple[str, str, str, int, bool]]]] = [
    (
        "hub",
        "Panier de la Ruche",
        [
            ("petit panier", "panier", "12.00", 0, True),
            ("grand panier", "panier", "19.50", 0, True),
        ],
    ),
    ("farm", "Carottes", [("1 kg", "kg", "2.80", 60, False), ("2 kg", "kg", "5.20", 30, False)]),
    ("farm", "Pommes de terre Charlotte", [("2,5 kg", "kg", "4.50", 40, False)]),
    ("farm", "Poireaux", [("botte de 3", "botte", "3.20", 25, False)]),
    ("farm", "Pommes Reinette", [("1 kg", "kg", "3.40", 45, False)]),
    ("farm", "Poires Conférence", [("1 kg", "kg", "3.90", 20, False)]),
    (
        "farm",
        "Œufs fermiers",
        [("boîte de 6", "boîte", "2.90", 40, False), ("boîte de 12", "boîte", "5.40", 20, False)],
    ),
    ("farm", "Courge butternut", [("à la pièce", "pièce", "2.60", 15, False)]),
    ("farm", "Mesclun", [("sachet de 200 g", "sachet", "2.50", 18, False)]),
    ("dairy", "Fromage de chèvre frais", [("à la pièce", "pièce", "2.80", 8, False)]),
    (
        "dairy",
        "Tomme de montagne",
        [
            ("part de 250 g", "part", "5.60", 12, False),
            ("part de 500 g", "part", "10.90", 6, False),
        ],
    ),
    ("dairy", "Lait entier", [("bouteille de 1 L", "bouteille", "1.40", 50, False)]),
    ("dairy", "Yaourts nature", [("lot de 4 × 125 g", "lot", "3.20", 30, False)]),
    ("dairy", "Beurre fermier", [("plaquette de 250 g", "plaquette", "3.90", 20, False)]),
    ("dairy", "Pain de campagne au levain", [("miche de 800 g", "miche", "4.80", 0, True)]),
]

INITIAL_STOCK: dict[tuple[str, str], int] = {
    (product, row[0]): row[3] for _s, product, rows in CATALOGUE for row in rows
}

# first name, last name, email, city, postcode, language, has a user account
CUSTOMERS: list[tuple[str, str, str, str, str, str, bool]] = [
    ("Camille", "Martin", BUYER_EMAIL, "Lyon", "69004", "fr", True),
    ("Louis", "Bernard", "louis.bernard@demo.cadence", "Lyon", "69004", "fr", True),
    ("Emma", "Dubois", "emma.dubois@demo.cadence", "Lyon", "69001", "fr", False),
    ("Hugo", "Thomas", "hugo.thomas@demo.cadence", "Caluire-et-Cuire", "69300", "fr", False),
    ("Chloé", "Robert", "chloe.robert@demo.cadence", "Lyon", "69004", "fr", True),
    ("Sarah", "Walker", "sarah.walker@demo.cadence", "Lyon", "69001", "en", False),
    ("Jules", "Richard", "jules.richard@demo.cadence", "Lyon", "69004", "fr", False),
    ("Léa", "Petit", "lea.petit@demo.cadence", "Lyon", "69001", "fr", True),
    ("Gabriel", "Durand", "gabriel.durand@demo.cadence", "Lyon", "69004", "fr", False),
    ("Manon", "Leroy", "manon.leroy@demo.cadence", "Caluire-et-Cuire", "69300", "fr", False),
    ("Arthur", "Moreau", "arthur.moreau@demo.cadence", "Lyon", "69004", "fr", False),
    ("Tom", "Hughes", "tom.hughes@demo.cadence", "Lyon", "69001", "en", False),
    ("Inès", "Simon", "ines.simon@demo.cadence", "Lyon", "69004", "fr", False),
    ("Raphaël", "Laurent", "raphael.laurent@demo.cadence", "Lyon", "69001", "fr", False),
    ("Jade", "Lefebvre", "jade.lefebvre@demo.cadence", "Lyon", "69004", "fr", False),
    ("Nathan", "Michel", "nathan.michel@demo.cadence", "Lyon", "69004", "fr", False),
    ("Alice", "Garcia", "alice.garcia@demo.cadence", "Lyon", "69001", "fr", False),
    ("Paul", "David", "paul.david@demo.cadence", "Lyon", "69004", "fr", False),
    ("Zoé", "Bertrand", "zoe.bertrand@demo.cadence", "Caluire-et-Cuire", "69300", "fr", False),
    ("Oliver", "Smith", "oliver.smith@demo.cadence", "Lyon", "69001", "en", False),
]

STREETS = [
    "12 rue d'Austerlitz",
    "4 place de la Croix-Rousse",
    "27 boulevard des Canuts",
    "8 rue Dumenge",
    "15 montée de la Grande-Côte",
    "3 rue Belfort",
    "41 rue Jacquard",
]

# customer index, schedule ("weekly"|"fortnightly"), status to reach, delivery?, items
# (product name, variant name, quantity)
SUBSCRIPTIONS: list[tuple[int, str, str, bool, list[tuple[str, str, int]]]] = [
    (
        0,
        "weekly",
        "active",
        True,
        [
            ("Panier de la Ruche", "grand panier", 1),
            ("Œufs fermiers", "boîte de 12", 1),
            ("Pain de campagne au levain", "miche de 800 g", 1),
        ],
    ),
    (
        1,
        "weekly",
        "active",
        False,
        [("Panier de la Ruche", "petit panier", 1), ("Lait entier", "bouteille de 1 L", 2)],
    ),
    (
        2,
        "weekly",
        "active",
        True,
        [
            ("Carottes", "1 kg", 2),
            ("Pommes de terre Charlotte", "2,5 kg", 1),
            ("Fromage de chèvre frais", "à la pièce", 2),
        ],
    ),
    (
        3,
        "weekly",
        "active",
        False,
        [("Pommes Reinette", "1 kg", 2), ("Yaourts nature", "lot de 4 × 125 g", 1)],
    ),
    (
        4,
        "weekly",
        "active",
        True,
        [
            ("Fromage de chèvre frais", "à la pièce", 3),
            ("Mesclun", "sachet de 200 g", 1),
            ("Beurre fermier", "plaquette de 250 g", 1),
        ],
    ),
    (
        5,
        "fortnightly",
        "active",
        False,
        [("Tomme de montagne", "part de 500 g", 1), ("Poireaux", "botte de 3", 1)],
    ),
    (
        6,
        "fortnightly",
        "active",
        True,
        [("Panier de la Ruche", "grand panier", 1), ("Fromage de chèvre frais", "à la pièce", 4)],
    ),
    (
        7,
        "fortnightly",
        "active",
        False,
        [("Courge butternut", "à la pièce", 2), ("Poires Conférence", "1 kg", 1)],
    ),
    (
        8,
        "weekly",
        "pending",
        False,
        [("Œufs fermiers", "boîte de 6", 1), ("Pain de campagne au levain", "miche de 800 g", 1)],
    ),
    (9, "fortnightly", "pending", True, [("Panier de la Ruche", "petit panier", 1)]),
    (
        10,
        "weekly",
        "paused",
        False,
        [("Lait entier", "bouteille de 1 L", 3), ("Yaourts nature", "lot de 4 × 125 g", 2)],
    ),
    (
        11,
        "fortnightly",
        "paused",
        True,
        [("Tomme de montagne", "part de 250 g", 1), ("Pommes Reinette", "1 kg", 1)],
    ),
    (12, "weekly", "ended", False, [("Carottes", "2 kg", 1), ("Poireaux", "botte de 3", 1)]),
    (13, "weekly", "canceled", True, [("Mesclun", "sachet de 200 g", 2)]),
    (
        14,
        "fortnightly",
        "canceled",
        False,
        [("Beurre fermier", "plaquette de 250 g", 1), ("Œufs fermiers", "boîte de 12", 1)],
    ),
]


def _address(first: str, last: str, index: int, city: str, postcode: str) -> dict:
    return {
        "first_name": first,
        "last_name": last,
        "address1": STREETS[index % len(STREETS)],
        "address2": "",
        "city": city,
        "postcode": postcode,
        "country": "FR",
        "phone": f"06 12 34 {index:02d} {(index * 7) % 100:02d}",
    }


def cycle_bounds(
    *, now: datetime, weeks_back: int = 2, weeks_ahead: int = 6
) -> list[tuple[datetime, datetime]]:
    """Back-to-back weekly windows, Thursday 18:00 to Thursday 18:00 (Paris), from
    `weeks_back` closed ones to `weeks_ahead` upcoming ones. Each cycle opens the instant the
    previous one closes, so exactly one is open at any moment."""
    tz = ZoneInfo(TZ_NAME)
    local = now.astimezone(tz)
    thursday = local.date() - timedelta(days=(local.weekday() - 3) % 7)
    if datetime.combine(thursday, time(18, 0), tzinfo=tz) > local:
        thursday -= timedelta(days=7)
    bounds = []
    for k in range(-weeks_back, weeks_ahead + 1):
        # Built from the local date each time so the wall-clock time survives DST changes.
        opens = datetime.combine(thursday + timedelta(days=7 * k), time(18, 0), tzinfo=tz)
        closes = datetime.combine(thursday + timedelta(days=7 * (k + 1)), time(18, 0), tzinfo=tz)
        bounds.append((opens, closes))
    return bounds


def delivery_day(closes_at: datetime) -> date:
    """Deliveries and pick-ups are on the Saturday after a cycle closes."""
    return closes_at.astimezone(ZoneInfo(TZ_NAME)).date() + timedelta(days=2)


def cycle_name(closes_at: datetime) -> str:
    """The name a French shop gives a cycle: the week of its delivery, "Semaine du 7
    décembre" (French writes the first of the month "1er")."""
    monday = delivery_day(closes_at) - timedelta(days=delivery_day(closes_at).weekday())
    month = format_date(monday, "MMMM", locale="fr")
    day = "1er" if monday.day == 1 else str(monday.day)
    return f"Semaine du {day} {month}"


def _user(email: str, *, staff: bool = False):
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    if user is None:
        user = user_model.objects.create_user(
            username=email, email=email, password=PASSWORD, is_staff=staff, is_superuser=staff
        )
    return user


def _demo_hub() -> Enterprise | None:
    return Enterprise.objects.filter(name=HUB_NAME, contact_email=HUB_EMAIL).first()


@transaction.atomic
def demo_load(*, now: datetime | None = None) -> DemoResult:
    """Create the demo data unless it is already there. Returns the hub and whether it was
    created by this call."""
    now = now or timezone.now()
    existing = _demo_hub()
    if existing is not None:
        return DemoResult(hub=existing, created=False)

    _user(STAFF_EMAIL, staff=True)  # operators see everything; nothing to link
    manager = _user(MANAGER_EMAIL)

    hub = Enterprise.objects.create(
        name=HUB_NAME,
        is_shop=True,
        is_producer=False,
        contact_email=HUB_EMAIL,
        timezone=TZ_NAME,
        currency="EUR",
        language=Language.FRENCH,
        enable_subscriptions=True,
        allow_order_changes=True,
        allow_self_subscribe=True,
    )
    farm = Enterprise.objects.create(
        name="Ferme des Trois Chênes",
        is_shop=False,
        is_producer=True,
        contact_email="ferme@demo.cadence",
        timezone=TZ_NAME,
        language=Language.FRENCH,
    )
    dairy = Enterprise.objects.create(
        name="Laiterie et Fournil du Pilat",
        is_shop=False,
        is_producer=True,
        contact_email="laiterie@demo.cadence",
        timezone=TZ_NAME,
        language=Language.FRENCH,
    )
    # The manager runs the hub, its only shop (so /manage/ opens it straight away), and looks
    # after the producers' catalogues too; producers are not shops and have no back office.
    for enterprise in (hub, farm, dairy):
        enterprise.managers.add(manager)
    for producer in (farm, dairy):
        SupplierPermission.objects.create(producer=producer, shop=hub)
    suppliers = {"hub": hub, "farm": farm, "dairy": dairy}

    variants: dict[tuple[str, str], Variant] = {}
    for supplier, product_name, variant_rows in CATALOGUE:
        product = Product.objects.create(supplier=suppliers[supplier], name=product_name)
        for index, (name, unit, price, on_hand, on_demand) in enumerate(variant_rows, start=1):
            variants[(product_name, name)] = Variant.objects.create(
                product=product,
                name=name,
                unit=unit,
                sku=f"{product.pk:03d}-{index}",
                price=Decimal(price),
                on_hand=on_hand,
                on_demand=on_demand,
            )

    delivery = ShippingMethod.objects.create(
        shop=hub,
        name="Livraison à domicile",
        description="Le samedi matin, à Lyon 1er, Lyon 4e et Caluire-et-Cuire.",
        fee=Decimal("3.50"),
        requires_address=True,
    )
    pickup = ShippingMethod.objects.create(
        shop=hub,
        name="Retrait à la Ruche",
        description="Le samedi de 9 h à 12 h, 4 place de la Croix-Rousse.",
        fee=Decimal("0.00"),
        requires_address=False,
    )
    cash = PaymentMethod.objects.create(
        shop=hub,
        # Not "au retrait": home-delivered buyers pay with it too.
        name="Espèces ou chèque",
        description="À régler au retrait ou à la livraison de votre commande.",
        kind="manual",
    )
    PaymentMethod.objects.create(
        shop=hub,
        name="Carte bancaire (Stripe)",
        description="Débitée automatiquement à la clôture du cycle de commande.",
        kind="stripe",
        fee_percent=Decimal("1.5"),
    )

    # Cycles: every variant is offered, except the squash, which is out of season in the
    # last two (so estimates and the forecast show a product missing from a cycle).
    all_variants = list(variants.values())
    squash = variants[("Courge butternut", "à la pièce")]
    cycles: list[OrderCycle] = []
    bounds = cycle_bounds(now=now)
    for k, (opens_at, closes_at) in enumerate(bounds):
        cycle = OrderCycle.objects.create(
            shop=hub, name=cycle_name(closes_at), opens_at=opens_at, closes_at=closes_at
        )
        offered = all_variants if k < len(bounds) - 2 else [v for v in all_variants if v != squash]
        cycle.variants.set(offered)
        OrderCycleFee.objects.create(
            order_cycle=cycle, name=FEE["name"], kind=FEE["kind"], amount=Decimal(FEE["amount"])
        )
        cycles.append(cycle)
    weekly = Schedule.objects.create(shop=hub, name=WEEKLY_NAME)
    weekly.order_cycles.set(cycles)
    fortnightly = Schedule.objects.create(shop=hub, name=FORTNIGHTLY_NAME)
    # The two closed cycles are at indexes 0 and 1 and the open one at 2: fortnightly
    # deliveries fall on the open cycle and every other one around it.
    fortnightly.order_cycles.set(cycles[0::2])

    customers: list[Customer] = []
    for index, (first, last, email, city, postcode, language, has_user) in enumerate(CUSTOMERS):
        address = _address(first, last, index, city, postcode)
        customers.append(
            Customer.objects.create(
                shop=hub,
                email=email,
                user=_user(email) if has_user else None,
                first_name=first,
                last_name=last,
                phone=address["phone"],
                code=f"RP{index + 1:03d}",
                language=language,
                bill_address=address,
                ship_address=address,
            )
        )

    schedules = {"weekly": weekly, "fortnightly": fortnightly}
    history = _replay(
        hub=hub,
        manager=manager,
        customers=customers,
        schedules=schedules,
        variants=variants,
        methods={"delivery": delivery, "pickup": pickup, "cash": cash},
        cycles=cycles,
        now=now,
    )
    return DemoResult(hub=hub, created=True, history=history)


# The subscription (index in SUBSCRIPTIONS) created while this week's cycle was open.
STARTS_IN_OPEN_CYCLE = 3


def _replay(
    *,
    hub: Enterprise,
    manager,
    customers: list[Customer],
    schedules: dict[str, Schedule],
    variants: dict[tuple[str, str], Variant],
    methods: dict,
    cycles: list[OrderCycle],
    now: datetime,
) -> list[str]:
    """Live the last three weeks again with the real services and a moving clock.

    The subscriptions are created before the first cycle opens; each past cycle is placed
    when it opens and confirmed when it closes (the producers' stock refilled every week);
    pauses and cancellations happen a few days ago. So the demo has real past orders, emails
    in the outbox and an audit trail, as if it had been running all along."""
    from cadence.subscriptions.services import lifecycle
    from cadence.subscriptions.services.processing import run_tick

    setup_at = cycles[0].opens_at - timedelta(days=1)
    open_cycle = next(c for c in cycles if order_cycle_is_open(c, now=now))
    created: dict[int, Subscription] = {}
    # (when, rank among simultaneous events, action)
    events: list[tuple[datetime, int, Callable[[datetime], list[str]]]] = []

    def create(number: int) -> Callable[[datetime], list[str]]:
        customer_index, schedule_key, status, home, items = SUBSCRIPTIONS[number]

        def run(at: datetime) -> list[str]:
            begins_at, ends_at = _dates_for(status=status, number=number, at=at, now=now)
            created[number] = lifecycle.subscription_create(
                shop=hub,
                customer_id=customers[customer_index].pk,
                schedule_id=schedules[schedule_key].pk,
                payment_method_id=methods["cash"].pk,
                shipping_method_id=methods["delivery" if home else "pickup"].pk,
                begins_at=begins_at,
                ends_at=ends_at,
                line_items=[
                    {"variant_id": variants[(product, name)].pk, "quantity": quantity}
                    for product, name, quantity in items
                ],
                actor=manager,
                now=at,
            )
            return []

        return run

    def pause(number: int) -> Callable[[datetime], list[str]]:
        def run(at: datetime) -> list[str]:
            resume_on = (now + timedelta(days=21)).date() if number % 2 == 0 else None
            lifecycle.subscription_pause(
                subscription=created[number],
                open_orders="keep",
                resume_on=resume_on,
                actor=manager,
                now=at,
            )
            return []

        return run

    def cancel(number: int) -> Callable[[datetime], list[str]]:
        def run(at: datetime) -> list[str]:
            lifecycle.subscription_cancel(
                subscription=created[number], open_orders="keep", actor=manager, now=at
            )
            return []

        return run

    def tick(at: datetime) -> list[str]:
        # The producers' weekly harvest reaches the hub just before the cycle is placed.
        for key, variant in variants.items():
            Variant.objects.filter(pk=variant.pk).update(on_hand=INITIAL_STOCK[key])
        return [f"{at:%a %d %b %H:%M} UTC: {line}" for line in run_tick(now=at)]

    for number, (_customer, _schedule, status, _home, _items) in enumerate(SUBSCRIPTIONS):
        if number == STARTS_IN_OPEN_CYCLE:
            at = open_cycle.opens_at + min(timedelta(hours=20), (now - open_cycle.opens_at) / 2)
        else:
            at = setup_at + timedelta(minutes=number)
        events.append((at, 1, create(number)))
        if status == "paused":
            events.append((now - timedelta(days=3, minutes=number), 2, pause(number)))
        elif status == "canceled":
            events.append((now - timedelta(days=4, minutes=number), 2, cancel(number)))
    for cycle in cycles:
        if has_opened(opens_at=cycle.opens_at, now=now):
            # A minute after each opening, which is also the previous cycle's closing (at
            # `now` itself for a cycle opening this very instant: it is open, so placed).
            events.append((min(cycle.opens_at + timedelta(minutes=1), now), 0, tick))

    lines: list[str] = []
    # The past weeks' emails are recorded in the outbox (readable on /outbox/) but delivered
    # nowhere: they belong to the story, not to today's console or mail server.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for at, _rank, action in sorted(events, key=lambda event: (event[0], event[1])):
            lines.extend(action(at))
    return lines


def _dates_for(
    *, status: str, number: int, at: datetime, now: datetime
) -> tuple[datetime, datetime | None]:
    """begins_at and ends_at of a demo subscription created at `at`."""
    if status == "pending":
        return now + timedelta(days=12 + number), None
    if status == "ended":
        return at - timedelta(days=60), now - timedelta(days=5)
    if number == STARTS_IN_OPEN_CYCLE:
        return at, None
    return at - timedelta(days=7 * number), None


def demo_cycles_ahead(*, now: datetime | None = None) -> list[str]:
    """Make sure the demo hub has a cycle open now and six to come, whatever time has passed
    since it was loaded: the missing weekly windows are created through the scheduling
    services (so the subscriptions get their deliveries), offering the whole catalogue, and
    added to the weekly schedule, every other one to the fortnightly one. Returns one line per
    cycle created. A schedule the manager renamed or deleted is left alone."""
    from cadence.catalog.selectors import variants_sellable_by
    from cadence.subscriptions.services import scheduling

    now = now or timezone.now()
    hub = _demo_hub()
    if hub is None:
        return []
    existing = set(OrderCycle.objects.filter(shop=hub).values_list("opens_at", flat=True))
    missing = [(o, c) for o, c in cycle_bounds(now=now, weeks_back=0) if o not in existing]
    if not missing:
        return []
    live = Schedule.objects.filter(shop=hub, deleted_at__isnull=True)
    weekly = live.filter(name=WEEKLY_NAME).order_by("id").first()
    fortnightly = live.filter(name=FORTNIGHTLY_NAME).order_by("id").first()
    anchor = None
    if fortnightly is not None:
        first = fortnightly.order_cycles.order_by("opens_at").first()
        anchor = first.opens_at if first else missing[0][0]
    variant_ids = list(variants_sellable_by(hub).values_list("pk", flat=True))

    lines = []
    for opens_at, closes_at in missing:
        with transaction.atomic():
            cycle = scheduling.order_cycle_create(
                shop=hub,
                name=cycle_name(closes_at),
                opens_at=opens_at,
                closes_at=closes_at,
                variant_ids=variant_ids,
                fees=[FEE],
                now=now,
            )
            joined = []
            for schedule in (weekly, fortnightly):
                if schedule is None:
                    continue
                if schedule is fortnightly and anchor and _weeks_between(anchor, opens_at) % 2:
                    continue
                ids = [*schedule.order_cycles.values_list("pk", flat=True), cycle.pk]
                scheduling.schedule_update(
                    schedule=schedule, changes={"order_cycle_ids": ids}, now=now
                )
                joined.append(schedule.name)
        lines.append(f"created order cycle {cycle.name} (#{cycle.pk}) in {', '.join(joined)}")
    return lines


def _weeks_between(earlier: datetime, later: datetime) -> int:
    tz = ZoneInfo(TZ_NAME)
    return (later.astimezone(tz).date() - earlier.astimezone(tz).date()).days // 7


def demo_catch_up(*, now: datetime | None = None) -> list[str]:
    """Bring the demo up to `now`: create the cycles time has used up, then run what is due
    (placement of the open cycle, confirmation of closed ones, due emails). Returns what was
    done, line by line."""
    from cadence.subscriptions.services.processing import run_tick

    now = now or timezone.now()
    return demo_cycles_ahead(now=now) + list(run_tick(now=now))


def demo_tokens() -> dict[str, str]:
    """A fresh API token for each demo login, to print. The token printed at the previous
    start is revoked (only digests are stored, so it cannot be shown again); the tokens a user
    made themselves, on /account/ or with `cadence token create`, are kept."""
    user_model = get_user_model()
    tokens: dict[str, str] = {}
    for login in DEMO_LOGINS:
        user = user_model.objects.get(username=login.email)
        ApiToken.objects.filter(user=user, prefix=DEMO_TOKEN_PREFIX).delete()
        # `ApiToken.issue` draws a random "cad_…" token; this one carries a prefix of its own
        # so the next start can tell it apart (a random token starts with it once in 16
        # million: a user's token would then be replaced like a demo one).
        raw = DEMO_TOKEN_PREFIX + secrets.token_urlsafe(32)
        ApiToken.objects.create(user=user, digest=hash_token(raw), prefix=raw[:8])
        tokens[login.email] = raw
    return tokens
