"""Back-office page benchmark: server time and queries of each manager page on a big shop.

    python bench/pages.py [--customers 10000] [--variants 5000] [--subscriptions 10000]
        [--database sqlite|postgres] [--repeat 7]

Builds a fresh database (PostgreSQL: BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/cadence_bench, dropped and re-created; SQLite: a temporary
file) with one shop holding the given numbers of customers and variants (products of three
variants, half of them the shop's own, half a producer's it may sell), 60 order cycles in two
schedules, subscriptions of three lines (one per customer, up to `--subscriptions`) whose
orders in the open cycle are placed by the real engine, one subscription with 50 deliveries
and 200 history rows, and a manager. Then it requests every back-office page through Django's test
client, signed in as that manager, and prints for each the median server time over
`--repeat` requests (after one warm-up), the slowest, and the number of queries. The target
is under 150 ms per page; pages over it are marked.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from benchdb import ADDRESS, database_url, recreate_postgres  # noqa: E402

TARGET_MS = 150.0


def build(*, customers: int, variants: int, subscriptions: int):
    """The shop and its rows, written with bulk inserts. Returns (manager, shop, ids) where
    ids names one row of each kind for the detail pages."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from cadence.catalog.models import Product, Variant
    from cadence.customers.models import Customer
    from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
    from cadence.enterprises.models import Enterprise, SupplierPermission
    from cadence.orders.models import Order, ShippingMethod
    from cadence.payments.models import PaymentMethod

    now = timezone.now()
    manager = get_user_model().objects.create_user(
        username="manager@bench.test", email="manager@bench.test", password="bench"
    )
    shop = Enterprise.objects.create(
        name="La Ruche du Bench", contact_email="shop@bench.test", enable_subscriptions=True
    )
    shop.managers.add(manager)
    producer = Enterprise.objects.create(name="Ferme du Bench", is_shop=False, is_producer=True)
    SupplierPermission.objects.create(producer=producer, shop=shop)
    PaymentMethod.objects.bulk_create(
        PaymentMethod(shop=shop, name=f"Payment {n}", kind=("manual", "stripe", "other")[n % 3])
        for n in range(6)
    )
    ShippingMethod.objects.bulk_create(
        ShippingMethod(shop=shop, name=f"Shipping {n}", fee=Decimal("2.50")) for n in range(4)
    )
    Customer.objects.bulk_create(
        (
            Customer(
                shop=shop,
                email=f"buyer{n:05d}@bench.test",
                first_name=f"Prénom{n}",
                last_name=f"Nom{n}",
                code=f"C{n:05d}",
                bill_address=ADDRESS,
                ship_address=ADDRESS,
            )
            for n in range(customers)
        ),
        batch_size=2000,
    )
    product_count = max(1, variants // 3)
    products = Product.objects.bulk_create(
        (
            Product(supplier=shop if n % 2 else producer, name=f"Produit {n:05d}")
            for n in range(product_count)
        ),
        batch_size=2000,
    )
    all_variants = Variant.objects.bulk_create(
        (
            Variant(
                product=products[n // 3],
                name=f"{n % 3 + 1} kg",
                unit="kg",
                sku=f"SKU-{n:05d}",
                price=Decimal("3.20") + n % 7,
                # One variant in ten runs short when the subscriptions' orders are placed.
                on_hand=50 if n % 10 == 0 else 1000,
            )
            for n in range(product_count * 3)
        ),
        batch_size=2000,
    )
    cycles = OrderCycle.objects.bulk_create(
        OrderCycle(
            shop=shop,
            name=f"Semaine {n}",
            opens_at=now + timedelta(days=7 * (n - 30)),
            closes_at=now + timedelta(days=7 * (n - 30) + 5),
        )
        for n in range(60)
    )
    through = OrderCycle.variants.through
    through.objects.bulk_create(
        (
            through(ordercycle_id=cycle.pk, variant_id=variant.pk)
            for cycle in cycles
            for variant in all_variants[:200]
        ),
        batch_size=5000,
    )
    OrderCycleFee.objects.bulk_create(
        OrderCycleFee(order_cycle=cycle, name="Frais", kind="per_order", amount=Decimal("1.00"))
        for cycle in cycles
    )
    weekly = Schedule.objects.create(shop=shop, name="Hebdomadaire")
    weekly.order_cycles.set(cycles)
    fortnightly = Schedule.objects.create(shop=shop, name="Quinzaine")
    fortnightly.order_cycles.set(cycles[::2])
    subscription_ids = subscribe(
        shop=shop,
        schedule=weekly,
        count=min(subscriptions, customers),
        variants=all_variants[:200],
        cycles=cycles,
        open_cycle=cycles[30],
        next_cycle=cycles[31],
        now=now,
    )
    ids = {
        "subscription": subscription_ids[0],
        "open_cycle": cycles[30].pk,
        "order": Order.objects.filter(order_cycle=cycles[30]).order_by("pk")[0].pk,
        "customer": Customer.objects.filter(shop=shop)
        .order_by("pk")
        .values_list("pk", flat=True)[customers // 2],
        "product": products[1].pk,
        "order_cycle": cycles[31].pk,
        "schedule": weekly.pk,
        "payment_method": PaymentMethod.objects.filter(shop=shop).order_by("pk")[0].pk,
        "shipping_method": ShippingMethod.objects.filter(shop=shop).order_by("pk")[0].pk,
    }
    return manager, shop, ids


def subscribe(*, shop, schedule, count, variants, cycles, open_cycle, next_cycle, now) -> list[int]:
    """`count` subscriptions of three lines on `schedule`, a proxy order each in `open_cycle`,
    placed by the real engine, and in `next_cycle` (for its forecast); the first subscription
    also gets a delivery in 50 cycles and 200 history rows. Returns the subscriptions' ids,
    oldest first."""
    from cadence.customers.models import Customer
    from cadence.orders.models import ShippingMethod
    from cadence.payments.models import PaymentMethod
    from cadence.subscriptions.models import (
        ProxyOrder,
        Subscription,
        SubscriptionEvent,
        SubscriptionLineItem,
    )
    from cadence.subscriptions.services.placement import place_cycle

    payment = PaymentMethod.objects.filter(shop=shop, kind="manual").first()
    shipping = ShippingMethod.objects.filter(shop=shop).first()
    customers = Customer.objects.filter(shop=shop).order_by("pk")[:count]
    subs = Subscription.objects.bulk_create(
        (
            Subscription(
                shop=shop,
                customer=customer,
                schedule=schedule,
                payment_method=payment,
                shipping_method=shipping,
                bill_address=ADDRESS,
                ship_address=ADDRESS,
                begins_at=now - timedelta(days=400),
            )
            for customer in customers
        ),
        batch_size=2000,
    )
    SubscriptionLineItem.objects.bulk_create(
        (
            SubscriptionLineItem(
                subscription=sub, variant=variants[(n + k * 67) % len(variants)], quantity=k + 1
            )
            for n, sub in enumerate(subs)
            for k in range(3)
        ),
        batch_size=5000,
    )
    ProxyOrder.objects.bulk_create(
        (
            ProxyOrder(subscription=sub, order_cycle=cycle)
            for sub in subs
            for cycle in (open_cycle, next_cycle)
        ),
        batch_size=5000,
    )
    first = subs[0]
    ProxyOrder.objects.bulk_create(
        ProxyOrder(subscription=first, order_cycle=cycle)
        for cycle in cycles[5:56]
        if cycle.pk not in (open_cycle.pk, next_cycle.pk)
    )
    SubscriptionEvent.objects.bulk_create(
        SubscriptionEvent(
            subscription=first,
            kind="updated",
            data={
                "changes": {"ends_at": {"from": None, "to": f"2030-01-{n % 28 + 1:02d}"}},
                "order_update_issues": [],
            },
        )
        for n in range(200)
    )
    place_cycle(order_cycle=open_cycle)
    return [sub.pk for sub in subs]


def pages(shop_id: int, ids: dict[str, int]) -> list[tuple[str, str]]:
    base = f"/manage/{shop_id}"
    return [
        ("manager home", f"{base}/"),
        ("settings", f"{base}/settings/"),
        ("payment methods", f"{base}/payment-methods/"),
        ("payment method form", f"{base}/payment-methods/{ids['payment_method']}/"),
        ("shipping methods", f"{base}/shipping-methods/"),
        ("shipping method form", f"{base}/shipping-methods/{ids['shipping_method']}/"),
        ("customers, first page", f"{base}/customers/"),
        ("customers, search", f"{base}/customers/?q=buyer0421"),
        ("customers, sorted, page 200", f"{base}/customers/?sort=-name&page=200"),
        ("customer form", f"{base}/customers/{ids['customer']}/"),
        ("products, first page", f"{base}/products/"),
        ("products, search", f"{base}/products/?q=SKU-0421"),
        ("product form", f"{base}/products/{ids['product']}/"),
        ("order cycles, upcoming", f"{base}/order-cycles/?status=upcoming"),
        ("order cycles, closed", f"{base}/order-cycles/?status=closed"),
        ("order cycle form", f"{base}/order-cycles/{ids['order_cycle']}/"),
        ("variant picker search (htmx)", f"{base}/order-cycles/variants/?q=Produit 004"),
        ("schedules", f"{base}/schedules/"),
        ("schedule form", f"{base}/schedules/{ids['schedule']}/"),
        ("subscriptions, first page", f"{base}/subscriptions/"),
        (
            "subscriptions, filtered",
            f"{base}/subscriptions/?status=active&schedule={ids['schedule']}&page=3",
        ),
        ("subscriptions, search", f"{base}/subscriptions/?q=buyer0421"),
        ("subscriptions, sorted by customer", f"{base}/subscriptions/?sort=-customer&page=40"),
        ("subscription page", f"{base}/subscriptions/{ids['subscription']}/"),
        ("subscription form, new", f"{base}/subscriptions/new/"),
        ("subscription form, edit", f"{base}/subscriptions/{ids['subscription']}/edit/"),
        (
            "product search as you type (htmx)",
            f"{base}/subscriptions/form/variants/?q=SKU-0042&schedule_id={ids['schedule']}",
        ),
        (
            "customer search as you type (htmx)",
            f"{base}/subscriptions/form/customers/?customer_q=buyer0421",
        ),
        ("cycle's orders, first page", f"{base}/order-cycles/{ids['open_cycle']}/orders/"),
        ("cycle's orders, page 200", f"{base}/order-cycles/{ids['open_cycle']}/orders/?page=200"),
        ("order page", f"{base}/orders/{ids['order']}/"),
        ("cycle's results", f"{base}/order-cycles/{ids['open_cycle']}/results/"),
        ("forecast", f"{base}/order-cycles/{ids['order_cycle']}/forecast/"),
        ("forecast, CSV", f"{base}/order-cycles/{ids['order_cycle']}/forecast.csv"),
    ]


def measure(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """(median ms, slowest ms, queries, status) of GET `url`. Requests are made as htmx
    makes them (`HX-Request`): full pages answer the same, fragments need it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: templates compiled, caches filled
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), max(times), len(queries.captured_queries), response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=5_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    url = database_url(args.database, name="pages")
    if args.database == "postgres":
        recreate_postgres(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    os.environ.setdefault("EMAIL_URL", "locmem:")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    manager, shop, ids = build(
        customers=args.customers, variants=args.variants, subscriptions=args.subscriptions
    )
    # The planner's statistics, as the database's autovacuum (or a nightly ANALYZE on
    # SQLite) would have them after a bulk load; without them it guesses a handful of rows.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"built {args.customers} customers, {args.variants} variants and "
        f"{min(args.subscriptions, args.customers)} placed subscriptions on {args.database} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    client = Client(headers={"HX-Request": "true"})
    client.force_login(manager)
    print(f"{'page':34} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    over = 0
    for label, path in pages(shop.pk, ids):
        median, slowest, queries, status = measure(client, path, args.repeat)
        flag = "" if status == 200 else f"  HTTP {status}"
        if median > TARGET_MS:
            flag += f"  over {TARGET_MS:.0f} ms"
            over += 1
        print(f"{label:34} {median:10.1f} {slowest:8.1f} {queries:8d}{flag}")
    print(
        f"{over} page(s) over {TARGET_MS:.0f} ms"
        if over
        else f"every page under {TARGET_MS:.0f} ms"
    )


if __name__ == "__main__":
    main()
