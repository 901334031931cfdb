"""Background tasks of the outbox: thin wrappers around the services."""

from __future__ import annotations

from django_tasks import task

from cadence.notifications import services


@task()
def emails_send_task(*, email_ids: list[int]) -> int:
    return services.emails_send(email_ids=email_ids)


@task()
def emails_send_due_task() -> int:
    return services.emails_send_due()
