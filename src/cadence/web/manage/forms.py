"""What every manager form shares: the fields that read numbers and ticked ids as people type
them, the services' messages shown on the fields they name, and the confirmation page of a delete
that a service may refuse.

Forms parse input (types, required fields); the rules live in the services, which raise
`ValidationFailed` keyed by field name, with the same messages the API answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_decimal_symbol
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy, ngettext_lazy

from cadence.errors import Conflict, ValidationFailed
from cadence.formatting import reader_language
from cadence.web.manage.pages import render_page

# The columns' 32-bit integers.
MAX_WHOLE_NUMBER = 2**31 - 1
# Digits with at most one decimal mark, already turned into a point.
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"[+-]?\d+")
# Spaces a number may be grouped with: "1 000,50" (French writes a (narrow) no-break space).
_GROUPING = re.compile(r"[\s\u00a0\u202f]")


def add_service_errors(
    form: forms.Form, error: ValidationFailed, *, fields: Mapping[str, str] | None = None
) -> None:
    """Put each message of `error` on its form field. `fields` maps a service's key to the
    form's field name where they differ; a key naming no field goes to the form's top."""
    for key, messages_ in error.errors.items():
        name = (fields or {}).get(key, key)
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, message)


# --- Numbers --------------------------------------------------------------------------------


class _TypedNumberField(forms.Field):
    """A number typed in a text input, spaces between thousands allowed; `empty_value` is what
    an empty input means (None, or 0 when empty means "none"), shown as the placeholder.

    Only the type is checked, and what the column cannot store: whether the number is allowed
    (its sign, its range) is the service's rule, so its message is the API's. Messages name
    the field by its label, as the error sits under a row of several inputs in some forms."""

    input_mode = "decimal"

    def __init__(self, *, empty_value: Any = None, **kwargs) -> None:
        kwargs.setdefault("required", False)
        self.empty_value = empty_value
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, str]:
        attrs = {**super().widget_attrs(widget), "inputmode": self.input_mode}
        attrs["autocomplete"] = "off"
        if self.empty_value is not None:
            attrs["placeholder"] = str(self.empty_value)
        return attrs

    def _typed(self, value: Any) -> str:
        return "" if value in self.empty_values else _GROUPING.sub("", str(value))

    def _refuse(self, code: str, **params: Any) -> ValidationError:
        return ValidationError(
            self.error_messages[code], code=code, params={"field": self.label or "", **params}
        )


class AmountField(_TypedNumberField):
    """An amount or any decimal number, typed with a point or a comma as the decimal mark
    (`2.50`, `2,50`, `1 000,50`), read as a Decimal.

    Django's DecimalField follows the page's language, so in English `2,50` would read as 250.
    Refused here: what is not a plain number (`1.000,50`, `1e3`), more decimals than
    `decimal_places`, and (when `max_digits` is given) more digits before the mark than the
    column leaves room for. A stored value is shown back with the reader's decimal mark, with
    `shown_places` decimals (2 for money: `2,50`), or as few as it needs when None (`1,5`)."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter a number for “%(field)s”, such as 2.50 or 2,50."),
        "decimal_places": ngettext_lazy(
            "“%(field)s” takes at most %(places)d decimal.",
            "“%(field)s” takes at most %(places)d decimals.",
            "places",
        ),
        "max_digits": gettext_lazy("The number for “%(field)s” is too large."),
    }

    def __init__(
        self,
        *,
        decimal_places: int,
        max_digits: int | None = None,
        shown_places: int | None = None,
        **kwargs,
    ) -> None:
        self.decimal_places = decimal_places
        self.max_digits = max_digits
        self.shown_places = shown_places
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        text = self._typed(value)
        if not text:
            return self.empty_value
        if text.count(",") + text.count(".") > 1 or not _DECIMAL.fullmatch(text.replace(",", ".")):
            raise self._refuse("invalid")
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
            raise self._refuse("invalid") from None
        # Trailing zeros are no decimals that would be lost: 2.500 fits two places.
        _sign, digits, exponent = number.normalize().as_tuple()
        assert isinstance(exponent, int)  # a finite number (the pattern admits no other)
        if -exponent > self.decimal_places:
            raise self._refuse("decimal_places", places=self.decimal_places)
        if self.max_digits is not None and len(digits) + exponent > (
            self.max_digits - self.decimal_places
        ):
            raise self._refuse("max_digits")
        return number

    def prepare_value(self, value: Any) -> Any:
        if not isinstance(value, Decimal):
            return value  # what was typed, shown back as it was
        if self.shown_places is None:
            text = format(value.normalize(), "f")
        else:
            text = f"{value:.{self.shown_places}f}"
        return text.replace(".", _decimal_mark())


class WholeNumberField(_TypedNumberField):
    """A whole number (`12`, `1 000`), as an int. Refused here: what is not a whole number,
    and what is larger than the column (`max_value`, a 32-bit integer by default) can store."""

    input_mode = "numeric"
    default_error_messages = {
        "invalid": gettext_lazy("Enter a whole number for “%(field)s”, such as 12."),
        "max_digits": gettext_lazy("The number for “%(field)s” is too large."),
    }

    def __init__(self, *, max_value: int = MAX_WHOLE_NUMBER, **kwargs) -> None:
        self.max_value = max_value
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        text = self._typed(value)
        if not text:
            return self.empty_value
        if not _WHOLE.fullmatch(text):
            raise self._refuse("invalid")
        number = int(text)
        if abs(number) > self.max_value:
            raise self._refuse("max_digits")
        return number


def _decimal_mark() -> str:
    """The reader's decimal mark, among the two the number fields read."""
    return "," if get_decimal_symbol(reader_language()) == "," else "."


# --- Ticked ids -----------------------------------------------------------------------------


class IdListField(forms.Field):
    """The ids of the ticked checkboxes of a picker, as integers (which ids may be used is the
    service's rule)."""

    default_error_messages = {"invalid": forms.IntegerField.default_error_messages["invalid"]}

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return list(dict.fromkeys(int(str(raw).strip()) for raw in value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def posted_ids(data, name: str) -> list[int]:
    """The well-formed ids among `data.getlist(name)`: what a picker shows ticked again."""
    ids = []
    for raw in data.getlist(name):
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(ids))


class PickerWidget(forms.Widget):
    """Checkbox lists rendered by `template_name`; the view fills `picker` (the items to show)
    before rendering, as only it knows the shop and the current selection. A group of
    checkboxes: the form shows it in a fieldset, its label as the legend."""

    picker: dict = {}
    use_fieldset = True

    def value_from_datadict(self, data, files, name):
        return data.getlist(name)

    def value_omitted_from_data(self, data, files, name):
        return False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context.update(self.picker)
        return context


# --- Deleting -----------------------------------------------------------------------------


def delete_page(
    request: HttpRequest, delete: Callable[[], object], *, done: str, then: str, **page: Any
) -> HttpResponse:
    """A delete's confirmation page. GET renders the page (`render_page` with `page`: the
    template, shop, title, area, crumbs and context) to ask; POST runs `delete` (a service
    call), says `done` and goes to `then`. When the service refuses (`Conflict`, its guard),
    the page shows again with the reason as `refusal`."""
    refusal = None
    if request.method == "POST":
        try:
            delete()
        except Conflict as conflict:
            refusal = conflict.detail
        else:
            messages.success(request, done)
            return redirect(then)
    return render_page(request, refusal=refusal, **page)
