"""Django settings, read from the environment (twelve-factor).

The defaults give the embedded set-up: a SQLite file in the working directory, emails on the
console.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env_flag(name: str, default: bool) -> bool:
    """A yes/no variable: "1", "true", "yes", "on" are yes; "0", "false", "no", "off" are no;
    unset or empty is `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def _env_int(name: str, default: int, unit: str) -> int:
    """A whole number of `unit` (seconds, minutes…); unset or empty is `default`. A bad value
    stops the start with one line naming the variable (the CLI prints it)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit}, not {value!r}")
    return number


def _env_list(name: str) -> list[str] | None:
    """A comma-separated variable as a list; None when unset."""
    if name not in os.environ:
        return None
    return [item.strip() for item in os.environ[name].split(",") if item.strip()]


# The development key is only for a machine of one's own; `cadence serve` and `cadence worker`
# look at SECRET_KEY_IS_SET to refuse running without a real one.
SECRET_KEY_IS_SET = bool(os.environ.get("SECRET_KEY", "").strip())
SECRET_KEY = (
    os.environ.get("SECRET_KEY", "").strip() or "cadence-insecure-development-key-change-me"
)
DEBUG = _env_flag("DEBUG", False)
BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")

_base = urlsplit(BASE_URL)
_BASE_HOST = (_base.hostname or "").lower()
_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
_BASE_IS_LOCAL = _BASE_HOST in ("localhost", "127.0.0.1", "::1")
_BASE_IS_HTTPS = _base.scheme == "https"

# The instance answers to the host of its own BASE_URL (the one its emails link to), plus the
# loopback names on a development machine. A wildcard bind address (0.0.0.0, as in
# `cadence demo --host 0.0.0.0`) is an explicit choice to answer on every address.
# ALLOWED_HOSTS (comma-separated) replaces this default.
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS")
if ALLOWED_HOSTS is None:
    if _BASE_HOST in ("0.0.0.0", "::"):
        ALLOWED_HOSTS = ["*"]
    else:
        # Django writes an IPv6 address in brackets, as in a URL.
        _host = f"[{_BASE_HOST}]" if ":" in _BASE_HOST else _BASE_HOST
        ALLOWED_HOSTS = [_host] if _host else []
        if DEBUG or _BASE_IS_LOCAL:
            ALLOWED_HOSTS += [h for h in _LOCAL_HOSTS if h not in ALLOWED_HOSTS]

# Forms posted over HTTPS are checked against their Origin: the instance's own origin is
# trusted; CSRF_TRUSTED_ORIGINS adds more (full origins, comma-separated).
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"] if _base.netloc else []
CSRF_TRUSTED_ORIGINS += _env_list("CSRF_TRUSTED_ORIGINS") or []
CSRF_FAILURE_VIEW = "cadence.web.views.csrf_failure"

# An https:// BASE_URL turns on everything HTTPS allows; each can be turned off by its own
# variable (e.g. SECURE_SSL_REDIRECT=0 when the proxy in front already redirects).
SESSION_COOKIE_SECURE = _env_flag("SESSION_COOKIE_SECURE", _BASE_IS_HTTPS)
CSRF_COOKIE_SECURE = _env_flag("CSRF_COOKIE_SECURE", _BASE_IS_HTTPS)
SECURE_SSL_REDIRECT = _env_flag("SECURE_SSL_REDIRECT", _BASE_IS_HTTPS)
SECURE_HSTS_SECONDS = _env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if _BASE_IS_HTTPS else 0, "seconds"
)
# The instance's own subdomains are its own too (one year, as browsers' HSTS guidance asks).
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", _BASE_IS_HTTPS)
# Preloading commits the whole domain to HTTPS in browsers for months, beyond this instance:
# the operator's decision, so it is opt-in and its deploy-check reminder is silenced.
SECURE_HSTS_PRELOAD = _env_flag("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Behind a proxy that terminates TLS, Django sees plain HTTP; trust the proxy's
# X-Forwarded-Proto only when told to, since a client could send that header itself.
if _env_flag("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_filters",
    "django_tables2",
    # django-ninja's own app, so /api/v1/docs loads Swagger UI from the instance's static
    # files rather than from a CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    # Sign-in throttling: failed attempts per account and address, in the database.
    "axes",
    "cadence.observability",
    "cadence.security",
    "cadence.enterprises",
    "cadence.catalog",
    "cadence.cycles",
    "cadence.customers",
    "cadence.orders",
    "cadence.payments",
    "cadence.subscriptions",
    "cadence.notifications",
    "cadence.api",
    "cadence.web",
]

MIDDLEWARE = [
    # First, so every answer (redirects and errors included) carries X-Request-ID and every
    # log line of the request names it.
    "cadence.observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "cadence.security.middleware.ContentSecurityPolicyMiddleware",
    # Serves /static/ from the web process itself (admin and page assets), so `cadence serve`
    # needs no separate file server; see WHITENOISE_USE_FINDERS below.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

# The throttling backend comes first: it refuses a locked-out account and address before any
# password is checked.
AUTHENTICATION_BACKENDS = [
    "cadence.security.backends.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "cadence.urls"
WSGI_APPLICATION = "cadence.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "cadence.web.context_processors.back_office",
            ],
        },
    },
]


def _database_settings(url: str) -> dj_database_url.DBConfig:
    # The URL is not repeated in the messages: it may hold a password.
    expected = "use sqlite:///PATH or postgres://USER:PASSWORD@HOST:PORT/NAME"
    if "://" not in url:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {expected}")
    scheme = url.partition("://")[0]
    try:
        parsed = dj_database_url.parse(url, conn_max_age=_env_int("CONN_MAX_AGE", 0, "seconds"))
    except dj_database_url.UnknownSchemeError:
        raise ImproperlyConfigured(f"DATABASE_URL: unknown scheme {scheme!r}: {expected}") from None
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid URL ({exc})") from None
    if parsed["ENGINE"] not in (
        "django.db.backends.sqlite3",
        "django.db.backends.postgresql",
    ):
        # The engine relies on PostgreSQL's row locks (or SQLite's single writer).
        raise ImproperlyConfigured(f"DATABASE_URL: Cadence does not run on {scheme!r}: {expected}")
    return parsed


DATABASES = {
    "default": _database_settings(
        os.environ.get("DATABASE_URL", f"sqlite:///{Path.cwd() / 'cadence.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and a worker share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's four standard checks. Eight characters is Django's (and NIST SP 800-63B's) minimum;
# the common-password list and the similarity check refuse the guessable ones.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (django-axes): the 5th wrong password for one account from one address
# within the cool-off locks that pair out for AXES_COOLOFF_TIME; a 6th try is refused before
# the password is checked, even a right one. Another address, or another account, is not
# affected. Counted in the database, so every web process sees the same count.
AXES_FAILURE_LIMIT = _env_int("SIGNIN_FAILURE_LIMIT", 5, "attempts")
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("SIGNIN_LOCKOUT_MINUTES", 15, "minutes"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "cadence.security.backends.signin_username"
AXES_LOCKOUT_CALLABLE = "cadence.web.views.signin_locked_out"
# Successful sign-ins are not recorded: only failures matter here, and that table would grow
# without bound.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# The client's address for both throttles (see cadence.security.backends.client_ip); behind a
# proxy, TRUST_X_FORWARDED_FOR=1 reads the address the proxy appended to X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "cadence.security.backends.client_ip"
TRUST_X_FORWARDED_FOR = _env_flag("TRUST_X_FORWARDED_FOR", False)

# API bearer tokens: failed attempts per address and minute before the address is refused (429)
# for the rest of that minute; see cadence.security.throttle.
API_TOKEN_FAILURE_LIMIT = _env_int("API_TOKEN_FAILURE_LIMIT", 10, "attempts")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The web process serves static files itself, found in the installed apps at start-up, so no
# `collectstatic` step is needed. Set STATIC_ROOT only to collect them for a separate server/CDN.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# EMAIL_URL: smtp://host:port, smtp+tls://user:pass@host:port, console:, locmem:
EMAIL_URL = os.environ.get("EMAIL_URL", "console:")
# A sender holds an email it claimed for this long; after it, another sender sends it again.
# Far longer than one send takes (SMTP timeouts are seconds), short enough that a dead
# sender's emails go out again within minutes.
EMAIL_SEND_LEASE_SECONDS = _env_int("EMAIL_SEND_LEASE_SECONDS", 300, "seconds")
# A background task's lease: its worker renews it while the task runs; a running task not
# renewed for this long is taken for abandoned (its worker died) and queued again. Long
# enough for a machine's hiccups, short enough that a dead worker's task runs again within
# minutes; 0 turns the requeueing off.
TASK_LEASE_SECONDS = _env_int("TASK_LEASE_SECONDS", 600, "seconds")


def _email_settings(url: str) -> dict:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    scheme = parsed.scheme
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: the port is not a number") from None
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme in ("smtp", "smtp+tls", "smtps"):
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parsed.hostname or "127.0.0.1",
            "EMAIL_PORT": port or 25,
            "EMAIL_HOST_USER": unquote(parsed.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_TIMEOUT": 10,
        }
    raise ImproperlyConfigured(
        f"EMAIL_URL: unsupported scheme {scheme!r} (use smtp://HOST:PORT, smtp+tls://, smtps://, "
        "console: or locmem:)"
    )


globals().update(_email_settings(EMAIL_URL))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "cadence@localhost")

STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
STRIPE_CONCURRENCY = _env_int("STRIPE_CONCURRENCY", 16, "requests")  # charges sent at once
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")

# Content-Security-Policy (django-csp 4): pages load scripts, styles and images from the
# instance only; no inline script or style. Stripe.js comes from Stripe (its frames and API
# too); the origins of STRIPE_JS_URL (a local fake in tests) are added per request by
# cadence.security.middleware, so a changed setting takes effect.
_STRIPE_JS = ["https://js.stripe.com", "https://*.js.stripe.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_STRIPE_JS],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", "https://api.stripe.com"],
        "frame-src": [*_STRIPE_JS, "https://hooks.stripe.com"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logs go to stderr: readable text by default, one JSON object per line with LOG_FORMAT=json.
# Every record carries the request's id, method, path and user id (cadence.observability).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "cadence.observability.logs.RequestContextFilter"}},
    "formatters": {
        "text": {"()": "cadence.observability.logs.TextFormatter"},
        "json": {"()": "cadence.observability.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        },
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "cadence": {"level": LOG_LEVEL},
        # Django's own: every 5xx with its traceback (django.request), refused hosts and
        # CSRF failures (django.security). A 4xx is the client's business, not logged.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"level": "ERROR"},
        # A failed task is reported by cadence.tasks with its arguments (see
        # cadence.observability); django_tasks' own line would repeat it.
        "django_tasks": {"handlers": ["null"], "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

# Error reporting to Sentry (or a compatible service) when SENTRY_DSN is set. No personal data
# (addresses, cookies, user details) leaves the instance.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "").strip()
if SENTRY_DSN:
    from cadence.observability.logs import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "").strip() or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )
