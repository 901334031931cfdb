"""The tasks of a cycle: placement and confirmation enqueued for the cycle's opening and
closing (stale ones doing nothing), and placement fanned out into one task per chunk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cadence.notifications.models import Email
from cadence.subscriptions.models import ProxyOrderState
from cadence.subscriptions.services.placement import place_cycle
from cadence.subscriptions.tasks import (
    confirm_cycle_task,
    enqueue_cycle_processing,
    place_cycle_task,
)
from tests.support import factories
from tests.support.worlds import make_world

pytestmark = pytest.mark.django_db


def test_enqueue_with_the_immediate_backend_does_nothing_early(world):
    """Tests run tasks immediately, which cannot wait for `opens_at`: nothing is enqueued,
    nothing is placed (the tick does it on time)."""
    later = factories.order_cycle(
        world.shop, opens_at=timezone.now() + timedelta(days=1), variants=world.variants
    )
    proxy = world.subscribe(cycle=later)
    enqueue_cycle_processing(later.pk)
    proxy.refresh_from_db()
    assert proxy.state == ProxyOrderState.PENDING


def test_enqueue_defers_placement_and_confirmation_and_stale_tasks_do_nothing(world, settings):
    """With the database backend, placement is queued for opens_at and confirmation for
    closes_at; a task whose cycle was re-dated since does nothing."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    opens = timezone.now() + timedelta(days=1)
    cycle = factories.order_cycle(world.shop, opens_at=opens, variants=world.variants)

    enqueue_cycle_processing(cycle.pk)

    rows = {r.task_path.rsplit(".", 1)[-1]: r for r in DBTaskResult.objects.all()}
    assert rows["place_cycle_task"].run_after == opens
    assert rows["confirm_cycle_task"].run_after == cycle.closes_at
    assert (
        place_cycle_task.call(order_cycle_id=cycle.pk, opens_at="2000-01-01T00:00:00+00:00")
        == "stale"
    )
    assert (
        confirm_cycle_task.call(order_cycle_id=cycle.pk, closes_at="2000-01-01T00:00:00+00:00")
        == "stale"
    )


def test_fan_out_runs_chunk_tasks_with_the_cycle_wide_allotment(monkeypatch):
    """Placement fanned out into one task per chunk (JSON arguments) gives the same
    fair-share result as placing the cycle in one go, and one summary."""
    from cadence.subscriptions.services import placement

    monkeypatch.setattr(placement, "CHUNK_SIZE", 1)
    world = make_world(on_hand=(7, 100, 100), allocation_policy="fair_share")
    proxies = [world.subscribe([(world.variants[0], q)]) for q in (4, 3, 4, 3)]

    summary = place_cycle(order_cycle=world.cycle, fan_out=True)

    assert summary.queued_chunks == 4
    got = []
    for proxy in proxies:
        proxy.refresh_from_db()
        got.append(proxy.order.line_items.get().quantity)
    assert got == [3, 1, 2, 1]
    assert Email.objects.filter(kind="placement_summary").count() == 1
