"""The `cadence` command: its set-up sub-commands run in-process against the test database;
its failures (configuration, database, port) run as real processes, each expected to print one
line `cadence: error: ...` on stderr, exit 1 and leave nothing behind."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from cadence import cli
from cadence.api.models import ApiToken, hash_token
from cadence.cli import main
from cadence.observability.logs import json_formatter
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_user_create_makes_a_user_named_by_email(capsys):
    """`cadence user create EMAIL --password P` creates a user whose username is the email
    and who can sign in with P."""
    assert main(["user", "create", "ana@example.org", "--password", "plum-orchard-42"]) == 0
    user = get_user_model().objects.get(username="ana@example.org")
    assert user.email == "ana@example.org"
    assert user.check_password("plum-orchard-42")
    assert not user.is_staff
    assert "created user ana@example.org" in capsys.readouterr().out


def test_user_create_staff_is_an_operator():
    """`--staff` makes an operator: staff (sees every enterprise) and admin superuser."""
    assert main(["user", "create", "ops@example.org", "--staff"]) == 0
    user = get_user_model().objects.get(username="ops@example.org")
    assert user.is_staff and user.is_superuser
    assert not user.has_usable_password()


def test_user_create_refuses_an_existing_email(capsys):
    """A second user with the same email (any case) is refused with exit code 1."""
    factories.user("ana@example.org")
    assert main(["user", "create", "ANA@example.org"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert get_user_model().objects.filter(email__iexact="ana@example.org").count() == 1


def test_user_create_refuses_a_bad_email(capsys):
    """An invalid email is refused with exit code 1 and nothing is created."""
    assert main(["user", "create", "not-an-email"]) == 1
    assert "not a valid email" in capsys.readouterr().err
    assert not get_user_model().objects.exists()


def test_token_create_prints_only_the_raw_token(capsys):
    """`cadence token create EMAIL` prints one line, the raw token, whose digest is stored."""
    user = factories.user("ana@example.org")
    assert main(["token", "create", "ana@example.org"]) == 0
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("cad_") and "\n" not in raw
    assert ApiToken.objects.get(user=user).digest == hash_token(raw)


def test_token_create_for_an_unknown_user_fails(capsys):
    """A token for nobody is refused with exit code 1 and a message naming the email."""
    assert main(["token", "create", "ghost@example.org"]) == 1
    assert "ghost@example.org" in capsys.readouterr().err
    assert not ApiToken.objects.exists()


def test_the_printed_token_authenticates_against_the_api(client, capsys):
    """The token printed by the command is accepted by the REST API: the manager lists the
    enterprise they manage."""
    user = factories.user("manager@example.org")
    factories.shop("Les Paniers", managers=[user])
    main(["token", "create", "manager@example.org"])
    raw = capsys.readouterr().out.strip()

    response = client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == ["Les Paniers"]
    assert client.get("/api/v1/enterprises").status_code == 401


def test_unknown_sub_command_exits_with_usage_error(capsys):
    """argparse rejects an unknown command with exit status 2 and the usage."""
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "usage: cadence" in capsys.readouterr().err


def test_tick_with_nothing_due_says_so(capsys):
    """`cadence tick` on an instance with nothing due prints that and exits 0."""
    assert main(["tick"]) == 0
    assert capsys.readouterr().out.strip() == "nothing due"


def test_python_dash_m_cadence_runs_the_command():
    """`python -m cadence --help` runs the same command (exit 0, usage printed)."""
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "cadence", "--help"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert "usage: cadence" in completed.stdout


# --- cadence demo ---------------------------------------------------------------------------


def _demo_args(**overrides):
    import argparse

    values = {"host": "127.0.0.1", "port": 8150, "database": "demo.sqlite3", **overrides}
    return argparse.Namespace(**values)


def test_demo_keeps_emails_in_the_outbox_unless_told_otherwise(monkeypatch, tmp_path):
    """`cadence demo` stores sent emails (locmem: readable on /outbox/, never printed on the
    terminal); an EMAIL_URL the user set is kept."""
    from cadence.cli import demo_environment

    # Restored after the test: demo_environment writes to the process environment.
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused")
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.delenv("EMAIL_URL", raising=False)
    demo_environment(_demo_args(database=str(tmp_path / "demo.sqlite3")))
    import os

    assert os.environ["EMAIL_URL"] == "locmem:"
    assert os.environ["DATABASE_URL"] == f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert os.environ["BASE_URL"] == "http://127.0.0.1:8150"

    monkeypatch.setenv("EMAIL_URL", "smtp://mail.example.org:25")
    demo_environment(_demo_args())
    assert os.environ["EMAIL_URL"] == "smtp://mail.example.org:25"


class _FakeServer:
    effective_port = 8150

    def run(self):
        raise KeyboardInterrupt  # as if Ctrl-C was pressed at once

    def close(self):
        pass


def test_demo_prints_the_url_and_logins_last(monkeypatch, capsys):
    """`cadence demo` loads and catches up first, then the worker's first round; the URL, the
    logins (the manager pointed at /manage/) and the outbox URL are the last lines printed."""
    from cadence import cli, demo

    monkeypatch.setattr(cli, "make_server", lambda host, port, **kw: _FakeServer())
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)

    def worker(stop, started=None):
        print("worker: started")
        started.set()

    monkeypatch.setattr(cli, "_demo_worker", worker)

    assert cli.cmd_demo(_demo_args()) == 0

    out = capsys.readouterr().out.rstrip().splitlines()
    url = "http://127.0.0.1:8150/"
    assert out.index("Catching up with what is due now:") < out.index("worker: started")
    tail = out[out.index(f"Cadence demo: {url}") :]
    assert out.index("worker: started") < out.index(f"Cadence demo: {url}")
    assert any(demo.MANAGER_EMAIL in line and line.endswith(f"→ {url}manage/") for line in tail)
    assert all(any(login.email in line for line in tail) for login in demo.DEMO_LOGINS)
    assert any(f"{url}outbox/" in line for line in tail)
    assert tail[-1] == "Stop with Ctrl-C."
    assert not any(line.startswith("  cad_") or "Bearer" in line for line in tail)


# --- tokens: list and revoke --------------------------------------------------------------


def test_token_list_shows_ids_and_prefixes_never_the_secret(capsys):
    """`cadence token list EMAIL`: one line per token (id, prefix, created, last used), newest
    first, and never the token itself."""
    factories.user("ana@example.org")
    main(["token", "create", "ana@example.org"])
    main(["token", "create", "ana@example.org"])
    first, second = capsys.readouterr().out.split()

    assert main(["token", "list", "ana@example.org"]) == 0

    lines = capsys.readouterr().out.splitlines()
    tokens = list(ApiToken.objects.order_by("-created_at", "-id"))
    assert len(lines) == 2
    for line, token in zip(lines, tokens, strict=True):
        assert line.startswith(f"{token.pk}  {token.prefix}…  created ")
        assert line.endswith("last used never")
    assert first not in "\n".join(lines) and second not in "\n".join(lines)


def test_revoked_token_is_refused_by_the_api(client, capsys):
    """`cadence token revoke EMAIL PREFIX` revokes that token: the API answers 401 with it at
    once, while the user's other token still works; `--all` revokes the rest."""
    factories.user("ana@example.org")
    main(["token", "create", "ana@example.org"])
    main(["token", "create", "ana@example.org"])
    revoked, kept = capsys.readouterr().out.split()
    assert (
        client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {revoked}").status_code == 200
    )

    assert main(["token", "revoke", "ana@example.org", revoked[:8] + "…"]) == 0

    assert "revoked token" in capsys.readouterr().out
    assert (
        client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {revoked}").status_code == 401
    )
    assert client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {kept}").status_code == 200
    kept_id = ApiToken.objects.get().pk
    assert main(["token", "revoke", "ana@example.org", str(kept_id + 1)]) == 1
    assert capsys.readouterr().err.startswith("cadence: error: ")
    assert main(["token", "revoke", "ana@example.org", "--all"]) == 0
    assert client.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {kept}").status_code == 401


def test_token_revoke_touches_only_the_named_users_tokens(capsys):
    """An id of another user's token is refused (exit 1) and that token stays."""
    factories.user("ana@example.org")
    factories.user("bob@example.org")
    main(["token", "create", "bob@example.org"])
    capsys.readouterr()
    bobs = ApiToken.objects.get()

    assert main(["token", "revoke", "ana@example.org", str(bobs.pk)]) == 1
    assert main(["token", "revoke", "ana@example.org"]) == 1  # neither a token nor --all
    assert ApiToken.objects.filter(pk=bobs.pk).exists()


def test_user_create_refuses_a_weak_password_and_writes_nothing(capsys):
    """The password rules apply: a weak password is refused with one line per broken rule,
    exit 1, and no user is created."""
    assert main(["user", "create", "ana@example.org", "--password", "a"]) == 1

    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("cadence: error: password: ") for line in err)
    assert any("too short" in line for line in err)
    assert not get_user_model().objects.exists()


# --- tick output ------------------------------------------------------------------------------


@pytest.fixture
def due_work(settings):
    """An open cycle with two subscriptions to place and a closed one with one to confirm,
    under the default `console:` email backend (which prints whole emails)."""
    from datetime import timedelta

    from django.utils import timezone

    from cadence.subscriptions.services.placement import place_cycle
    from tests.support.worlds import make_world

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    open_world = make_world(name="Open Shop")
    placed = [open_world.subscribe(), open_world.subscribe()]
    old = make_world(name="Old Shop")
    long_ago = timezone.now() - timedelta(days=40)
    old.cycle.opens_at, old.cycle.closes_at = long_ago - timedelta(days=7), long_ago
    old.cycle.save()
    confirmed = old.subscribe(begins_at=long_ago - timedelta(days=30))
    place_cycle(order_cycle=old.cycle, now=long_ago - timedelta(days=1))
    return open_world, old, [p.subscription.customer.email for p in [*placed, confirmed]]


def test_tick_prints_one_line_per_cycle_and_phase_and_no_email(capsys, due_work):
    """`cadence tick` prints one line per cycle placed or confirmed (shop, cycle, counts,
    time taken) and a count of emails; never an email itself, even on the console backend."""
    open_world, old, recipients = due_work

    assert main(["tick"]) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    placed = [line for line in lines if line.startswith("placed ")]
    confirmed = [line for line in lines if line.startswith("confirmed ")]
    assert len(placed) == 1 and len(confirmed) == 1, out
    assert f"Open Shop / {open_world.cycle.name} (#{open_world.cycle.pk})" in placed[0]
    assert "placed 2" in placed[0] and re.search(r" in \d+\.\ds$", placed[0])
    assert f"Old Shop / {old.cycle.name}" in confirmed[0]
    assert "confirmed 1" in confirmed[0] and re.search(r" in \d+\.\ds$", confirmed[0])
    assert len(lines) <= 6, out
    assert "Subject:" not in out and "Content-Type" not in out
    assert not any(email in out for email in recipients)


def test_tick_verbose_lists_each_email_sent(capsys, due_work):
    """`cadence tick -v` adds one line per email sent: recipient and subject."""
    _open, _old, recipients = due_work

    assert main(["tick", "-v"]) == 0

    out = capsys.readouterr().out
    email_lines = [line for line in out.splitlines() if line.startswith("email to ")]
    for recipient in recipients:
        assert any(line.startswith(f"email to {recipient}: ") for line in email_lines), out
    assert "Subject:" not in out and "Content-Type" not in out


def test_tick_with_json_logs_logs_each_line_with_its_facts(capsys, caplog, settings, due_work):
    """With `LOG_FORMAT=json` each line is a log record whose fields say what happened (event,
    shop, cycle, counts, seconds), for an operator to ship; nothing is printed as text."""
    open_world, old, _recipients = due_work
    settings.LOG_FORMAT = "json"
    settings.LOGGING_CONFIG = None  # the command's set-up would replace pytest's handler

    with caplog.at_level(logging.INFO, logger="cadence.worker"):
        assert main(["tick"]) == 0

    assert "placed " not in capsys.readouterr().out
    by_event = {r.event: r for r in caplog.records if hasattr(r, "event")}
    placed, confirmed = by_event["placed"], by_event["confirmed"]
    assert (placed.shop, placed.order_cycle_id, placed.placed, placed.failed) == (
        "Open Shop",
        open_world.cycle.pk,
        2,
        0,
    )
    assert (confirmed.shop, confirmed.order_cycle_id, confirmed.confirmed) == (
        "Old Shop",
        old.cycle.pk,
        1,
    )
    assert isinstance(placed.duration_s, float) and placed.getMessage().startswith("placed ")
    formatted = json.loads(json_formatter().format(placed))
    assert formatted["event"] == "placed" and formatted["placed"] == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tick_on_a_terminal_shows_each_cycle_s_progress(monkeypatch, capsys, due_work):
    """On a terminal, `tick` draws a progress bar on stderr while it places or confirms a
    cycle (counted in orders), and still prints its lines on stdout."""
    open_world, old, _recipients = due_work
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0)

    assert main(["tick"]) == 0

    drawn = terminal.getvalue()
    assert f"placing Open Shop / {open_world.cycle.name}" in drawn and "/2 " in drawn
    assert f"confirming Old Shop / {old.cycle.name}" in drawn and "/1 " in drawn
    assert "orders/s" in drawn
    assert "placed Open Shop" in capsys.readouterr().out


def test_tick_off_a_terminal_draws_no_progress(monkeypatch, capsys, due_work):
    """In a log file (stderr not a terminal) there is no progress bar, only the lines."""
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0)

    assert main(["tick"]) == 0

    assert "placing" not in captured.getvalue() and "orders/s" not in captured.getvalue()
    assert "placed Open Shop" in capsys.readouterr().out


# --- operator errors, from a real process -------------------------------------------------

# The variables the command reads; each run below starts from none of them.
CADENCE_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "EMAIL_URL",
    "CONN_MAX_AGE",
    "PORT",
    "HOST",
    "BASE_URL",
)


def cadence(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m cadence ARGV` in `cwd` with only the given Cadence variables set."""
    base = {k: v for k, v in os.environ.items() if k not in CADENCE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "cadence", *argv],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 1, nothing but one `cadence: error: ...` line on stderr, naming `words`."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cadence: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> str:
    """A migrated SQLite database, shared by the runs that need one."""
    path = tmp_path_factory.mktemp("cli") / "cadence.sqlite3"
    result = cadence("migrate", "-v", "0", cwd=path.parent, DATABASE_URL=f"sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nosuch://host/db"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://user@127.0.0.1/db"),
        ("CONN_MAX_AGE", "abc"),
        ("SIGNIN_FAILURE_LIMIT", "many"),
        ("EMAIL_SEND_LEASE_SECONDS", "-5"),
        ("EMAIL_URL", "carrier-pigeon:"),
        ("EMAIL_URL", "smtp://127.0.0.1:notaport"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_variable(tmp_path, variable, value):
    """A bad DATABASE_URL, EMAIL_URL or number (CONN_MAX_AGE…): one line naming the
    variable, exit 1, and no database file created in the working directory."""
    result = cadence("tick", cwd=tmp_path, **{variable: value})

    assert_one_line_error(result, variable)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_postgresql_is_one_line(tmp_path):
    """A PostgreSQL server that does not answer: one line saying the database cannot be
    opened, where (without the password)."""
    url = "postgres://cadence:hunter2@127.0.0.1:1/cadence"

    line = assert_one_line_error(
        cadence("tick", cwd=tmp_path, DATABASE_URL=url), "cannot open the database", "127.0.0.1"
    )
    assert "hunter2" not in line


def test_sqlite_in_a_missing_directory_is_one_line(tmp_path):
    """`migrate` to a SQLite path whose directory does not exist names the directory; `tick`
    on it says to migrate; neither creates the directory."""
    url = f"sqlite:///{tmp_path}/nowhere/cadence.sqlite3"

    assert_one_line_error(
        cadence("migrate", cwd=tmp_path, DATABASE_URL=url), f"{tmp_path}/nowhere", "does not exist"
    )
    assert_one_line_error(cadence("tick", cwd=tmp_path, DATABASE_URL=url), "cadence migrate")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["tick"],
        ["worker"],
        ["serve", "--port", "8765"],
        ["user", "create", "ana@example.org"],
        ["token", "revoke", "ana@example.org", "--all"],
    ],
)
def test_unmigrated_sqlite_says_to_migrate_and_creates_nothing(tmp_path, argv):
    """A command that needs the tables, on a SQLite file that does not exist yet: one line
    saying to run `cadence migrate`, and no file left behind."""
    result = cadence(*argv, cwd=tmp_path, SECRET_KEY="k" * 50)

    assert_one_line_error(result, "cadence migrate")
    assert list(tmp_path.iterdir()) == []


def test_every_command_on_the_tables_checks_the_database_first():
    """Each command that reads or writes the tables is marked to check the database (reachable
    and migrated) before it runs; `migrate` only checks it can be reached."""
    from cadence.cli import build_parser

    parser = build_parser()
    for argv in (
        ["tick"],
        ["worker"],
        ["serve"],
        ["user", "create", "a@example.org"],
        ["token", "create", "a@example.org"],
        ["token", "list", "a@example.org"],
        ["token", "revoke", "a@example.org", "--all"],
    ):
        assert parser.parse_args(argv).database == "tables", argv
    assert parser.parse_args(["migrate"]).database == "reachable"


def _postgres_admin_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.rsplit("/", 1)[0] + "/postgres"
    return "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def empty_postgres_database() -> str:
    """An empty PostgreSQL database `cadence_cli_empty` (dropped afterwards); skipped, with the
    reason printed, where no PostgreSQL server answers."""
    psycopg = pytest.importorskip("psycopg")
    admin_url = _postgres_admin_url()
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {admin_url.split('@')[-1]}: {exc}")
    with admin:
        admin.execute("DROP DATABASE IF EXISTS cadence_cli_empty")
        admin.execute("CREATE DATABASE cadence_cli_empty")
        try:
            yield admin_url.rsplit("/", 1)[0] + "/cadence_cli_empty"
        finally:
            admin.execute("DROP DATABASE IF EXISTS cadence_cli_empty WITH (FORCE)")


def test_unmigrated_postgresql_says_to_migrate_and_creates_nothing(
    tmp_path, empty_postgres_database
):
    """On an empty PostgreSQL database, `tick` and `token list` say to run `cadence migrate`
    and create no table; a database name that does not exist is one line too."""
    import psycopg

    for argv in (["tick"], ["token", "list", "ana@example.org"]):
        assert_one_line_error(
            cadence(*argv, cwd=tmp_path, DATABASE_URL=empty_postgres_database),
            "not migrated",
            "cadence migrate",
        )
    with psycopg.connect(empty_postgres_database) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 0
    missing = empty_postgres_database.replace("cadence_cli_empty", "cadence_cli_no_such_db")
    assert_one_line_error(
        cadence("tick", cwd=tmp_path, DATABASE_URL=missing), "cannot open the database"
    )


@pytest.mark.parametrize(
    ("argv", "env", "option"),
    [
        (["serve", "--port", "80000"], {}, "--port"),
        (["serve", "--port", "0"], {}, "--port"),
        (["serve", "--port", "http"], {}, "--port"),
        (["serve"], {"PORT": "abc"}, "--port"),
        (["serve", "--threads", "0"], {}, "--threads"),
        (["demo", "--port", "70000"], {}, "--port"),
        (["worker", "--interval", "0"], {}, "--interval"),
    ],
)
def test_bad_options_name_the_option(tmp_path, argv, env, option):
    """An invalid option value is a usage error (exit 2, the usage and one line naming the
    option), before anything starts: no port is listened on, no file created."""
    result = cadence(*argv, cwd=tmp_path, **env)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("usage: cadence ")
    assert f"error: argument {option}" in lines[-1]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_port_in_use_is_one_line(tmp_path, migrated):
    """Another process on the port: one line naming host and port (with DEBUG=1 the missing
    SECRET_KEY is allowed, so this is the error reached)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cadence(
            "serve", "--port", str(port), cwd=tmp_path, DATABASE_URL=migrated, DEBUG="1"
        )

    assert_one_line_error(result, f"127.0.0.1:{port}", "in use")


def test_serve_on_an_address_not_of_this_machine_is_one_line(tmp_path, migrated):
    """A --host this machine has no address for (a documentation-only address): one line."""
    result = cadence(
        "serve",
        "--host",
        "192.0.2.1",
        "--port",
        "8765",
        cwd=tmp_path,
        DATABASE_URL=migrated,
        SECRET_KEY="k" * 50,
    )

    assert_one_line_error(result, "cannot listen on 192.0.2.1:8765")


@pytest.mark.parametrize("argv", [["serve", "--port", "8765"], ["worker"]])
def test_serve_and_worker_refuse_to_start_without_secret_key(tmp_path, migrated, argv):
    """Without SECRET_KEY (and without DEBUG=1) the web server and the worker do not start:
    one line saying to set it."""
    assert_one_line_error(cadence(*argv, cwd=tmp_path, DATABASE_URL=migrated), "SECRET_KEY")


def test_user_create_with_a_weak_password_writes_nothing(tmp_path, migrated):
    """From a real process: a weak password is refused, exit 1, one line per broken rule,
    and the database has no user."""
    result = cadence(
        "user", "create", "x@example.org", "--password", "a", cwd=tmp_path, DATABASE_URL=migrated
    )

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("cadence: error: password: ") for line in lines)
    with sqlite3.connect(migrated.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT count(*) FROM auth_user").fetchone()[0] == 0


def test_token_commands_from_a_real_process(tmp_path, migrated):
    """create → list → revoke by prefix → list, through the installed command."""
    env = {"DATABASE_URL": migrated}
    email = "tokens@example.org"
    assert cadence("user", "create", email, cwd=tmp_path, **env).returncode == 0
    raw = cadence("token", "create", email, cwd=tmp_path, **env).stdout.strip()

    listed = cadence("token", "list", email, cwd=tmp_path, **env)
    assert listed.returncode == 0 and raw[:8] in listed.stdout and raw not in listed.stdout
    revoked = cadence("token", "revoke", email, raw[:8], cwd=tmp_path, **env)
    assert revoked.returncode == 0 and raw[:8] in revoked.stdout
    assert cadence("token", "list", email, cwd=tmp_path, **env).stdout.startswith("no API tokens")
    assert_one_line_error(
        cadence("token", "revoke", email, raw[:8], cwd=tmp_path, **env), "no token"
    )
