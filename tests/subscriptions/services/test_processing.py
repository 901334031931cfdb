"""The tick (catch-up) and the worker: what runs the cycles' placement and confirmation on time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cadence.notifications.models import Email
from cadence.orders.models import Order
from cadence.subscriptions.models import ProxyOrder, ProxyOrderState
from cadence.subscriptions.services.placement import place_cycle
from cadence.subscriptions.services.processing import run_tick
from tests.support.worlds import make_world

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        list(ProxyOrder.objects.order_by("pk").values_list("pk", "state", "order_id")),
        Order.objects.count(),
        list(Email.objects.order_by("pk").values_list("pk", "status")),
    )


def test_tick_places_open_cycles_confirms_closed_ones_and_a_second_tick_changes_nothing(
    smtp_server,
):
    """One tick places the open cycle, confirms a cycle that closed long ago, sends the
    emails; the next tick does nothing."""
    open_world = make_world()
    placed = open_world.subscribe()
    old = make_world()
    long_ago = timezone.now() - timedelta(days=40)
    old.cycle.opens_at, old.cycle.closes_at = long_ago - timedelta(days=7), long_ago
    old.cycle.save()
    to_confirm = old.subscribe(begins_at=long_ago - timedelta(days=30))
    place_cycle(order_cycle=old.cycle, now=long_ago - timedelta(days=1))

    lines = run_tick()

    placed.refresh_from_db()
    to_confirm.refresh_from_db()
    assert placed.state == ProxyOrderState.PLACED
    assert to_confirm.state == ProxyOrderState.CONFIRMED
    assert any(line.startswith("placed") for line in lines)
    assert any(line.startswith("confirmed") for line in lines)
    assert {m["To"] for m in smtp_server.messages} >= {
        placed.subscription.customer.email,
        to_confirm.subscription.customer.email,
    }
    before = _snapshot()
    messages = len(smtp_server.messages)

    assert run_tick() == []
    assert _snapshot() == before and len(smtp_server.messages) == messages


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_queued_tasks_and_catches_up_on_its_own(settings, smtp_server):
    """`run_worker` (database task queue): its first catch-up places the open cycle, the
    email tasks enqueued on commit are run from the queue, and it stops when told."""
    import threading
    import time

    from cadence.subscriptions.services.processing import run_worker

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    world = make_world()
    proxy = world.subscribe()
    stop = threading.Event()
    lines: list[str] = []
    thread = threading.Thread(
        target=run_worker, kwargs={"interval": 0.05, "stop": stop, "log": lines.append}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(smtp_server.messages) < 2:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=20)

    assert not thread.is_alive()
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PLACED
    assert any(line.startswith("placed") for line in lines)
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        [proxy.subscription.customer.email, world.shop.contact_email]
    )
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").exists()
