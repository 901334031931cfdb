"""The staff outbox page: emails newest first, and failed emails requeued from the list (all
of them) or from an email's page, by a POST with its CSRF token; nobody else may."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client

from cadence.notifications.models import Email, EmailStatus
from tests.support import factories

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "src/cadence/web/templates/web"


def _email(subject: str, *, status: str = EmailStatus.SENT, **fields) -> Email:
    return Email.objects.create(
        to="buyer@example.org",
        subject=subject,
        text="Hello",
        kind="placement",
        status=status,
        **fields,
    )


def _failed(subject: str) -> Email:
    return _email(subject, status=EmailStatus.FAILED, attempts=8, last_error="550 no such user")


def _staff_client(*, enforce_csrf: bool = False, language: str = "en") -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf, HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(factories.user(staff=True))
    return client


def _csrf(client: Client, url: str) -> str:
    """The token the page's form carries."""
    html = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_list_is_sorted_by_creation_newest_first():
    """An email written later is listed first even when its row id is smaller (rows written
    with a past date, as the demo's history does)."""
    written_last = _email("Written last")
    written_first = _email("Written first")
    Email.objects.filter(pk=written_last.pk).update(created_at=datetime(2026, 3, 2, tzinfo=UTC))
    Email.objects.filter(pk=written_first.pk).update(created_at=datetime(2026, 3, 1, tzinfo=UTC))

    html = _staff_client().get("/outbox/").content.decode()

    assert html.index("Written last") < html.index("Written first")


def test_staff_requeue_every_failed_email_from_the_list(django_capture_on_commit_callbacks):
    """The list offers "requeue all failed" when some failed; the POST (with the form's CSRF
    token) puts them back in the queue, sends them once committed, and says how many."""
    first, second = _failed("First"), _failed("Second")
    sent = _email("Fine")
    client = _staff_client(enforce_csrf=True)
    listing = client.get("/outbox/").content.decode()
    assert "2 emails could not be sent." in listing
    assert "Requeue all failed emails" in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/outbox/", {"csrfmiddlewaretoken": _csrf(client, "/outbox/")})

    assert response.status_code == 302 and response["Location"] == "/outbox/"
    page = client.get("/outbox/").content.decode()
    assert "2 failed emails are queued again; they will be sent shortly." in page
    assert "could not be sent" not in page
    statuses = dict(Email.objects.values_list("pk", "status"))
    # Sent after commit through the test mail backend.
    assert statuses == {first.pk: "sent", second.pk: "sent", sent.pk: "sent"}


def test_staff_requeue_one_failed_email_from_its_page_in_french():
    """The email's page has a requeue button when it failed (not otherwise); the POST requeues
    that email only, and the message is in the reader's language."""
    failed, other = _failed("Broken"), _failed("Other")
    client = _staff_client(enforce_csrf=True, language="fr")
    url = f"/outbox/{failed.pk}/"
    assert "Renvoyer cet e-mail" in client.get(url).content.decode()
    assert "Renvoyer cet e-mail" not in client.get(f"/outbox/{_email('Ok').pk}/").content.decode()

    response = client.post(url, {"csrfmiddlewaretoken": _csrf(client, url)})

    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "1 e-mail en échec est remis dans la file" in page
    failed.refresh_from_db()
    other.refresh_from_db()
    assert (failed.status, failed.attempts) == (EmailStatus.QUEUED, 0)
    assert other.status == EmailStatus.FAILED


def test_a_post_without_the_csrf_token_is_refused():
    """A forged POST (no CSRF token) changes nothing."""
    failed = _failed("Broken")
    client = _staff_client(enforce_csrf=True)

    assert client.post("/outbox/").status_code == 403
    assert client.post(f"/outbox/{failed.pk}/").status_code == 403

    failed.refresh_from_db()
    assert failed.status == EmailStatus.FAILED


@pytest.mark.parametrize("path", ["/outbox/", "/outbox/{id}/"])
def test_only_staff_may_requeue(client, path):
    """Anonymous visitors are sent to sign in and a signed-in manager gets 403, as for reading
    the page; nothing is requeued."""
    failed = _failed("Broken")
    url = path.format(id=failed.pk)
    assert client.post(url)["Location"].startswith("/accounts/login/")
    manager = factories.user()
    factories.shop(managers=[manager])
    client.force_login(manager)

    assert client.post(url).status_code == 403
    assert client.get(url).status_code == 403

    failed.refresh_from_db()
    assert failed.status == EmailStatus.FAILED


def test_outbox_templates_have_no_inline_script():
    """The pages work under a Content-Security-Policy without 'unsafe-inline': no inline
    script and no inline event handler."""
    for template in TEMPLATES.glob("outbox*.html"):
        source = template.read_text()
        assert "<script" not in source, template.name
        assert not re.search(r"\son[a-z]+\s*=", source), template.name
