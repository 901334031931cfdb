"""Errors that services raise and interfaces (API, pages, CLI) turn into messages.

`ValidationFailed` carries errors keyed by field name (``"__all__"`` for none), which the API
answers with 422; `Conflict` is a state conflict (409); `NotFound` is 404.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    pass


class ValidationFailed(DomainError):
    def __init__(self, errors: Mapping[str, Sequence[str]] | str, field: str = "__all__"):
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors: dict[str, list[str]] = {k: [str(m) for m in v] for k, v in errors.items()}
        super().__init__(self.errors)


class Conflict(DomainError):
    def __init__(self, detail: str, field: str | None = None):
        self.detail = str(detail)
        self.field = field
        super().__init__(self.detail)


class NotFound(DomainError):
    def __init__(self, detail: str = "Not found."):
        self.detail = str(detail)
        super().__init__(self.detail)


class PermissionDenied(DomainError):
    def __init__(self, detail: str):
        self.detail = str(detail)
        super().__init__(self.detail)


class ErrorCollector:
    """Collects field errors during validation, then raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def has(self, field: str) -> bool:
        return field in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
