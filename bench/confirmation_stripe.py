"""Confirmation of card orders against a slow Stripe.

    python bench/confirmation_stripe.py [--orders 1000] [--latency-ms 200] [--concurrency 16]
        [--compare-orders 50] [--kill-halfway 1000] [--database sqlite|postgres]

Starts localstripe (the fake Stripe server of the test suite) and, in front of it, a small
threaded HTTP proxy that adds `--latency-ms` to every call, as the real Stripe takes
200-500 ms. Builds a fresh database (SQLite: a temporary file; PostgreSQL: the database of
BENCH_DATABASE_URL, dropped and re-created) with shops charging by card, buyers whose card
is saved and who allowed the shops to charge it (through the project's services, straight
against localstripe), and `--orders` card orders placed in open cycles. Then it confirms
them through the slow proxy with `STRIPE_CONCURRENCY=--concurrency` and prints charges/s and
how many PaymentIntents each order got (asked of localstripe through the SDK); then the same
for `--compare-orders` more orders with `STRIPE_CONCURRENCY=1` (0 to leave it out).

With `--kill-halfway N`, N more card orders are confirmed by a separate process that is
killed with SIGKILL once about half of them are paid, then confirmed again to the end by a
new run; it prints how many were paid when the process died and the PaymentIntents per
order after the re-run (exactly one each, or an order was charged twice).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from benchdb import ADDRESS, database_url, recreate_postgres  # noqa: E402

SECRET_KEY = "sk_test_bench"
CARD = "4242424242424242"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_localstripe() -> tuple[subprocess.Popen, str]:
    port = free_port()
    script = ROOT / "tests" / "support" / "localstripe_server.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/js.stripe.com/v3/", timeout=1).read()
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit("localstripe did not start")
            time.sleep(0.1)


def serve_slow_proxy(port: int, target_port: int, latency: float) -> None:
    """Forwards every request to localstripe after `latency` seconds; one thread a client
    connection, each keeping its own connection to localstripe."""

    class Slow(BaseHTTPRequestHandler):
        # Keep-alive, as Stripe's API: the SDK reuses its connections.
        protocol_version = "HTTP/1.1"
        # The answer's headers and body go out in two writes: without this, Nagle's algorithm
        # holds the body until the client's delayed ACK of the headers (up to 40 ms), a
        # delay of this proxy's own on top of the latency it stands for.
        disable_nagle_algorithm = True
        upstream: http.client.HTTPConnection | None = None

        def _ask_upstream(self, body: bytes | None, headers: dict) -> tuple[int, str, bytes]:
            for attempt in (1, 2):
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=60)
                try:
                    self.upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = self.upstream.getresponse()
                    data = answer.read()
                    content_type = answer.getheader("Content-Type", "application/json")
                    return answer.status, content_type, data
                except (http.client.HTTPException, OSError):
                    self.upstream.close()
                    self.upstream = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        def _forward(self) -> None:
            time.sleep(latency)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
            }
            status, content_type, data = self._ask_upstream(body, headers)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815 (http.server's names)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Slow)
    server.daemon_threads = True
    server.serve_forever()


def start_slow_proxy(target_port: int, latency: float) -> tuple[multiprocessing.Process, str]:
    """The slow proxy in a process of its own (its threads do not compete with the
    engine's for this process's interpreter lock)."""
    port = free_port()
    proc = multiprocessing.Process(
        target=serve_slow_proxy, args=(port, target_port, latency), daemon=True
    )
    proc.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("the slow proxy did not start")
            time.sleep(0.05)


def setup_django(url: str, stripe_base: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    os.environ.setdefault("EMAIL_URL", "locmem:")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["STRIPE_SECRET_KEY"] = SECRET_KEY
    os.environ["STRIPE_API_BASE"] = stripe_base
    import django

    django.setup()


def buyers(count: int) -> list:
    """Users with a card saved for off-session charges (the project's card service)."""
    from django.contrib.auth import get_user_model

    from cadence.payments import cards
    from cadence.payments.gateways import stripe as gateway

    users = []
    for n in range(count):
        user = get_user_model().objects.create_user(
            username=f"card{n}@bench.test", email=f"card{n}@bench.test"
        )
        pm = gateway.client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": CARD, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        cards.card_save(user=user, stripe_payment_method_id=pm.id)
        users.append(user)
    return users


def shop_with_orders(index: int, users: list):
    """A shop charging by card, each user its customer with charges allowed and one
    subscription, placed in the shop's open cycle. Returns the cycle."""
    from django.utils import timezone

    from cadence.catalog.models import Product, Variant
    from cadence.customers.models import Customer
    from cadence.cycles.models import OrderCycle, Schedule
    from cadence.enterprises.models import Enterprise
    from cadence.orders.models import ShippingMethod
    from cadence.payments import cards
    from cadence.payments.models import PaymentMethod
    from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem
    from cadence.subscriptions.services.placement import place_cycle

    now = timezone.now()
    shop = Enterprise.objects.create(
        name=f"Card shop {index}",
        contact_email=f"shop{index}@bench.test",
        enable_subscriptions=True,
    )
    product = Product.objects.create(supplier=shop, name="Basket")
    variant = Variant.objects.create(
        product=product, name="1", unit="item", price=Decimal("12.50"), on_hand=len(users) * 10
    )
    cycle = OrderCycle.objects.create(
        shop=shop, name="Week", opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1)
    )
    cycle.variants.add(variant)
    schedule = Schedule.objects.create(shop=shop, name="Weekly")
    schedule.order_cycles.add(cycle)
    shipping = ShippingMethod.objects.create(shop=shop, name="Delivery", fee=Decimal("2.00"))
    method = PaymentMethod.objects.create(shop=shop, name="Card", kind="stripe")
    for user in users:
        customer = Customer.objects.create(
            shop=shop, email=user.email, user=user, first_name="Card", bill_address=ADDRESS
        )
        cards.consent_set(user=user, shop=shop, allow=True)
        sub = Subscription.objects.create(
            shop=shop,
            customer=customer,
            schedule=schedule,
            payment_method=method,
            shipping_method=shipping,
            bill_address=ADDRESS,
            ship_address=ADDRESS,
            begins_at=now - timedelta(days=30),
        )
        SubscriptionLineItem.objects.create(subscription=sub, variant=variant, quantity=1)
        ProxyOrder.objects.create(subscription=sub, order_cycle=cycle)
    place_cycle(order_cycle=cycle, now=now)
    return cycle


def build(*, orders: int, per_shop: int, first_shop: int, users: list) -> list:
    cycles, left, index = [], orders, first_shop
    while left > 0:
        count = min(per_shop, left)
        cycles.append(shop_with_orders(index, users[:count]))
        left -= count
        index += 1
    return cycles


def confirm(cycles: list, concurrency: int) -> tuple[int, int, float]:
    """Confirm the cycles with `STRIPE_CONCURRENCY=concurrency`: (paid, orders, seconds)."""
    from django.conf import settings

    from cadence.subscriptions.services.confirmation import confirm_cycle

    settings.STRIPE_CONCURRENCY = concurrency
    paid = confirmed = 0
    started = time.perf_counter()
    for cycle in cycles:
        summary = confirm_cycle(order_cycle=cycle, now=cycle.closes_at + timedelta(minutes=1))
        paid += len(summary.paid)
        confirmed += len(summary.confirmed)
    return paid, confirmed, time.perf_counter() - started


def intents_per_order(cycles: list) -> Counter:
    """How many PaymentIntents each order of these cycles has in localstripe, through the
    SDK (straight to localstripe, not through the slow proxy)."""
    from cadence.payments.gateways import stripe as gateway
    from cadence.payments.models import Payment

    payments = {
        str(pk): 0
        for pk in Payment.objects.filter(order__order_cycle__in=cycles).values_list("pk", flat=True)
    }
    for pi in gateway.client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
        payment_id = (pi.to_dict().get("metadata") or {}).get("payment_id")
        if payment_id in payments:
            payments[payment_id] += 1
    return Counter(payments.values())


def paid_count(cycle_ids: list[int]) -> int:
    from cadence.orders.models import PaymentState
    from cadence.payments.models import Payment

    return Payment.objects.filter(
        order__order_cycle_id__in=cycle_ids, state=PaymentState.PAID
    ).count()


def kill_halfway(cycles: list, *, url: str, base: str, slow_base: str, concurrency: int) -> None:
    """Confirm `cycles` in a child process (this script with `--confirm-only`), SIGKILL it
    once half of their orders are paid, confirm them again here to the end, and print the
    PaymentIntents per order."""
    import signal

    from django.conf import settings
    from django.db import connection

    ids = [c.pk for c in cycles]
    total = sum(c.proxy_orders.count() for c in cycles)
    connection.close()
    child = subprocess.Popen(
        [sys.executable, __file__, "--confirm-only", ",".join(map(str, ids))]
        + ["--database-url", url, "--stripe-base", slow_base, "--concurrency", str(concurrency)],
    )
    paid = 0
    while child.poll() is None and paid < total // 2:
        time.sleep(0.05)
        paid = paid_count(ids)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait()
    at_kill = paid_count(ids)
    settings.STRIPE_API_BASE = slow_base
    again_paid, confirmed, seconds = confirm(cycles, concurrency)
    settings.STRIPE_API_BASE = base
    counts = intents_per_order_of(ids)
    per_order = ", ".join(f"{n} intent(s): {orders}" for n, orders in sorted(counts.items()))
    print(
        f"SIGKILL halfway: the confirming process was killed (exit {child.returncode}) with "
        f"{at_kill} of {total} orders paid; the re-run confirmed {confirmed} more "
        f"({again_paid} paid) in {seconds:.1f}s; now {paid_count(ids)} paid. "
        f"PaymentIntents per order: {per_order}",
        flush=True,
    )


def intents_per_order_of(cycle_ids: list[int]) -> Counter:
    from cadence.cycles.models import OrderCycle

    return intents_per_order(list(OrderCycle.objects.filter(pk__in=cycle_ids)))


def confirm_only(cycle_ids: str, url: str, stripe_base: str, concurrency: int) -> None:
    """The child of `--kill-halfway`: confirm these cycles through the slow proxy."""
    setup_django(url, stripe_base)
    from cadence.cycles.models import OrderCycle

    ids = [int(i) for i in cycle_ids.split(",")]
    confirm(list(OrderCycle.objects.filter(pk__in=ids).order_by("pk")), concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--per-shop", type=int, default=100, help="orders per shop and cycle")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--compare-orders", type=int, default=50)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--kill-halfway", type=int, default=0, metavar="ORDERS")
    parser.add_argument("--confirm-only", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--stripe-base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.confirm_only:
        confirm_only(args.confirm_only, args.database_url, args.stripe_base, args.concurrency)
        return

    localstripe, base = start_localstripe()
    try:
        proxy, slow_base = start_slow_proxy(int(base.rsplit(":", 1)[1]), args.latency_ms / 1000)
        url = database_url(args.database, name="confirmation_stripe")
        if args.database == "postgres":
            recreate_postgres(url)
        setup_django(url, base)
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        users = buyers(
            max(
                min(args.per_shop, args.orders),
                min(args.per_shop, args.compare_orders),
                min(args.per_shop, args.kill_halfway),
            )
        )
        pooled = build(orders=args.orders, per_shop=args.per_shop, first_shop=0, users=users)
        compared = build(
            orders=args.compare_orders, per_shop=args.per_shop, first_shop=1000, users=users
        )
        killed = build(
            orders=args.kill_halfway, per_shop=args.per_shop, first_shop=2000, users=users
        )
        print(
            f"database: {connection.vendor}; {len(users)} buyers with a saved card, "
            f"{args.orders} + {args.compare_orders} card orders placed in "
            f"{time.perf_counter() - started:.1f}s; Stripe calls now take +{args.latency_ms} ms",
            flush=True,
        )

        settings.STRIPE_API_BASE = slow_base
        runs = [(pooled, args.concurrency)]
        if args.compare_orders:
            runs.append((compared, 1))
        for cycles, concurrency in runs:
            settings.STRIPE_API_BASE = slow_base
            cpu_before = os.times()
            paid, confirmed, seconds = confirm(cycles, concurrency)
            cpu = os.times()
            # Ours alone: localstripe and the slow proxy run in other processes, on the same
            # two cores, and are what caps the rate here (the real Stripe costs us no CPU).
            our_cpu = (cpu.user - cpu_before.user) + (cpu.system - cpu_before.system)
            settings.STRIPE_API_BASE = base
            counts = intents_per_order(cycles)
            per_order = ", ".join(
                f"{n} intent(s): {orders}" for n, orders in sorted(counts.items())
            )
            print(
                f"STRIPE_CONCURRENCY={concurrency}: {confirmed} orders confirmed, {paid} paid, "
                f"in {seconds:.1f}s = {paid / seconds:.1f} charges/s "
                f"(Cadence's own CPU: {1000 * our_cpu / max(confirmed, 1):.1f} ms per order); "
                f"PaymentIntents per order: {per_order}",
                flush=True,
            )
        if killed:
            kill_halfway(
                killed, url=url, base=base, slow_base=slow_base, concurrency=args.concurrency
            )
        proxy.terminate()
    finally:
        localstripe.terminate()
        localstripe.wait(timeout=10)


if __name__ == "__main__":
    main()
