"""Every failure is logged: an unhandled error in a page or in the API (here: the database is
down) leaves a line on stderr with its traceback and the request's id, method, path and user;
JSON lines with LOG_FORMAT=json; Sentry receives it when SENTRY_DSN is set; a failed task is
logged with its name and arguments."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import include, path
from django_tasks import task

from cadence.observability.logs import RequestContextFilter, TextFormatter, json_formatter
from tests.support import factories

# --- in a separate process, as deployed: the database is down --------------------------------

# A client in a process whose database cannot be reached: the sign-in page and the API both
# need it, so both fail with an error nobody handled.
_SCRIPT = """
import json
import django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
page = client.post(
    "/accounts/login/", {"username": "ann@example.org", "password": "pw"},
    HTTP_X_REQUEST_ID="page-1",
)
api = client.get(
    "/api/v1/enterprises", HTTP_AUTHORIZATION="Bearer cad_x", HTTP_X_REQUEST_ID="api-1"
)
print(json.dumps({
    "page": [page.status_code, page["X-Request-ID"], page["Content-Type"]],
    "api": [api.status_code, api["X-Request-ID"], api.content.decode()],
}))
"""


def run_with_database_down(**variables: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LOG_FORMAT", "SENTRY_DSN", "SENTRY_ENVIRONMENT", "ALLOWED_HOSTS")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cadence.settings",
        # Nothing listens on port 9: the connection is refused at once.
        DATABASE_URL="postgres://cadence@127.0.0.1:9/cadence",
        ALLOWED_HOSTS="testserver",
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class _SentryReceiver(BaseHTTPRequestHandler):
    """Stands in for Sentry's ingestion endpoint: keeps every envelope posted to it."""

    envelopes: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.envelopes.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def json_run():
    """One process with LOG_FORMAT=json and SENTRY_DSN pointing at a local receiver."""
    _SentryReceiver.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = run_with_database_down(
            LOG_FORMAT="json",
            SENTRY_DSN=f"http://public@127.0.0.1:{server.server_port}/42",
            SENTRY_ENVIRONMENT="test-env",
        )
    finally:
        server.shutdown()
        server.server_close()
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return json.loads(done.stdout), lines, list(_SentryReceiver.envelopes), done.stderr


def test_a_page_failing_answers_500_and_logs_a_json_line_with_its_traceback(json_run):
    answers, lines, _envelopes, stderr = json_run
    assert answers["page"][:2] == [500, "page-1"]
    assert answers["page"][2].startswith("text/html")

    [line] = [x for x in lines if x.get("request_id") == "page-1" and x["level"] == "ERROR"]
    assert line["logger"] == "django.request"
    assert line["method"] == "POST" and line["path"] == "/accounts/login/"
    assert line["user_id"] is None
    assert "Internal Server Error: /accounts/login/" in line["message"]
    assert "Traceback" in line["exc_info"] and "OperationalError" in line["exc_info"]
    # Every line of stderr is one JSON object.
    assert all(x.startswith("{") for x in stderr.splitlines() if x.strip()), stderr


def test_an_api_failure_answers_500_json_and_logs_its_traceback(json_run):
    answers, lines, _envelopes, _stderr = json_run
    status, request_id, body = answers["api"]
    assert (status, request_id) == (500, "api-1")
    assert "logged" in json.loads(body)["detail"]

    [line] = [x for x in lines if x.get("request_id") == "api-1"]
    assert line["level"] == "ERROR" and line["logger"] == "cadence.api"
    assert line["method"] == "GET" and line["path"] == "/api/v1/enterprises"
    assert "OperationalError" in line["exc_info"]


def test_sentry_receives_the_errors_when_a_dsn_is_set(json_run):
    """The real SDK's transport posts envelopes to the DSN's host, with the environment and
    the exception, and no personal data (no cookies, no client address)."""
    _answers, _lines, envelopes, _stderr = json_run
    events = []
    for envelope in envelopes:
        for item in envelope.split(b"\n"):
            if item.startswith(b"{") and b'"exception"' in item:
                events.append(json.loads(item))
    assert events, envelopes
    assert any(
        e["exception"]["values"][-1]["type"] == "OperationalError"
        and e.get("environment") == "test-env"
        for e in events
    )
    for event in events:
        request = event.get("request", {})
        assert "cookies" not in request and "REMOTE_ADDR" not in request.get("env", {})


def test_by_default_the_log_line_is_readable_text():
    done = run_with_database_down()

    text = done.stderr
    assert "ERROR django.request: Internal Server Error: /accounts/login/" in text
    assert "[request_id=page-1 POST /accounts/login/ user=-]" in text
    assert "ERROR cadence.api: Internal Server Error: GET /api/v1/enterprises" in text
    assert "Traceback (most recent call last)" in text
    assert not text.lstrip().startswith("{")


# --- in this process: the user's id, and tasks -----------------------------------------------


def _boom(request):
    request.user.email  # noqa: B018 - a view reads its user before failing
    raise RuntimeError("a bug in a page")


urlpatterns = [path("boom/", _boom), path("", include("cadence.urls"))]


def capture(formatter: logging.Formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(formatter)
    return stream, handler


@pytest.mark.django_db
@pytest.mark.urls("tests.observability.test_logs")
def test_the_log_line_names_the_signed_in_user():
    user = factories.user()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    stream, handler = capture(json_formatter())
    logging.getLogger().addHandler(handler)
    try:
        response = client.get("/boom/?x=1")
    finally:
        logging.getLogger().removeHandler(handler)

    assert response.status_code == 500
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "boom" in x]
    assert line["user_id"] == user.pk
    assert line["request_id"] == response["X-Request-ID"]
    assert line["path"] == "/boom/" and line["method"] == "GET"
    assert "RuntimeError: a bug in a page" in line["exc_info"]


@task()
def failing_task(*, order_cycle_id: int, note: str) -> None:
    raise ValueError(f"cycle {order_cycle_id} cannot be placed")


@pytest.mark.django_db
def test_a_failed_task_is_logged_with_its_name_arguments_and_traceback():
    stream, handler = capture(TextFormatter())
    logging.getLogger().addHandler(handler)
    try:
        result = failing_task.enqueue(order_cycle_id=7, note="weekly")
    finally:
        logging.getLogger().removeHandler(handler)

    assert str(result.status).endswith("FAILED")
    text = stream.getvalue()
    assert "ERROR cadence.tasks: task tests.observability.test_logs.failing_task failed" in text
    assert "kwargs={'order_cycle_id': 7, 'note': 'weekly'}" in text
    assert "ValueError: cycle 7 cannot be placed" in text
    assert "Traceback" in text


# The worker closes the database connection between tasks, as a long-running process must:
# the test cannot run inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_a_task_failing_in_the_database_worker_is_logged_with_its_traceback(settings):
    """The worker's path: the task is queued in the database and run by django-tasks-db's
    worker, which records the failure; the log line has the task's own traceback."""
    from django_tasks_db.management.commands.db_worker import Worker

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    result = failing_task.enqueue(order_cycle_id=8, note="fortnightly")
    stream, handler = capture(json_formatter())
    logging.getLogger().addHandler(handler)
    try:
        Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()
    finally:
        logging.getLogger().removeHandler(handler)

    result.refresh()
    assert str(result.status).endswith("FAILED")
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "cadence.tasks" in x]
    assert line["level"] == "ERROR"
    assert line["task"] == "tests.observability.test_logs.failing_task"
    assert "'order_cycle_id': 8" in line["task_kwargs"]  # (PostgreSQL stores keys sorted)
    assert "'note': 'fortnightly'" in line["task_kwargs"]
    assert "ValueError: cycle 8 cannot be placed" in line["exc_info"]
    assert 'raise ValueError(f"cycle {order_cycle_id} cannot be placed")' in line["exc_info"]
