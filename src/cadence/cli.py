"""The `cadence` command: set-up, the web and worker processes, the demo and operator helpers.

Every sub-command configures Django itself (`DJANGO_SETTINGS_MODULE=cadence.settings`), so the
command works from any directory with nothing but the environment variables of the README.
Errors the operator can fix (an unknown user, a bad email) print one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType

from django.core.mail.backends.base import BaseEmailBackend

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DEMO_DATABASE = "cadence-demo.sqlite3"


class CommandFailed(Exception):
    """An error the operator can fix; printed without a traceback, one line per argument
    (`cadence: error: ...`), exit code 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__(*lines)
        self.lines = [_one_line(line) for line in lines]


def _one_line(text: object) -> str:
    """The first line of an error's text, spaces collapsed (drivers add hints on more lines)."""
    first = next((line for line in str(text).splitlines() if line.strip()), "")
    return " ".join(first.split())


# --- argument types -----------------------------------------------------------------------


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: use 1 to 65535")
    return port


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is too few: at least 1")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds")
    return number


# --- set-up -------------------------------------------------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:  # a bad DATABASE_URL, EMAIL_URL, CONN_MAX_AGE...
        raise CommandFailed(str(exc)) from exc


def _require_secret_key() -> None:
    """The web server and the worker sign sessions, CSRF tokens and links with SECRET_KEY;
    the built-in development key is public, so they refuse it outside DEBUG."""
    from django.conf import settings

    is_set = getattr(settings, "SECRET_KEY_IS_SET", None)
    if is_set is None:
        is_set = bool(os.environ.get("SECRET_KEY"))
    if not is_set and not settings.DEBUG:
        raise CommandFailed(
            "SECRET_KEY is not set: set it to a long random value (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
            "or DEBUG=1 on a development machine"
        )


def _database_label() -> str:
    """Where the database is, without its password."""
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite {settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "local"
    if settings_dict.get("PORT"):
        host = f"{host}:{settings_dict['PORT']}"
    return f"{connection.vendor} {host}/{settings_dict['NAME']}"


def check_database(*, needs_tables: bool) -> None:
    """Fail with one line, before anything is written, when the database cannot be used:
    unreachable, or (for commands that read and write the tables) not migrated.

    Opening a SQLite file creates it, so its existence is checked first: a command run on
    the wrong path leaves no empty file behind."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, connection

    label = _database_label()
    if (
        connection.vendor == "sqlite" and not connection.is_in_memory_db()  # type: ignore[attr-defined]  # SQLite's wrapper
    ):
        path = Path(connection.settings_dict["NAME"]).expanduser()
        if needs_tables and not path.exists():
            raise CommandFailed(
                f"the database {path} does not exist: run `cadence migrate` first "
                "(or check DATABASE_URL)"
            )
        if not path.parent.is_dir():
            raise CommandFailed(
                f"cannot create the database {path}: the directory {path.parent} does not exist"
            )
    try:
        connection.ensure_connection()
    except (DatabaseError, ImproperlyConfigured) as exc:
        raise CommandFailed(f"cannot open the database ({label}): {_one_line(exc)}") from exc
    if needs_tables:
        pending = _pending_migrations(connection)
        if pending:
            raise CommandFailed(
                f"the database ({label}) is not migrated ({pending} migration(s) to apply): "
                "run `cadence migrate` first"
            )


def _pending_migrations(connection) -> int:
    # The loader only reads django_migrations (when it exists): nothing is created.
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _find_user(email: str):
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user = (
        user_model.objects.filter(username__iexact=email).first()
        or user_model.objects.filter(email__iexact=email).order_by("id").first()
    )
    if user is None:
        raise CommandFailed(
            f"no user with the email {email!r} (create it with `cadence user create`)"
        )
    return user


# --- emails of the tick and the worker ------------------------------------------------------

CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


class ReportingEmailBackend(BaseEmailBackend):
    """The email backend while `tick` or `worker` runs: sends through the configured
    backend and, with -v, prints one line per email sent (recipient, subject). The console
    backend is not used: it would print whole emails among the command's lines; the emails
    stay readable on /outbox/."""

    inner_backend: str | None = None  # None: the console's, whose emails go nowhere else
    verbose = False

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        from django.core.mail import get_connection

        super().__init__(fail_silently=fail_silently)
        self.inner = (
            get_connection(self.inner_backend, fail_silently=fail_silently, **kwargs)
            if self.inner_backend
            else None
        )

    def open(self):
        return self.inner.open() if self.inner is not None else False

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()

    def send_messages(self, email_messages) -> int:
        email_messages = list(email_messages)
        if self.inner is not None:
            sent = self.inner.send_messages(email_messages)
        else:
            sent = len(email_messages)
        if self.verbose and sent:
            for message in email_messages:
                print(f"email to {', '.join(message.to)}: {message.subject}", flush=True)
        return sent


def _reporting_emails(*, verbose: bool):
    """Settings under which the command's emails go through ReportingEmailBackend (restored
    when the command ends, which matters when it runs in-process)."""
    from django.conf import settings
    from django.test.utils import override_settings

    backend = settings.EMAIL_BACKEND
    ReportingEmailBackend.inner_backend = None if backend == CONSOLE_EMAIL_BACKEND else backend
    ReportingEmailBackend.verbose = verbose
    return override_settings(EMAIL_BACKEND=f"{__name__}.ReportingEmailBackend")


# --- sub-commands -------------------------------------------------------------------------


def cmd_user_create(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = args.email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise CommandFailed(f"{email!r} is not a valid email address") from exc
    user_model = get_user_model()
    if (
        user_model.objects.filter(username__iexact=email).exists()
        or user_model.objects.filter(email__iexact=email).exists()
    ):
        raise CommandFailed(f"a user with the email {email!r} already exists")
    if args.password is not None:
        try:
            validate_password(args.password, user=user_model(username=email, email=email))
        except ValidationError as exc:
            raise CommandFailed(*(f"password: {message}" for message in exc.messages)) from exc
    # Staff are the instance's operators: they see every enterprise and use the admin, which
    # needs every model permission, hence superuser too.
    user = user_model.objects.create_user(
        username=email,
        email=email,
        password=args.password,
        is_staff=args.staff,
        is_superuser=args.staff,
    )
    kind = "staff user" if args.staff else "user"
    print(f"created {kind} {user.email}")
    if args.password is None:
        print("no password set: this user signs in with an API token (`cadence token create`)")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from cadence.api.services import api_token_create

    user = _find_user(args.email.strip())
    _token, raw = api_token_create(user=user)
    # Only the raw token on stdout, so `TOKEN=$(cadence token create me@example.org)` works.
    print(raw)
    return 0


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def cmd_token_list(args: argparse.Namespace) -> int:
    from cadence.api.selectors import api_token_list

    user = _find_user(args.email.strip())
    tokens = list(api_token_list(user=user))
    # The secret is not stored: only the prefix that tells tokens apart is shown.
    for token in tokens:
        print(
            f"{token.pk}  {token.prefix}…  created {_when(token.created_at)}  "
            f"last used {_when(token.last_used_at)}"
        )
    if not tokens:
        print(f"no API tokens for {user.email or user.username}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from cadence.api.selectors import api_token_find
    from cadence.api.services import api_token_revoke, api_tokens_revoke_all

    user = _find_user(args.email.strip())
    owner = user.email or user.username
    if args.all:
        count = api_tokens_revoke_all(user=user)
        print(f"revoked {count} token(s) of {owner}")
        return 0
    if not args.token:
        raise CommandFailed(
            "name the token to revoke (its id or prefix, see `cadence token list`) or use --all"
        )
    found = api_token_find(user=user, reference=args.token)
    if not found:
        raise CommandFailed(
            f"{owner} has no token {args.token!r} (see `cadence token list {owner}`)"
        )
    if len(found) > 1:
        ids = ", ".join(str(token.pk) for token in found)
        raise CommandFailed(
            f"{args.token!r} names several tokens of {owner} (ids {ids}): give the id"
        )
    token = api_token_revoke(token=found[0])
    print(f"revoked token {token.pk} ({token.prefix}…) of {owner}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def make_server(host: str, port: int, *, threads: int = 8):
    """A production WSGI server (waitress) for the Django application, not yet serving."""
    from waitress.server import create_server

    from cadence.wsgi import application

    try:
        return create_server(application, host=host, port=port, threads=threads, ident="cadence")
    except (OSError, ValueError) as exc:  # port in use, an address not ours, an unknown host
        reason = getattr(exc, "strerror", None) or exc
        raise CommandFailed(f"cannot listen on {host}:{port}: {reason}") from exc


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_serve(args: argparse.Namespace) -> int:
    server = make_server(args.host, args.port, threads=args.threads)
    # SIGTERM (a process manager stopping us) closes the listening socket like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Cadence is serving on http://{args.host}:{server.effective_port}/", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _processing() -> ModuleType:
    # Imported when a worker or a tick runs, not when the command starts, so the set-up
    # commands keep working whatever state the processing code is in.
    from cadence.subscriptions.services import processing

    return processing


def _print_line(prefix: str = "") -> Callable[[str], None]:
    def emit(line: str) -> None:
        print(f"{prefix}{line}", flush=True)

    return emit


def _json_logs() -> bool:
    from django.conf import settings

    return settings.LOG_FORMAT == "json"


def _line_output(processing: ModuleType) -> Callable[[str], object]:
    """Where the tick's and the worker's lines go: printed as text, or with
    `LOG_FORMAT=json` logged as one JSON object each (with their facts as fields) on the
    logs' stream, for an operator to ship."""
    return processing.log_line if _json_logs() else _print_line()


# A cycle done sooner than this shows no bar (a tick on a quiet day prints only its lines).
PROGRESS_DELAY = 1.0  # seconds


def _terminal_progress() -> Callable[
    [str, int | None], AbstractContextManager[Callable[[int], object]]
]:
    """A progress bar per cycle being placed or confirmed (and for the emails sent), on
    stderr, when stderr is a terminal (never in a log file, nor with JSON logs); shown only
    for work that takes more than a second, and erased when it is done (its line stays)."""

    @contextmanager
    def bar(label: str, total: int | None) -> Iterator[Callable[[int], object]]:
        if total == 0 or _json_logs() or not sys.stderr.isatty():
            yield lambda done: None
            return
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        # Log lines written while the bar is drawn go above it instead of through it.
        with (
            logging_redirect_tqdm(),
            tqdm(
                total=total,
                desc=label,
                unit=" orders" if total is not None else " emails",
                file=sys.stderr,
                leave=False,
                delay=PROGRESS_DELAY,
            ) as progress,
        ):
            yield progress.update

    return bar


def cmd_worker(args: argparse.Namespace) -> int:
    processing = _processing()
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        # Finish the task at hand, then leave: a task is never cut in the middle.
        print("stopping after the current task...", file=sys.stderr, flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"Cadence worker started (database {_database_label()})", flush=True)
    with _reporting_emails(verbose=args.verbose):
        processing.run_worker(
            interval=args.interval,
            stop=stop,
            log=_line_output(processing),
            progress=_terminal_progress(),
        )
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    """One line per cycle placed or confirmed (shop, cycle, counts, time taken) and one for
    the emails sent; with -v, one more per email (recipient, subject). On a terminal, a
    progress bar while a big cycle is placed or confirmed."""
    processing = _processing()
    output = _line_output(processing)
    with _reporting_emails(verbose=args.verbose):
        lines = processing.run_tick(progress=_terminal_progress())
    for line in lines:
        output(line)
    if not lines:
        output(processing.TickLine("nothing due", event="nothing_due"))
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cadence manage", *args.args])
    return 0


def _demo_database_url(value: str) -> str:
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def demo_environment(args: argparse.Namespace) -> None:
    """Set what `cadence demo` needs before Django reads its settings: its own database, links
    in its emails pointing at its own server, and emails kept in the outbox (readable on
    /outbox/) rather than printed over the URL and logins. An EMAIL_URL or BASE_URL set by the
    user wins."""
    os.environ["DATABASE_URL"] = _demo_database_url(args.database)
    os.environ.setdefault("BASE_URL", f"http://{args.host}:{args.port}")
    os.environ.setdefault("EMAIL_URL", "locmem:")


def cmd_demo(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from cadence import demo

    # Listen first, so a port in use is reported before the minute of loading.
    server = make_server(args.host, args.port)
    check_database(needs_tables=False)
    print(f"Migrating {_database_label()} ...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    result = demo.demo_load()
    if result.created:
        print("Demo data loaded; the last three weeks were replayed:")
        for line in result.history:
            print(f"  {line}")
    else:
        print("Demo data already there: reused.")
    print("Catching up with what is due now:")
    for line in demo.demo_catch_up() or ["nothing due"]:
        print(f"  {line}")
    tokens = demo.demo_tokens()

    signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    started = threading.Event()
    worker = threading.Thread(
        target=_demo_worker, args=(stop, started), name="cadence-worker", daemon=True
    )
    worker.start()
    # The worker's first round prints what it does; the URL and the logins come after it, at
    # the bottom of the terminal, where the user looks.
    started.wait(timeout=30)
    print(_demo_banner(f"http://{args.host}:{server.effective_port}/", tokens), flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        stop.set()
        worker.join(timeout=10)
    return 0


def _demo_banner(url: str, tokens: dict[str, str]) -> str:
    """What `cadence demo` prints once it serves: the API first, then the URL and the logins
    last."""
    from cadence import demo

    width = max(len(f"{login.email} / {login.password}") for login in demo.DEMO_LOGINS)
    lines = [
        "",
        "API tokens (Authorization: Bearer <token>; a new one at each start, while the tokens",
        "you create on /account/ are kept):",
        *(f"  {email:<24} {raw}" for email, raw in tokens.items()),
        f"Try: curl -H 'Authorization: Bearer {tokens[demo.MANAGER_EMAIL]}' "
        f"{url}api/v1/enterprises",
        f"API docs: {url}api/v1/docs",
        "",
        f"Cadence demo: {url}",
        "Sign in (email / password):",
        *(
            f"  {login.role.capitalize() + ':':<9} "
            f"{f'{login.email} / {login.password}':<{width}}  → {url}{login.start}"
            for login in demo.DEMO_LOGINS
        ),
        f"Emails the demo sends: {url}outbox/ (staff login)",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def _demo_worker(stop: threading.Event, started: threading.Event | None = None) -> None:
    """The demo's in-process worker; a failure is printed, the web server keeps running.
    `started` is set once its first catch-up tick is done (and printed)."""
    processing = _processing()
    emit = _print_line("worker: ")
    try:
        try:
            for line in processing.run_tick():
                emit(line)
        finally:
            if started is not None:
                started.set()
        processing.run_worker(stop=stop, log=emit)
    except Exception as exc:  # the demo keeps serving pages whatever happens to the worker
        print(f"worker stopped: {exc!r}", file=sys.stderr, flush=True)


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cadence",
        description="Cadence: recurring orders for local food shops.",
        epilog="An error you can fix (configuration, database, port) prints one line "
        "`cadence: error: ...` on stderr and exits 1; a mistyped command or option prints "
        "the usage and exits 2.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # `database`: what the command needs of the database, checked before it runs: "tables"
    # (reachable and migrated), "reachable", or None (the command sees to it).
    def add(subparsers, name: str, func: Callable[[argparse.Namespace], int], help_: str, database):
        p = subparsers.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func, database=database)
        return p

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = add(
        user_sub,
        "create",
        cmd_user_create,
        "create a user (the username is the email)",
        "tables",
    )
    p.add_argument("email")
    p.add_argument(
        "--staff", action="store_true", help="an operator: sees everything, uses /admin/"
    )
    p.add_argument(
        "--password",
        help="checked against the password rules; without it the user has no password and "
        "uses API tokens",
    )

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p = add(token_sub, "create", cmd_token_create, "print a new API token for a user", "tables")
    p.add_argument("email")
    p = add(
        token_sub,
        "list",
        cmd_token_list,
        "list a user's API tokens: id, prefix, created, last used (never the secret)",
        "tables",
    )
    p.add_argument("email")
    p = add(
        token_sub,
        "revoke",
        cmd_token_revoke,
        "revoke one of a user's API tokens (by id or prefix) or all of them; "
        "programs using it get 401 at once",
        "tables",
    )
    p.add_argument("email")
    p.add_argument("token", nargs="?", help="the token's id or prefix, from `cadence token list`")
    p.add_argument("--all", action="store_true", help="revoke every token of the user")

    p = add(sub, "migrate", cmd_migrate, "create or update the database tables", "reachable")
    p.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])

    p = add(
        sub,
        "serve",
        cmd_serve,
        "run the web server (pages, API, admin, static files)",
        "tables",
    )
    p.add_argument("--host", default=os.environ.get("HOST", DEFAULT_HOST))
    # A string default goes through `type` too, so a bad PORT variable is reported like a
    # bad --port.
    p.add_argument("--port", type=_port, default=os.environ.get("PORT", str(DEFAULT_PORT)))
    p.add_argument("--threads", type=_at_least_one, default=8, help="request threads (default 8)")

    p = add(
        sub,
        "worker",
        cmd_worker,
        "run background tasks: placement, confirmation, emails",
        "tables",
    )
    p.add_argument(
        "--interval", type=_seconds, default=1.0, help="seconds between polls of the task queue"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print a line per email sent")
    p = add(
        sub,
        "tick",
        cmd_tick,
        "run every due placement and confirmation now, one line each, and exit",
        "tables",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="also print a line per email sent")

    p = add(
        sub,
        "demo",
        cmd_demo,
        "migrate a SQLite file, load a demo shop, run the web server and a worker",
        None,
    )
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=_port, default=DEFAULT_PORT)
    p.add_argument(
        "--database",
        default=DEFAULT_DEMO_DATABASE,
        help=f"SQLite file or database URL (default ./{DEFAULT_DEMO_DATABASE})",
    )

    p = add(
        sub,
        "manage",
        cmd_manage,
        "run a Django management command (e.g. `cadence manage shell`)",
        None,
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


# The commands that sign cookies and links refuse the public development key.
NEEDS_SECRET_KEY = {"serve", "worker"}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CommandFailed as exc:
        for line in exc.lines:
            print(f"cadence: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    from django.db import DatabaseError

    if args.command == "demo":
        demo_environment(args)
    _setup_django()
    if args.command in NEEDS_SECRET_KEY:
        _require_secret_key()
    if args.database:
        check_database(needs_tables=args.database == "tables")
    try:
        return args.func(args)
    except DatabaseError as exc:  # the server went away, a disk is full...
        raise CommandFailed(f"database error: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
