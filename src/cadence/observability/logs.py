"""Log records that say which request (or task) they belong to, in text or JSON.

The request's context lives in a context variable set by `RequestIdMiddleware`, so any log
call made while a request is served (by our code, by Django's `django.request` logger for an
unhandled error, by a library) carries `request_id`, `method`, `path` and `user_id` without
passing the request around.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.utils.functional import empty


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    method: str
    path: str
    request: Any  # the HttpRequest, for its user once authentication has run


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)

_CONTEXT_FIELDS = ("request_id", "method", "path", "user_id")


def _user_id(request: Any) -> int | None:
    """The signed-in user's id when authentication already ran. A user not loaded yet is not
    loaded here: logging must not query the database (which may be what failed)."""
    user = getattr(request, "user", None) if request is not None else None
    if user is None:
        return None
    if getattr(user, "_wrapped", None) is empty:  # Django's lazy request.user, never read
        return None
    try:
        return user.pk if user.is_authenticated else None
    except Exception:  # noqa: BLE001 - a log line must never fail the request
        return None


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, method, path and user id to every record (None outside
    a request). Fields given explicitly in `extra=` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request.get()
        values = {
            "request_id": context.request_id if context else None,
            "method": context.method if context else None,
            "path": context.path if context else None,
            "user_id": _user_id(context.request) if context else None,
        }
        for name, value in values.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """`2026-01-05 10:00:00,123 ERROR cadence.x: message [request_id=… GET /path user=3]`,
    then the traceback, if any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - stdlib name
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            where = f"{getattr(record, 'method', '')} {getattr(record, 'path', '')}".strip()
            user = getattr(record, "user_id", None)
            line += f" [request_id={request_id} {where} user={user if user else '-'}]"
        return line


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, the request's fields, any
    `extra=` fields, and `exc_info` (the formatted traceback)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        ["asctime", "levelname", "name", "message", *_CONTEXT_FIELDS],
        style="%",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


_task_logger = logging.getLogger("cadence.tasks")
_ARGS_SUMMARY_LIMIT = 500


def _summary(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ARGS_SUMMARY_LIMIT else text[:_ARGS_SUMMARY_LIMIT] + "…"


def log_task_failure(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """Receiver of django-tasks' `task_finished`: log a failed task with its name, a summary
    of its arguments and its traceback. The worker sends the signal while handling the
    exception, so `exc_info` is the task's own; otherwise the stored traceback is used."""
    if str(getattr(task_result, "status", "")) not in ("FAILED", "TaskResultStatus.FAILED"):
        return
    exc_info = sys.exc_info()
    errors = getattr(task_result, "errors", None) or []
    extra = {
        "task": task_result.task.module_path,
        "task_id": str(task_result.id),
        "task_args": _summary(list(task_result.args)),
        "task_kwargs": _summary(dict(task_result.kwargs)),
    }
    message = "task %s failed (id=%s) args=%s kwargs=%s"
    args = (extra["task"], extra["task_id"], extra["task_args"], extra["task_kwargs"])
    if exc_info[0] is not None:
        _task_logger.error(message, *args, exc_info=exc_info, extra=extra)
    else:
        traceback_text = errors[-1].traceback if errors else ""
        _task_logger.error(message + "\n%s", *args, traceback_text, extra=extra)


def sentry_init(*, dsn: str, environment: str | None, traces_sample_rate: float) -> None:
    """Report unhandled errors (and ERROR log lines with a traceback) to Sentry. Called from
    the settings, before Django starts, as the SDK's Django integration asks."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[
            DjangoIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )
