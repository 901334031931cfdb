"""Placement and confirmation benchmark.

    python bench/placement.py --subscriptions 10000 --shops 50 --lines 3 \
        [--database postgres|sqlite] [--runs 3]

Builds a fresh database (PostgreSQL: the database named by BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/cadence_bench, dropped and re-created; SQLite: a
temporary file), with one open order cycle per shop and the subscriptions spread over the
shops. Then, `--runs` times on a copy of it as built, it times one placement round of every
cycle and the confirmation of every cycle (manual payments), and, for comparison,
PostgreSQL's COPY of the very rows placement wrote (orders, lines, payments) and a raw bulk
insert of as many rows through the ORM. Prints each run, then the median run: orders/s,
queries per 100 orders, the ratios to COPY and to the raw insert, and memory. (One run on
this machine varies by a tenth or more, COPY included: the median of several is the figure.)

Memory is measured apart from the data building: placement and confirmation run in a fresh
process (this script with `--engine`, started for each run), whose peak RSS and growth over
its own baseline (RSS after Django is set up, before the engine runs) are the engine's
alone; the comparisons run after it is read. The building process's peak is printed too,
for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from benchdb import (  # noqa: E402
    ADDRESS,
    copy_database,
    database_url,
    drop_database,
    recreate_postgres,
)


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build(*, subscriptions: int, shops: int, lines: int, seed: int = 1):
    """The data, written shop by shop with bulk inserts (memory stays flat)."""
    from django.utils import timezone

    from cadence.catalog.models import Product, Variant
    from cadence.customers.models import Customer
    from cadence.cycles.models import OrderCycle, OrderCycleFee, Schedule
    from cadence.enterprises.models import Enterprise
    from cadence.orders.models import ShippingMethod
    from cadence.payments.models import PaymentMethod
    from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem

    rng = random.Random(seed)
    now = timezone.now()
    per_shop = [
        subscriptions // shops + (1 if i < subscriptions % shops else 0) for i in range(shops)
    ]
    cycles = []
    for index, count in enumerate(per_shop):
        shop = Enterprise.objects.create(
            name=f"Bench shop {index}",
            contact_email=f"shop{index}@bench.test",
            enable_subscriptions=True,
            allocation_policy="fair_share" if index % 2 else "first_come",
        )
        products = Product.objects.bulk_create(
            Product(supplier=shop, name=f"Product {index}-{n}") for n in range(12)
        )
        variants = Variant.objects.bulk_create(
            Variant(
                product=p,
                name="1 kg",
                unit="kg",
                price=Decimal(rng.randint(100, 2000)) / 100,
                # One scarce variant per shop exercises allocation; the rest is plentiful.
                on_hand=max(count // 4, 1) if n == 0 else count * 10,
                on_demand=(n == 11),
            )
            for n, p in enumerate(products)
        )
        cycle = OrderCycle.objects.create(
            shop=shop,
            name=f"Week {index}",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=2),
        )
        cycle.variants.add(*variants)
        OrderCycleFee.objects.create(
            order_cycle=cycle, name="Packing", kind="per_order", amount=Decimal("0.50")
        )
        schedule = Schedule.objects.create(shop=shop, name="Weekly")
        schedule.order_cycles.add(cycle)
        shipping = ShippingMethod.objects.create(shop=shop, name="Delivery", fee=Decimal("3.00"))
        payment = PaymentMethod.objects.create(shop=shop, name="Cash", kind="manual")
        customers = Customer.objects.bulk_create(
            Customer(
                shop=shop,
                email=f"buyer{index}-{n}@bench.test",
                first_name="Buyer",
                language="fr" if n % 3 == 0 else "en",
            )
            for n in range(count)
        )
        subs = Subscription.objects.bulk_create(
            Subscription(
                shop=shop,
                customer=c,
                schedule=schedule,
                payment_method=payment,
                shipping_method=shipping,
                bill_address=ADDRESS,
                ship_address=ADDRESS,
                begins_at=now - timedelta(days=30),
            )
            for c in customers
        )
        SubscriptionLineItem.objects.bulk_create(
            SubscriptionLineItem(subscription=s, variant=v, quantity=rng.randint(1, 3))
            for s in subs
            for v in rng.sample(variants, lines)
        )
        ProxyOrder.objects.bulk_create(ProxyOrder(subscription=s, order_cycle=cycle) for s in subs)
        cycles.append(cycle)
    return cycles


def raw_insert(*, orders: int, lines: int, chunk: int) -> float:
    """Seconds to bulk insert `orders` orders with `lines` lines and one payment each through
    the ORM, in committed transactions of `chunk` orders, with no logic at all (the rows are
    removed afterwards, not timed)."""
    from django.db import transaction
    from django.utils import timezone

    from cadence.catalog.models import Variant
    from cadence.customers.models import Customer
    from cadence.cycles.models import OrderCycle
    from cadence.orders.models import LineItem, Order
    from cadence.payments.models import Payment, PaymentMethod

    cycle = OrderCycle.objects.select_related("shop").first()
    customer = Customer.objects.filter(shop=cycle.shop).first()
    variant_ids = list(
        Variant.objects.filter(product__supplier=cycle.shop).values_list("pk", flat=True)
    )
    method = PaymentMethod.objects.filter(shop=cycle.shop).first()
    now = timezone.now()

    offsets = _max_ids(Order, LineItem, Payment)
    started = time.perf_counter()
    for start in range(0, orders, chunk):
        with transaction.atomic():  # committed per chunk, as placement's chunks
            batch = Order.objects.bulk_create(
                Order(
                    number=f"R{n}",
                    shop=cycle.shop,
                    order_cycle=cycle,
                    customer=customer,
                    email=customer.email,
                    total=Decimal("10.00"),
                    placed_at=now,
                )
                for n in range(start, min(start + chunk, orders))
            )
            LineItem.objects.bulk_create(
                LineItem(
                    order=o,
                    variant_id=variant_ids[i],
                    quantity=1,
                    requested_quantity=1,
                    price=Decimal("10.00"),
                )
                for o in batch
                for i in range(lines)
            )
            Payment.objects.bulk_create(
                Payment(order=o, method=method, amount=Decimal("10.00")) for o in batch
            )
    elapsed = time.perf_counter() - started
    _delete_above(offsets)
    return elapsed


def copy_same_rows() -> float | None:
    """Seconds for PostgreSQL's `COPY … FROM STDIN` to write the very rows placement wrote
    (orders, their lines and payments), into the same tables with their indexes, constraints
    and foreign keys, in one committed transaction: the floor for writing them. The rows are
    read out first and removed afterwards (neither timed); ids and order numbers are shifted
    so they do not collide with placement's. None on SQLite, which has no COPY."""
    from django.db import connection, transaction

    from cadence.orders.models import LineItem, Order
    from cadence.payments.models import Payment

    if connection.vendor != "postgresql":
        return None

    def select_list(model, offsets: dict) -> str:
        columns = []
        for f in model._meta.concrete_fields:
            column = connection.ops.quote_name(f.column)
            if f.primary_key:
                columns.append(f"{column} + {offsets[model]}")
            elif f.is_relation and f.related_model is Order:
                columns.append(f"{column} + {offsets[Order]}")
            elif f.name == "number":
                columns.append(f"'C' || {column}")
            else:
                columns.append(column)
        return ", ".join(columns)

    with connection.cursor() as cursor:
        offsets = _max_ids(Order, LineItem, Payment)
        exported = []
        for model in (Order, LineItem, Payment):
            names = ", ".join(
                connection.ops.quote_name(f.column) for f in model._meta.concrete_fields
            )
            query = (
                f"COPY (SELECT {select_list(model, offsets)} FROM {model._meta.db_table} "
                f"ORDER BY id) TO STDOUT"
            )
            with cursor.cursor.copy(query) as copy:
                data = b"".join(bytes(block) for block in copy)
            exported.append((f"COPY {model._meta.db_table} ({names}) FROM STDIN", data))

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement, data in exported:
            with cursor.cursor.copy(statement) as copy:
                copy.write(data)
    # Timed up to the commit included: the foreign keys are checked then (Django makes them
    # DEFERRABLE INITIALLY DEFERRED) and the commit waits for the WAL, as placement's do.
    elapsed = time.perf_counter() - started
    _delete_above(offsets)
    return elapsed


def _max_ids(*models) -> dict:
    from django.db import connection

    offsets = {}
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {model._meta.db_table}")
            offsets[model] = cursor.fetchone()[0]
    return offsets


def _delete_above(offsets: dict) -> None:
    """Remove the rows a comparison wrote (ids above the offsets), children first."""
    from django.db import connection

    with connection.cursor() as cursor:
        for model in reversed(list(offsets)):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id > %s", [offsets[model]])


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    os.environ.setdefault("EMAIL_URL", "locmem:")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def engine(url: str, lines: int) -> None:
    """Placement then confirmation of every cycle, in this (fresh) process; then, once its
    memory is read, COPY and the raw insert of the rows placement wrote. Prints one JSON line
    with the timings, query counts and memory."""
    _setup(url)
    from django.db import connection

    from cadence.cycles.models import OrderCycle
    from cadence.orders.models import Order
    from cadence.subscriptions.services.confirmation import confirm_cycle
    from cadence.subscriptions.services.placement import CHUNK_SIZE, place_cycle

    cycles = list(OrderCycle.objects.select_related("shop").order_by("pk"))
    connection.close()
    baseline = rss_mb()
    counter = QueryCounter()
    placed = empty = failed = 0
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        for cycle in cycles:
            summary = place_cycle(order_cycle=cycle)
            placed += len(summary.placed)
            empty += len(summary.empty)
            failed += len(summary.failed)
        place_seconds = time.perf_counter() - started
    place_queries = counter.count
    after_placement = peak_rss_mb()
    with connection.cursor() as cursor:
        # A cycle closes days after it opened: autovacuum has analysed the orders placement
        # wrote by then. Not timed.
        cursor.execute("ANALYZE")

    counter.count = 0
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        confirmed = 0
        for cycle in cycles:
            summary = confirm_cycle(order_cycle=cycle, now=cycle.closes_at + timedelta(minutes=1))
            confirmed += len(summary.confirmed)
        confirm_seconds = time.perf_counter() - started
    peak = peak_rss_mb()  # before the comparisons, which hold the exported rows in memory
    orders = Order.objects.count()
    print(
        json.dumps(
            {
                "placed": placed,
                "empty": empty,
                "failed": failed,
                "place_seconds": place_seconds,
                "place_queries": place_queries,
                "confirmed": confirmed,
                "confirm_seconds": confirm_seconds,
                "confirm_queries": counter.count,
                "baseline_mb": baseline,
                "peak_after_placement_mb": after_placement,
                "peak_mb": peak,
                "orders": orders,
                "copy_seconds": copy_same_rows(),
                "raw_seconds": raw_insert(orders=orders, lines=lines, chunk=CHUNK_SIZE),
            }
        )
    )


def _run(url: str, lines: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--engine", url, "--lines", str(lines)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"the engine process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10000)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs on copies of the same data (median printed)"
    )
    parser.add_argument("--engine", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        engine(args.engine, args.lines)
        return

    url = database_url(args.database)
    if args.database == "postgres":
        recreate_postgres(url)
    _setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build(subscriptions=args.subscriptions, shops=args.shops, lines=args.lines)
    with connection.cursor() as cursor:
        # As autovacuum leaves a live instance's tables, where subscriptions were written
        # days before their cycle opens: fresh statistics and, on PostgreSQL, vacuumed (hint
        # bits and visibility map set, so the first reads do not rewrite every page).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"database: {connection.vendor}; built {args.subscriptions} subscriptions x "
        f"{args.lines} lines over {args.shops} shops in {time.perf_counter() - started:.1f}s "
        f"(peak RSS of the building process {peak_rss_mb():.0f} MB)",
        flush=True,
    )
    connection.close()

    runs = []
    for number in range(1, max(args.runs, 1) + 1):
        # Each run on its own copy of the data as built, so every run places the same cycles.
        copy = copy_database(url, f"{Path(url).stem}_run")
        try:
            r = _run(copy, args.lines)
        finally:
            drop_database(copy)
        runs.append(r)
        copy_text = (
            f"COPY {r['copy_seconds']:.2f}s, placement / COPY {ratio(r, 'copy_seconds'):.1f}x; "
            if r["copy_seconds"]
            else ""
        )
        print(
            f"run {number}: placement {r['place_seconds']:.2f}s, confirmation "
            f"{r['confirm_seconds']:.2f}s; {copy_text}raw insert {r['raw_seconds']:.2f}s; "
            f"peak RSS {r['peak_mb']:.0f} MB",
            flush=True,
        )
    report(runs)


def ratio(r: dict, baseline: str) -> float:
    return r["place_seconds"] / r[baseline]


def report(runs: list[dict]) -> None:
    """The median run's figures (ratios are the median of each run's own ratio)."""
    from statistics import median

    def mid(key: str) -> float:
        return median(r[key] for r in runs)

    placed, confirmed, orders = runs[0]["placed"], runs[0]["confirmed"], runs[0]["orders"]
    place_seconds, confirm_seconds = mid("place_seconds"), mid("confirm_seconds")
    label = f"median of {len(runs)} run(s)" if len(runs) > 1 else "one run"
    print(f"{label}:")
    print(
        f"placement: {placed} orders placed ({runs[0]['empty']} empty, {runs[0]['failed']} "
        f"failed) in {place_seconds:.2f}s = {placed / place_seconds:,.0f} orders/s; "
        f"{100 * mid('place_queries') / max(placed, 1):.1f} queries per 100 orders"
    )
    print(
        f"confirmation: {confirmed} orders confirmed (manual payments, a chunk a transaction) in "
        f"{confirm_seconds:.2f}s = {confirmed / confirm_seconds:,.0f} orders/s; "
        f"{100 * mid('confirm_queries') / max(confirmed, 1):.1f} queries per 100 orders"
    )
    if runs[0]["copy_seconds"]:
        copy_seconds = mid("copy_seconds")
        ratios = sorted(ratio(r, "copy_seconds") for r in runs)
        print(
            f"PostgreSQL COPY of the same rows (orders, lines, payments): {copy_seconds:.2f}s = "
            f"{orders / copy_seconds:,.0f} orders/s; placement / COPY = "
            f"{median(ratios):.1f}x (runs: {', '.join(f'{x:.1f}x' for x in ratios)})"
        )
    raw_seconds = mid("raw_seconds")
    print(
        f"raw bulk insert of the same rows (orders, lines, payments): {raw_seconds:.2f}s = "
        f"{orders / raw_seconds:,.0f} orders/s; "
        f"placement / raw = {median(ratio(r, 'raw_seconds') for r in runs):.1f}x"
    )
    print(
        f"engine memory (fresh process): peak RSS {mid('peak_mb'):.0f} MB "
        f"(after placement {mid('peak_after_placement_mb'):.0f} MB), "
        f"{mid('peak_mb') - mid('baseline_mb'):.0f} MB above its "
        f"{mid('baseline_mb'):.0f} MB baseline"
    )


if __name__ == "__main__":
    main()
