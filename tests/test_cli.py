"""The `cadence` command's set-up sub-commands, run in-process against the test database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from cadence.api.models import ApiToken, hash_token
from cadence.cli import main
from tests import factories

pytestmark = pytest.mark.django_db


def test_user_create_makes_a_user_named_by_email(capsys):
    """`cadence user create EMAIL --password P` creates a user whose username is the email
    and who can sign in with P."""
    assert main(["user", "create", "ana@example.org", "--password", "s3cret"]) == 0
    user = get_user_model().objects.get(username="ana@example.org")
    assert user.email == "ana@example.org"
    assert user.check_password("s3cret")
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
