"""Production defaults, read from the environment at start-up. The settings are computed when
`cadence.settings` is imported, so each case imports it in a fresh Python with the variables
given, as a deployment would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Variables these tests set; any value inherited from the machine is dropped first.
_OURS = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "BASE_URL",
    "DEBUG",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "TRUST_X_FORWARDED_PROTO",
    "TRUST_X_FORWARDED_FOR",
    "SENTRY_DSN",
    "LOG_FORMAT",
)
_NAMES = [
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SECRET_KEY_IS_SET",
    "DEBUG",
]
PRODUCTION = {
    # As `python -c "import secrets; print(secrets.token_urlsafe(50))"` makes one.
    "SECRET_KEY": "k9Qe2-vLr8tZx4WmN7pB3sHc6yJd1fGa5uKo0iTq_eRwXn2Lp7Vb4Mz8Rt1Yc6Hg3Sk9",
    "ALLOWED_HOSTS": "cadence.example.org",
    "BASE_URL": "https://cadence.example.org",
}


def environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OURS}
    env.update(variables)
    return env


def settings_under(**variables: str) -> dict:
    """The settings a process started with these variables computes."""
    code = (
        "import json, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'cadence.settings'\n"
        "from django.conf import settings\n"
        f"names = {_NAMES!r}\n"
        "print(json.dumps({n: getattr(settings, n, None) for n in names}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environment(**variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_by_default_the_instance_answers_its_own_local_host_over_http():
    """No variables: the development set-up on 127.0.0.1, no HTTPS-only settings, and the
    development secret key (which `cadence serve` refuses)."""
    s = settings_under()

    assert s["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8000"]
    assert s["SECURE_SSL_REDIRECT"] is False and s["SESSION_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["SECRET_KEY_IS_SET"] is False and s["DEBUG"] is False


def test_an_https_base_url_turns_on_every_https_protection():
    """Only BASE_URL's host is allowed (not `*`, not localhost); cookies are secure; plain
    HTTP is redirected; browsers are told to use HTTPS for a year, subdomains included."""
    s = settings_under(BASE_URL="https://cadence.example.org", SECRET_KEY="x" * 50)

    assert s["ALLOWED_HOSTS"] == ["cadence.example.org"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://cadence.example.org"]
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31_536_000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert s["SECURE_HSTS_PRELOAD"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] is None  # a client's X-Forwarded-Proto is not trusted
    assert s["SECRET_KEY_IS_SET"] is True


def test_each_https_protection_can_be_turned_off_or_tuned():
    s = settings_under(
        BASE_URL="https://cadence.example.org",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="1",
        SESSION_COOKIE_SECURE="no",
        CSRF_COOKIE_SECURE="off",
        TRUST_X_FORWARDED_PROTO="1",
    )

    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_HSTS_SECONDS"] == 3600
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False and s["SECURE_HSTS_PRELOAD"] is True
    assert s["SESSION_COOKIE_SECURE"] is False and s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_allowed_hosts_and_trusted_origins_can_be_named():
    """ALLOWED_HOSTS replaces the default; CSRF_TRUSTED_ORIGINS adds to BASE_URL's origin;
    DEBUG adds the loopback names to a public BASE_URL's host."""
    s = settings_under(
        BASE_URL="https://cadence.example.org",
        ALLOWED_HOSTS="cadence.example.org, www.cadence.example.org",
        CSRF_TRUSTED_ORIGINS="https://www.cadence.example.org",
    )
    assert s["ALLOWED_HOSTS"] == ["cadence.example.org", "www.cadence.example.org"]
    assert s["CSRF_TRUSTED_ORIGINS"] == [
        "https://cadence.example.org",
        "https://www.cadence.example.org",
    ]

    debug = settings_under(BASE_URL="http://shop.test:8000", DEBUG="1")
    assert debug["ALLOWED_HOSTS"] == ["shop.test", "localhost", "127.0.0.1", "[::1]"]
    assert settings_under(BASE_URL="http://shop.test:8000")["ALLOWED_HOSTS"] == ["shop.test"]


def test_a_wildcard_bind_address_answers_every_host():
    """`cadence demo --host 0.0.0.0` sets BASE_URL to that address: reachable from other
    machines by any name, as asked."""
    assert settings_under(BASE_URL="http://0.0.0.0:8000")["ALLOWED_HOSTS"] == ["*"]


def test_an_ipv6_base_url_is_allowed_in_brackets():
    assert settings_under(BASE_URL="http://[::1]:8000")["ALLOWED_HOSTS"] == [
        "[::1]",
        "localhost",
        "127.0.0.1",
    ]


def test_the_production_settings_of_the_readme_pass_djangos_deploy_check():
    """`cadence manage check --deploy` with the README's production variables reports no
    warning at all."""
    done = subprocess.run(
        [sys.executable, "-m", "cadence", "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output


def test_without_https_the_deploy_check_does_warn():
    """The check is real: an http:// BASE_URL and the development key are reported."""
    done = subprocess.run(
        [sys.executable, "-m", "cadence", "manage", "check", "--deploy"],
        env=environment(BASE_URL="http://cadence.example.org"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert "security.W008" in output and "security.W009" in output
