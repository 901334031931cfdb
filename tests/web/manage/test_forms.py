"""The number fields every manager form uses: amounts typed with a point or a comma, whole
numbers, shown back in the reader's language. (The delete page is tested through the pages
that use it.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms
from django.utils import translation

from cadence.web.manage.forms import AmountField, WholeNumberField


@pytest.fixture(autouse=True)
def english():
    """Messages in English unless a test says otherwise (a page may have left French on)."""
    with translation.override("en"):
        yield


class _AmountForm(forms.Form):
    fee = AmountField(label="Fixed fee", decimal_places=2, max_digits=12, empty_value=Decimal(0))
    price = AmountField(label="Price", decimal_places=2, max_digits=12, shown_places=2)
    percent = AmountField(label="Percentage", decimal_places=3)


class _StockForm(forms.Form):
    stock = WholeNumberField(label="In stock", empty_value=0)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("2.50", Decimal("2.50")),
        ("2,50", Decimal("2.50")),
        (" 1 000,5 ", Decimal("1000.5")),
        ("1\u202f000,50", Decimal("1000.50")),
        ("1\u00a0000,50", Decimal("1000.50")),
        ("", Decimal("0")),
        (",5", Decimal("0.5")),
        ("-1", Decimal("-1")),  # the service says what is wrong with a negative fee
        ("2.500", Decimal("2.5")),  # trailing zeros are not decimals that would be lost
    ],
)
def test_amounts_are_read_with_a_point_or_a_comma(typed, read):
    """A French manager types a comma, an English one a point; both read the same."""
    form = _AmountForm({"fee": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["fee"] == read


def test_an_empty_amount_reads_as_the_fields_empty_value():
    """Left empty, a fee means none (0) and a price means no price (None, which the service
    refuses with its own message)."""
    form = _AmountForm({"fee": "", "price": " "})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["fee"] == Decimal(0)
    assert form.cleaned_data["price"] is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Enter a number for “Fixed fee”, such as 2.50 or 2,50."),
        ("1.000,50", "Enter a number for “Fixed fee”, such as 2.50 or 2,50."),
        ("2,5,0", "Enter a number for “Fixed fee”, such as 2.50 or 2,50."),
        ("1e3", "Enter a number for “Fixed fee”, such as 2.50 or 2,50."),
        ("Infinity", "Enter a number for “Fixed fee”, such as 2.50 or 2,50."),
        ("2.555", "“Fixed fee” takes at most 2 decimals."),
        ("12345678901", "The number for “Fixed fee” is too large."),
    ],
)
def test_what_cannot_be_an_amount_is_refused_naming_the_field(typed, message):
    """Text that is not a number, or that the column could not store, is refused with a
    message that names the field."""
    form = _AmountForm({"fee": typed})
    assert not form.is_valid()
    assert form.errors["fee"] == [message]


def test_the_largest_amount_the_column_stores_is_read():
    """DECIMAL(12, 2) stores ten digits before the mark."""
    form = _AmountForm({"fee": "9999999999,99"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["fee"] == Decimal("9999999999.99")


def test_the_refusal_is_in_french_for_a_french_manager():
    with translation.override("fr"):
        form = _AmountForm({"fee": "abc", "percent": "1,2345"})
        assert not form.is_valid()
        assert form.errors["fee"] == [
            "Saisissez un nombre pour «\u00a0Fixed fee\u00a0», par exemple 2,50 ou 2.50."
        ]
        assert form.errors["percent"] == ["«\u00a0Percentage\u00a0» accepte au plus 3 décimales."]


@pytest.mark.parametrize(
    ("language", "price", "percent"), [("en", "2.50", "1.4"), ("fr", "2,50", "1,4")]
)
def test_stored_values_are_shown_with_the_readers_decimal_mark(language, price, percent):
    """Money shows with two decimals, a percentage with as few as it needs; a French manager
    reads them with a comma, which the field reads back."""
    form = _AmountForm(initial={"price": Decimal("2.5"), "percent": Decimal("1.400")})
    with translation.override(language):
        assert form["price"].value() == price
        assert form["percent"].value() == percent
        assert 'placeholder="0"' in str(form["fee"])  # empty means none


def test_what_was_typed_is_shown_back_as_typed():
    form = _AmountForm({"fee": "two euros"})
    assert not form.is_valid()
    assert form["fee"].value() == "two euros"


@pytest.mark.parametrize(("typed", "read"), [("12", 12), (" 1 000 ", 1000), ("", 0), ("-3", -3)])
def test_whole_numbers_are_read(typed, read):
    """Spaces between thousands are allowed; empty means 0; the sign is the service's rule."""
    form = _StockForm({"stock": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["stock"] == read


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1.5", "Enter a whole number for “In stock”, such as 12."),
        ("twelve", "Enter a whole number for “In stock”, such as 12."),
        ("2147483648", "The number for “In stock” is too large."),
    ],
)
def test_what_cannot_be_a_whole_number_is_refused_naming_the_field(typed, message):
    form = _StockForm({"stock": typed})
    assert not form.is_valid()
    assert form.errors["stock"] == [message]


class _GroupsForm(forms.Form):
    name = forms.CharField(label="Name", help_text="As buyers see it.")
    enabled = forms.BooleanField(label="Enable subscriptions", required=False)
    policy = forms.ChoiceField(
        label="When stock runs short",
        choices=[("a", "First"), ("b", "Fair")],
        widget=forms.RadioSelect,
    )


def _rendered(form) -> str:
    from django.template.loader import render_to_string

    return render_to_string("manage/_form.html", {"form": form})


@pytest.mark.parametrize("language", ["en", "fr"])
def test_labels_have_no_colon_and_groups_are_fieldsets(language):
    """Every manager form reads labels without a trailing colon (nor French " :"); a group of
    radio buttons is a fieldset whose legend is the field's label, described by its help."""
    with translation.override(language):
        html = _rendered(_GroupsForm())

    assert '<label for="id_name">Name</label>' in html
    assert '<label for="id_enabled">Enable subscriptions</label>' in html
    assert ":</label>" not in html and "\u00a0:" not in html
    assert '<fieldset class="field group">' in html
    assert '<legend id="id_policy_legend">When stock runs short</legend>' in html
    assert '<label for="id_policy">' not in html


def test_a_groups_errors_are_inside_its_fieldset_and_describe_it():
    form = _GroupsForm({"name": "x", "policy": "zzz"})
    assert not form.is_valid()

    html = _rendered(form)

    fieldset = html[html.index("<fieldset") : html.index("</fieldset>")]
    assert 'aria-describedby="id_policy_error"' in fieldset
    assert 'id="id_policy_error"' in fieldset
