"""Work asked for after commit runs only once the transaction commits, never after a
rollback, and a failure there is logged rather than raised (the rows are saved)."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from cadence.notifications.after_commit import enqueue_on_commit, run_on_commit
from cadence.notifications.models import Email
from cadence.notifications.tasks import emails_send_task

pytestmark = pytest.mark.django_db


def test_work_runs_after_commit_and_keeps_its_name(django_capture_on_commit_callbacks):
    """Nothing runs before the commit; the callback is named after the work."""
    done = []

    def remember() -> None:
        done.append("ran")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_on_commit(remember)
        assert done == []

    assert done == ["ran"]
    assert [c.__qualname__ for c in callbacks] == [remember.__qualname__]


def test_nothing_runs_after_a_rollback():
    done = []

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        with transaction.atomic():
            run_on_commit(lambda: done.append("ran"))
            raise Rollback

    assert done == []


def test_a_failure_after_commit_is_logged_not_raised(django_capture_on_commit_callbacks, caplog):
    """The caller's write is committed: it gets no error, the log says what failed."""

    def broken() -> None:
        raise RuntimeError("queue unreachable")

    with caplog.at_level(logging.ERROR, logger="cadence.tasks"):
        with django_capture_on_commit_callbacks(execute=True):
            run_on_commit(broken)

    assert "broken failed" in caplog.text
    assert "queue unreachable" in caplog.text


def test_a_task_is_enqueued_with_its_arguments(django_capture_on_commit_callbacks, mailoutbox):
    """The task runs with the given arguments once the transaction commits (tests run tasks
    at once): the queued email is sent."""
    email = Email.objects.create(to="ann@example.org", kind="note", subject="Hi", text="Hello")

    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(emails_send_task, email_ids=[email.pk])
        assert mailoutbox == []

    assert [m.to for m in mailoutbox] == [["ann@example.org"]]
    email.refresh_from_db()
    assert email.status == "sent"
