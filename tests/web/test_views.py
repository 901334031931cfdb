"""The minimal pages: sign-in, the account page's API token, the staff-only outbox, the dates
they show, and the API documentation served from the instance."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from cadence.api.models import ApiToken, hash_token
from cadence.notifications.models import Email
from tests.support import factories

pytestmark = pytest.mark.django_db


def _email(**fields) -> Email:
    fields.setdefault("to", "buyer@example.org")
    fields.setdefault("subject", "Your order")
    fields.setdefault("text", "Hello")
    fields.setdefault("kind", "placement")
    return Email.objects.create(**fields)


def test_home_links_to_sign_in_and_api_docs(client):
    """The home page answers anonymously with links to sign in and to the API docs."""
    response = client.get("/")
    assert response.status_code == 200
    assert b"/accounts/login/" in response.content
    assert b"/api/v1/docs" in response.content


def test_login_with_email_and_password_leads_to_the_account_page(client):
    """Signing in with the email as username and the password redirects to /account/."""
    factories.user("ana@example.org", password="s3cret")

    response = client.post(
        "/accounts/login/", {"username": "ana@example.org", "password": "s3cret"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.get("/account/").status_code == 200


def test_login_with_a_wrong_password_is_refused(client):
    """A wrong password shows the form again with an error, and no session."""
    factories.user("ana@example.org", password="s3cret")

    response = client.post("/accounts/login/", {"username": "ana@example.org", "password": "no"})

    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert client.get("/account/").status_code == 302


def test_logout_ends_the_session(client):
    """POST /accounts/logout/ signs out; the account page then asks to sign in."""
    client.force_login(factories.user())
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/account/")["Location"].startswith("/accounts/login/")


def test_account_requires_sign_in(client):
    """Anonymous visitors are sent to the sign-in page."""
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/"


def test_account_lists_the_users_enterprises_only(client):
    """The account page lists the enterprises the user manages, not others."""
    user = factories.user()
    factories.shop("Les Paniers", managers=[user])
    factories.shop("Someone Else's Shop")
    client.force_login(user)

    content = client.get("/account/").content.decode()

    assert "Les Paniers" in content
    assert "Someone Else" not in content


def test_account_creates_a_token_shown_once(client):
    """The token button creates a token for the user and shows the raw value in that page
    only; the database keeps the digest and the page afterwards shows only its prefix."""
    user = factories.user()
    client.force_login(user)

    response = client.post("/account/tokens/")

    assert response.status_code == 200
    token = ApiToken.objects.get(user=user)
    raw = response.context["new_token"]
    assert token.digest == hash_token(raw)
    assert raw in response.content.decode()
    later = client.get("/account/").content.decode()
    assert raw not in later and token.prefix in later


def test_account_token_creation_needs_post_and_sign_in(client):
    """GET does not create tokens; anonymous POST is sent to sign in."""
    assert client.post("/account/tokens/").status_code == 302
    client.force_login(factories.user())
    assert client.get("/account/tokens/").status_code == 405
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("path", ["/outbox/", "/outbox/{id}/"])
def test_outbox_is_for_staff_only(client, path):
    """Anonymous visitors are sent to sign in; signed-in non-staff (a manager) get 403."""
    email = _email()
    url = path.format(id=email.pk)
    assert client.get(url)["Location"].startswith("/accounts/login/")
    user = factories.user()
    factories.shop(managers=[user])
    client.force_login(user)
    assert client.get(url).status_code == 403


def test_outbox_lists_emails_newest_first_and_shows_the_text(client):
    """Staff see every email, newest first, and each one's text body."""
    older = _email(subject="Older email")
    newer = _email(subject="Newer email", text="Your basket for this week:\n- Carrots x 2")
    client.force_login(factories.user(staff=True))

    listing = client.get("/outbox/").content.decode()
    detail = client.get(f"/outbox/{newer.pk}/").content.decode()

    assert listing.index("Newer email") < listing.index("Older email")
    assert f"/outbox/{older.pk}/" in listing
    assert "- Carrots x 2" in detail
    assert client.get("/outbox/999999/").status_code == 404


def test_language_switch_to_french(client):
    """The language switcher stores French for the visitor."""
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "fr"


def test_static_stylesheet_is_served(client):
    """The web process serves its own stylesheet (no separate file server needed)."""
    response = client.get("/static/web/style.css")
    assert response.status_code == 200
    assert b"Cadence" in b"".join(response.streaming_content)


def test_api_docs_load_from_the_instance_not_a_cdn(client):
    """/api/v1/docs works offline: Swagger UI's script and stylesheet come from the instance's
    static files (ninja's bundled copy), and each one answers."""
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    for cdn in ("cdn.", "unpkg", "jsdelivr", "cdnjs"):
        assert cdn not in html
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_account_and_outbox_dates_read_day_first_in_both_languages(client):
    """Token and email dates read `2 Dec 2026, 17:00` / `2 déc. 2026 17:00` (UTC, said in the
    column's heading), never `12/02/2026`."""
    user = factories.user(staff=True)
    ApiToken.issue(user)
    moment = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    ApiToken.objects.filter(user=user).update(created_at=moment)
    email = _email()
    Email.objects.filter(pk=email.pk).update(created_at=moment, sent_at=moment)
    client.force_login(user)

    for url in ("/account/", "/outbox/", f"/outbox/{email.pk}/"):
        english = client.get(url).content.decode()
        french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
        assert "2 Dec 2026, 17:00" in english, url
        assert "2 déc. 2026 17:00" in french, url
        assert "12/02/2026" not in english and "02/12/2026" not in french
        assert "UTC" in english


def test_the_outbox_names_kinds_and_statuses_in_the_readers_language(client):
    """Kinds and statuses read as words, not as stored codes: in English and in French, on
    the list and on an email's page; a kind without words shows its code."""
    placed = _email(kind="placement", status="sent")
    _email(kind="subscription_paused", status="queued", subject="Paused")
    _email(kind="custom_notice", status="failed", subject="By hand")
    client.force_login(factories.user(staff=True))

    english = client.get("/outbox/").content.decode()
    french = client.get("/outbox/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    detail = client.get(f"/outbox/{placed.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    for words in ("Order placed", "Subscription paused", "Sent", "Queued", "Failed"):
        assert words in english
    for words in ("Commande passée", "Abonnement mis en pause", "Envoyé", "En attente", "Échec"):
        assert words in french
    assert "custom_notice" in french
    assert ">placement<" not in french and "subscription_paused" not in french
    assert "Commande passée" in detail and "Envoyé" in detail


def test_an_email_not_written_yet_still_has_a_link_and_a_title(client):
    """An email queued with its data only gets its subject when it is sent: until then the
    outbox links to it with a placeholder rather than an empty link."""
    email = _email(subject="", text="")
    client.force_login(factories.user(staff=True))

    listing = client.get("/outbox/").content.decode()
    detail = client.get(f"/outbox/{email.pk}/").content.decode()

    assert f'<a href="/outbox/{email.pk}/">(written when it is sent)</a>' in listing
    assert "<h1>(written when it is sent)</h1>" in detail
