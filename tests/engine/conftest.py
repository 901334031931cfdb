"""Fixtures for the engine's tests: a real local SMTP server, subscription builders and the
environment of worker processes."""

from __future__ import annotations

import email
import email.policy
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from cadence.subscriptions.models import ProxyOrder, Subscription, SubscriptionLineItem
from tests import factories


@dataclass
class _Inbox:
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(preferencelist=("html",)).get_content()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a local port; Django's mail layer points at it.

    `smtp_server.messages` are the parsed emails that arrived."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    inbox.port = controller.port
    yield inbox
    controller.stop()


@dataclass
class World:
    """A shop with an open cycle, methods and a few variants, ready for subscriptions."""

    shop: object
    cycle: object
    schedule: object
    shipping: object
    payment: object
    variants: list

    def subscribe(self, lines=None, *, customer=None, cycle=None, **fields) -> ProxyOrder:
        """A subscription to this shop's schedule with a pending proxy order in `cycle`."""
        customer = customer or factories.customer(self.shop)
        fields.setdefault("bill_address", factories.address())
        fields.setdefault("ship_address", factories.address())
        fields.setdefault("begins_at", timezone.now() - timedelta(days=30))
        sub = Subscription.objects.create(
            shop=self.shop,
            customer=customer,
            schedule=self.schedule,
            payment_method=fields.pop("payment_method", self.payment),
            shipping_method=fields.pop("shipping_method", self.shipping),
            **fields,
        )
        for variant, quantity in lines or [(self.variants[0], 2)]:
            SubscriptionLineItem.objects.create(
                subscription=sub, variant=variant, quantity=quantity
            )
        return ProxyOrder.objects.create(subscription=sub, order_cycle=cycle or self.cycle)


def make_world(*, on_hand=(100, 100, 100), prices=("10.00", "4.50", "2.00"), **shop_fields):
    shop = factories.shop(**shop_fields)
    variants = [
        factories.variant(shop, price=price, on_hand=stock)
        for price, stock in zip(prices, on_hand, strict=True)
    ]
    now = timezone.now()
    cycle = factories.order_cycle(
        shop,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=3),
        variants=variants,
    )
    return World(
        shop=shop,
        cycle=cycle,
        schedule=factories.schedule(shop, [cycle]),
        shipping=factories.shipping_method(shop),
        payment=factories.payment_method(shop),
        variants=variants,
    )


@pytest.fixture
def world(db):
    return make_world()


ROOT = Path(__file__).resolve().parents[2]


def worker_process_env(**extra: str) -> dict[str, str]:
    """The environment for a worker process (`python -m tests.engine.…`, cwd ROOT) on the
    test's PostgreSQL database, plus `extra` variables."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **extra,
    )
    return env


def crash_worker_run(mode: str, cycle_id: int, fragment: str, nth: int, when: str) -> int:
    """Run `tests.engine.crash_worker` (placement or confirmation of the cycle, chunks of
    10, SIGKILLed just before or after the nth statement containing `fragment`) on the
    test's PostgreSQL database; its return code (-9 when it was killed)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tests.engine.crash_worker", mode, str(cycle_id), fragment]
        + [str(nth), when],
        cwd=ROOT,
        env=worker_process_env(LOG_LEVEL="CRITICAL"),
        capture_output=True,
        timeout=120,
    )
    return proc.returncode


def assert_no_email_twice() -> None:
    """No two outbox rows of the same kind to the same address."""
    from collections import Counter

    from cadence.notifications.models import Email

    per_recipient = Counter(Email.objects.values_list("kind", "to"))
    assert all(n == 1 for n in per_recipient.values()), per_recipient.most_common(3)
