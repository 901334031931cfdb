"""The `cadence` command as the API contract documents it, checked from outside.

`cadence user create EMAIL [--staff] [--password P]` makes a user, `cadence token create
EMAIL` prints a token that authenticates `Authorization: Bearer <token>`, `cadence token list`
and `cadence token revoke` show and withdraw them, and `cadence tick` runs what is due and
exits. The commands run in-process against the test database; the
console script itself is run once as a subprocess (its help needs no database).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from cadence.cli import main

pytestmark = pytest.mark.django_db

CONSOLE_SCRIPT = Path(sys.executable).with_name("cadence")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_staff_user_and_token_can_create_an_enterprise(capsys):
    """A `--staff` user's token, printed alone on stdout, creates enterprises through the
    API; a plain user's token authenticates but is refused (403)."""
    assert run(capsys, "user", "create", "ops@example.org", "--staff")[0] == 0
    assert run(capsys, "user", "create", "mia@example.org", "--password", "pw-123-mia")[0] == 0
    code, staff_token, _err = run(capsys, "token", "create", "ops@example.org")
    assert code == 0
    staff_token = staff_token.strip()
    assert staff_token and len(staff_token.split()) == 1
    code, user_token, _err = run(capsys, "token", "create", "mia@example.org")
    assert code == 0

    body = json.dumps({"name": "Corner Shop", "is_shop": True})
    client = Client()
    r = client.post(
        "/api/v1/enterprises", body, content_type="application/json", **bearer(staff_token)
    )
    assert r.status_code == 201, r.content
    assert json.loads(r.content)["name"] == "Corner Shop"
    r = client.post(
        "/api/v1/enterprises",
        body,
        content_type="application/json",
        **bearer(user_token.strip()),
    )
    assert r.status_code == 403
    assert "detail" in json.loads(r.content)
    # Each `token create` makes a new token; the first still works.
    code, second, _err = run(capsys, "token", "create", "ops@example.org")
    assert code == 0 and second.strip() != staff_token
    assert client.get("/api/v1/enterprises", **bearer(staff_token)).status_code == 200


def test_password_lets_the_user_sign_in():
    """`--password P` sets a password the user signs in with (by email)."""
    assert main(["user", "create", "ana@example.org", "--password", "s3cret-pw"]) == 0
    assert Client().login(username="ana@example.org", password="s3cret-pw")


def test_errors_exit_1_with_a_message(capsys):
    """An unknown user for `token create` and a duplicate `user create` exit 1 with a line
    on stderr, and print no token."""
    code, out, err = run(capsys, "token", "create", "ghost@example.org")
    assert code == 1 and out == "" and "ghost@example.org" in err
    assert run(capsys, "user", "create", "ana@example.org")[0] == 0
    code, _out, err = run(capsys, "user", "create", "ana@example.org")
    assert code == 1 and err.strip()


def test_tick_with_nothing_due_exits_0(capsys):
    """`cadence tick` on an empty instance does nothing, says so, and exits 0."""
    code, out, _err = run(capsys, "tick")
    assert code == 0 and out.strip()


def test_console_script_lists_the_documented_commands():
    """The installed `cadence` script answers --help listing user, token and tick."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"{CONSOLE_SCRIPT} is not installed (pip install -e .)")
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for command in ("user", "token", "tick"):
        assert command in result.stdout


def test_token_list_and_revoke(capsys):
    """`cadence token list EMAIL` shows each token's id and prefix (never the token);
    `cadence token revoke EMAIL ID` makes the API answer 401 to it at once."""
    assert run(capsys, "user", "create", "ops@example.org", "--staff")[0] == 0
    token = run(capsys, "token", "create", "ops@example.org")[1].strip()
    client = Client()
    assert client.get("/api/v1/enterprises", **bearer(token)).status_code == 200

    code, out, _err = run(capsys, "token", "list", "ops@example.org")
    assert code == 0 and token[:8] in out and token not in out
    token_id = out.split()[0]
    code, _out, _err = run(capsys, "token", "revoke", "ops@example.org", token_id)

    assert code == 0
    assert client.get("/api/v1/enterprises", **bearer(token)).status_code == 401


def test_weak_password_is_refused(capsys):
    """`--password` follows the password rules: a one-letter password exits 1, no user."""
    code, out, err = run(capsys, "user", "create", "ana@example.org", "--password", "a")
    assert code == 1 and out == "" and err.startswith("cadence: error: ")
    assert not Client().login(username="ana@example.org", password="a")
