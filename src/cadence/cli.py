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
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DEMO_DATABASE = "cadence-demo.sqlite3"


class CommandFailed(Exception):
    """An error the operator can fix; printed without a traceback, exit code 1."""


# --- set-up -------------------------------------------------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadence.settings")
    import django

    django.setup()


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


# --- sub-commands -------------------------------------------------------------------------


def cmd_user_create(args: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
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
    from cadence.api.models import ApiToken

    user = _find_user(args.email.strip())
    _token, raw = ApiToken.issue(user)
    # Only the raw token on stdout, so `TOKEN=$(cadence token create me@example.org)` works.
    print(raw)
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
    except OSError as exc:
        raise CommandFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


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
    processing.run_worker(interval=args.interval, stop=stop, log=_print_line())
    return 0


def _database_label() -> str:
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite {settings_dict['NAME']}"
    return f"{connection.vendor} {settings_dict.get('HOST') or 'local'}/{settings_dict['NAME']}"


def cmd_tick(args: argparse.Namespace) -> int:
    processing = _processing()
    lines = processing.run_tick()
    for line in lines:
        print(line)
    if not lines:
        print("nothing due")
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
        prog="cadence", description="Cadence: recurring orders for local food shops."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = user_sub.add_parser("create", help="create a user (the username is the email)")
    p.add_argument("email")
    p.add_argument(
        "--staff", action="store_true", help="an operator: sees everything, uses /admin/"
    )
    p.add_argument("--password", help="without it the user has no password and uses API tokens")
    p.set_defaults(func=cmd_user_create)

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p = token_sub.add_parser("create", help="print a new API token for a user")
    p.add_argument("email")
    p.set_defaults(func=cmd_token_create)

    p = add("migrate", cmd_migrate, "create or update the database tables")
    p.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])

    p = add("serve", cmd_serve, "run the web server (pages, API, admin, static files)")
    p.add_argument("--host", default=os.environ.get("HOST", DEFAULT_HOST))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    p.add_argument("--threads", type=int, default=8, help="request threads (default 8)")

    p = add("worker", cmd_worker, "run background tasks: placement, confirmation, emails")
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls of the task queue"
    )
    add("tick", cmd_tick, "run every due placement and confirmation now, print them, exit")

    p = add(
        "demo",
        cmd_demo,
        "migrate a SQLite file, load a demo shop, run the web server and a worker",
    )
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument(
        "--database",
        default=DEFAULT_DEMO_DATABASE,
        help=f"SQLite file or database URL (default ./{DEFAULT_DEMO_DATABASE})",
    )

    p = add("manage", cmd_manage, "run a Django management command (e.g. `cadence manage shell`)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        demo_environment(args)
    _setup_django()
    try:
        return args.func(args)
    except CommandFailed as exc:
        print(f"cadence: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
