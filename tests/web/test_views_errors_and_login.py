"""Error pages (403, 404, 500) in the site's look and the visitor's language; signing in with an
email, and where people land afterwards; the header's back-office link."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

import cadence.urls
from cadence.web.views import server_error
from tests.support import factories

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


# A URL configuration for the 500 tests: the site's own routes and 500 handler, plus a page that
# fails.
urlpatterns = [path("boom/", _boom), path("", include("cadence.urls"))]
handler500 = cadence.urls.handler500


# --- error pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, heading, advice",
    [
        ("en", "This form has expired", "Nothing was saved"),
        ("fr", "Ce formulaire a expiré", "Rien n’a été enregistré"),
    ],
)
def test_a_form_refused_by_the_csrf_check_says_what_to_do(language, heading, advice):
    """A form posted without its CSRF token (a page left open across a sign-out, say) answers
    403 in the site's look and the visitor's language, and nothing is written."""
    factories.user("mia@example.org", password="secret-pw")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)

    response = client.post(
        "/accounts/login/", {"username": "mia@example.org", "password": "secret-pw"}
    )

    assert response.status_code == 403
    content = response.content.decode()
    assert 'class="site-header"' in content
    assert heading in content and advice in content
    assert "_auth_user_id" not in client.session


def test_a_missing_page_answers_404_in_the_sites_look(client):
    """An unknown address answers 404 with the site's header, a short explanation and a link
    home (DEBUG is off in tests, as in production)."""
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    content = response.content.decode()
    assert 'class="site-header"' in content and "/static/web/style.css" in content
    assert "<title>Page not found · Cadence</title>" in content
    assert "There is no page at this address" in content
    assert 'href="/">Back to the home page</a>' in content
    assert 'lang="en"' in content


def test_a_missing_page_answers_404_in_french(client):
    """A French-speaking visitor reads the 404 page in French."""
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 404
    content = response.content.decode()
    assert 'lang="fr"' in content
    assert "Page introuvable" in content
    assert 'href="/">Retour à l\'accueil</a>' in content


def test_a_missing_object_inside_a_page_answers_the_same_404(client):
    """A 404 raised by a view (an email that does not exist) uses the same page, with the
    signed-in visitor's header and a link to their account."""
    client.force_login(factories.user(staff=True))

    response = client.get("/outbox/999999/")

    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content
    assert 'href="/account/">Your account</a>' in content


def test_a_forbidden_page_answers_403_in_the_sites_look(client):
    """A buyer (not staff) opening the outbox gets a 403 page that says so in words, in the
    site's layout, in English and in French."""
    client.force_login(factories.user("buyer@example.org"))

    english = client.get("/outbox/")
    french = client.get("/outbox/", HTTP_ACCEPT_LANGUAGE="fr")

    assert english.status_code == 403 and french.status_code == 403
    assert 'class="site-header"' in english.content.decode()
    assert "You cannot open this page" in english.content.decode()
    assert 'href="/">Back to the home page</a>' in english.content.decode()
    assert "Vous ne pouvez pas ouvrir cette page" in french.content.decode()
    assert 'lang="fr"' in french.content.decode()


def test_the_site_answers_500_with_its_own_handler():
    """The site's URL configuration names the 500 handler that renders the site's page."""
    assert cadence.urls.handler500 == "cadence.web.views.server_error"


@pytest.mark.urls(__name__)
def test_a_failing_page_answers_500_in_the_visitors_language(client):
    """When a view fails, the visitor gets a 500 page with the site's stylesheet, a short
    explanation and a link home, in their language (here from the language cookie)."""
    client.raise_request_exception = False

    english = client.get("/boom/")
    client.cookies["django_language"] = "fr"
    french = client.get("/boom/")

    assert english.status_code == 500 and french.status_code == 500
    assert "Something went wrong" in english.content.decode()
    assert "/static/web/style.css" in english.content.decode()
    assert 'href="/">Back to the home page</a>' in english.content.decode()
    content = french.content.decode()
    assert 'lang="fr"' in content
    assert "Une erreur est survenue" in content
    assert "Veuillez réessayer dans un instant" in content


def test_the_500_page_needs_no_database(rf, django_assert_num_queries):
    """The 500 handler renders without a query (the database may be what failed), from the
    Accept-Language header alone."""
    request = rf.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")

    with django_assert_num_queries(0):
        response = server_error(request)

    assert response.status_code == 500
    assert "Une erreur est survenue" in response.content.decode()


# --- signing in ------------------------------------------------------------------------------


def test_a_wrong_password_speaks_of_the_email_not_a_username(client):
    """The refusal names the email and the password people typed, never a "username"."""
    factories.user("ana@example.org", password="s3cret")

    response = client.post("/accounts/login/", {"username": "ana@example.org", "password": "no"})

    content = response.content.decode()
    assert response.status_code == 200
    error = content.split('class="errors"')[1].split("</div>")[0]
    assert "Please enter a correct email and password." in error
    assert "username" not in error
    assert '<label for="id_username">Email</label>' in content


def test_a_wrong_password_is_explained_in_french(client):
    """The same refusal, in French."""
    factories.user("ana@example.org", password="s3cret")

    response = client.post(
        "/accounts/login/",
        {"username": "ana@example.org", "password": "no"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    content = response.content.decode()
    assert "Saisissez une adresse e-mail et un mot de passe corrects." in content
    assert '<label for="id_username">E-mail</label>' in content


def _sign_in(client, email: str, **extra):
    return client.post("/accounts/login/", {"username": email, "password": "s3cret", **extra})


def test_a_manager_lands_in_the_back_office(client):
    """Someone who manages a shop lands on /manage/ after signing in."""
    user = factories.user("manager@example.org", password="s3cret")
    factories.shop("Les Paniers", managers=[user])

    response = _sign_in(client, "manager@example.org")

    assert response.status_code == 302
    assert response["Location"] == "/manage/"


def test_staff_land_in_the_back_office(client):
    """Staff land on /manage/ too, even managing no shop."""
    factories.user("staff@example.org", password="s3cret", staff=True)

    assert _sign_in(client, "staff@example.org")["Location"] == "/manage/"


def test_a_buyer_lands_on_their_account(client):
    """A buyer, and the manager of a producer only (no shop), land on /account/."""
    factories.user("buyer@example.org", password="s3cret")
    farmer = factories.user("farmer@example.org", password="s3cret")
    factories.producer("The Farm").managers.add(farmer)

    assert _sign_in(client, "buyer@example.org")["Location"] == "/account/"
    client.logout()
    assert _sign_in(client, "farmer@example.org")["Location"] == "/account/"


def test_an_explicit_next_wins(client):
    """A manager sent to sign in from a page goes back to that page."""
    user = factories.user("manager@example.org", password="s3cret")
    factories.shop(managers=[user])

    response = _sign_in(client, "manager@example.org", next="/account/orders/")

    assert response["Location"] == "/account/orders/"


# --- the way to the back office --------------------------------------------------------------


def test_account_leads_a_manager_to_the_back_office_and_each_shop(client):
    """A manager's account page links to /manage/ and each managed shop to its overview; a
    producer they manage is listed without a link."""
    user = factories.user()
    shop = factories.shop("Les Paniers", managers=[user])
    farm = factories.producer("The Farm")
    farm.managers.add(user)
    client.force_login(user)

    content = client.get("/account/").content.decode()

    assert 'href="/manage/">Manage your shops</a>' in content
    assert f'<a href="/manage/{shop.pk}/">Les Paniers</a>' in content
    assert "The Farm" in content and f"/manage/{farm.pk}/" not in content


def test_a_buyers_pages_do_not_mention_the_back_office(client):
    """A buyer sees neither the header's "Manage" link nor the account page's."""
    client.force_login(factories.user())

    content = client.get("/account/").content.decode()

    assert "/manage/" not in content


def test_the_header_shows_manage_to_managers_and_staff(client):
    """The header's "Manage" link (French "Gestion") shows for a shop's manager and for staff,
    on every page."""
    user = factories.user()
    factories.shop(managers=[user])
    client.force_login(user)

    assert 'href="/manage/">Manage</a>' in client.get("/").content.decode()
    french = client.get("/account/orders/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'href="/manage/">Gestion</a>' in french

    client.force_login(factories.user(staff=True))
    assert 'href="/manage/">Manage</a>' in client.get("/").content.decode()


def test_knowing_whether_to_show_manage_costs_one_query(client):
    """The header asks the database once whether the visitor manages a shop."""
    client.force_login(factories.user())

    with CaptureQueriesContext(connection) as queries:
        client.get("/")

    asked = [q["sql"] for q in queries.captured_queries if "enterprises_enterprise" in q["sql"]]
    assert len(asked) == 1
