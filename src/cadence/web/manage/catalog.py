"""The shop's products and their variants: the list (the shop's own and its producers'), a
product's form with its variants, and the soft delete.

The shop edits only its own products (`product.supplier == shop`); its producers' products
are listed read-only and their pages answer 404. A product's form is saved by one service
call, all or nothing; its variants are a formset whose "Add a variant" button re-renders the
form with one more row, so it works without JavaScript.
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from babel.numbers import get_currency_symbol
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from cadence import formatting
from cadence.catalog.models import Product, Variant
from cadence.catalog.selectors import (
    live_variants_of_product,
    own_live_product,
    producers_for_shop,
    products_for_shop,
    variants_of_product,
)
from cadence.catalog.services import (
    product_create,
    product_delete,
    product_edit,
    split_variant_message,
)
from cadence.enterprises.models import Enterprise
from cadence.errors import ValidationFailed
from cadence.web.manage.access import manager_page
from cadence.web.manage.forms import AmountField, WholeNumberField, add_service_errors
from cadence.web.manage.pages import render_page
from cadence.web.manage.tables import ManageTable, configure

# --- Fields and forms --------------------------------------------------------------------


class ProductForm(forms.Form):
    # Not required here: the service says "can't be blank", as the API does.
    name = forms.CharField(
        label=gettext_lazy("Product name"),
        required=False,
        help_text=gettext_lazy("As buyers see it, e.g. Carrots or Country bread."),
    )


class VariantForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        help_text=gettext_lazy("e.g. 1 kg bag, bunch"),
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("e.g. kg, piece"),
    )
    # The price column is DECIMAL(12, 2); empty is no price, which the service refuses.
    price = AmountField(
        label=gettext_lazy("Price"), decimal_places=2, max_digits=12, shown_places=2
    )
    sku = forms.CharField(label=gettext_lazy("SKU"), required=False, max_length=64)
    on_hand = WholeNumberField(label=gettext_lazy("In stock"), empty_value=0)
    on_demand = forms.BooleanField(
        label=gettext_lazy("On demand"),
        required=False,
        help_text=gettext_lazy("Always available: no stock to count."),
    )

    def __init__(self, *args, currency: str = "EUR", **kwargs):
        super().__init__(*args, **kwargs)
        symbol = get_currency_symbol(currency, locale=formatting.reader_language())
        self.fields["price"].label = _("Price (%(currency)s)") % {"currency": symbol}

    def is_blank(self) -> bool:
        """A new row left empty: not a variant, just an unused line of the form."""
        data = self.cleaned_data
        typed = ("name", "unit", "sku", "on_hand", "on_demand")
        return not data.get("id") and data.get("price") is None and not any(map(data.get, typed))

    def values(self) -> dict[str, Any]:
        """The variant as the services take it; no price key when none was typed, so the
        service says it is required."""
        data = self.cleaned_data
        values = {name: data[name] for name in ("name", "unit", "sku", "on_hand", "on_demand")}
        if data["price"] is not None:
            values["price"] = data["price"]
        return values


class BaseVariantFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove this variant")


VariantFormSet = forms.formset_factory(
    VariantForm, formset=BaseVariantFormSet, extra=0, can_delete=True
)
VARIANTS_PREFIX = "variants"


class ProductSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name or SKU"), required=False)
    producer = forms.TypedChoiceField(
        label=gettext_lazy("Producer"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, producers, shop: Enterprise, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["producer"].choices = [("", _("All producers"))] + [  # type: ignore[attr-defined]  # a ChoiceField
            (p.pk, _("%(name)s (this shop)") % {"name": p.name} if p.pk == shop.pk else p.name)
            for p in producers
        ]


# --- The list ----------------------------------------------------------------------------


class ProductTable(ManageTable):
    name = tables.Column(verbose_name=gettext_lazy("Product"), order_by=("name", "id"))
    supplier = tables.Column(
        verbose_name=gettext_lazy("Producer"),
        accessor="supplier__name",
        order_by=("supplier__name", "name", "id"),
    )
    variants = tables.Column(
        verbose_name=gettext_lazy("Variants"), accessor="pk", orderable=False, empty_values=()
    )
    actions = tables.Column(
        verbose_name=gettext_lazy("Actions"), accessor="pk", orderable=False, empty_values=()
    )

    # django-tables2 reads only the class's own Meta: without this, the project's template
    # (cards on phones) would be lost.
    class Meta(ManageTable.Meta):
        pass

    def __init__(self, *args, shop: Enterprise, **kwargs):
        self.shop = shop
        super().__init__(*args, **kwargs)

    def _editable(self, product: Product) -> bool:
        return product.supplier_id == self.shop.pk

    def render_name(self, record: Product, value: str):
        if self._editable(record):
            url = reverse("manage-product", args=[self.shop.pk, record.pk])
            return format_html('<a href="{}">{}</a>', url, value)
        return value

    def render_variants(self, record: Product):
        return format_html(
            '<ul class="variant-lines">{}</ul>',
            format_html_join(
                "",
                "<li>{}</li>",
                ((self._variant_line(v),) for v in record.live_variants),  # type: ignore[attr-defined]  # prefetched by the selector
            ),
        )

    def _variant_line(self, variant: Variant):
        label = variant.name or variant.unit
        if variant.name and variant.unit and variant.unit not in variant.name.split():
            label = f"{variant.name} ({variant.unit})"
        if variant.on_demand:
            stock = _("on demand")
        else:
            stock = ngettext("%(n)s in stock", "%(n)s in stock", variant.on_hand) % {
                "n": formatting.number(variant.on_hand)
            }
        parts = [
            format_html("<strong>{}</strong>", formatting.money(variant.price, self.shop.currency)),
            stock,
        ]
        if variant.sku:
            parts.append(_("SKU %(sku)s") % {"sku": variant.sku})
        if label:
            parts.insert(0, label)
        return format_html_join(" · ", "{}", ((p,) for p in parts))

    def render_actions(self, record: Product):
        if not self._editable(record):
            return format_html('<span class="muted">{}</span>', _("Managed by the producer"))
        return format_html(
            '<a href="{}">{}<span class="visually-hidden"> {}</span></a> · '
            '<a href="{}">{}<span class="visually-hidden"> {}</span></a>',
            reverse("manage-product", args=[self.shop.pk, record.pk]),
            _("Edit"),
            record.name,
            reverse("manage-product-delete", args=[self.shop.pk, record.pk]),
            _("Delete"),
            record.name,
        )


@require_GET
@manager_page
def product_list(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    producers = list(producers_for_shop(shop=shop))
    search = ProductSearchForm(request.GET, producers=producers, shop=shop)
    search.is_valid()  # a bad producer id is ignored; the other filters still apply
    q = search.cleaned_data.get("q") or ""
    producer_id = search.cleaned_data.get("producer")
    filtered = bool(q or producer_id)
    table = ProductTable(
        products_for_shop(shop=shop, q=q, producer_id=producer_id),
        shop=shop,
        empty_text=_("No product matches this search.")
        if filtered
        else _("No product yet: add the first one with “Add a product”, with its price and stock."),
    )
    configure(request, table)
    return render_page(
        request,
        "manage/catalog/list.html",
        shop=shop,
        title=_("Products"),
        area="products",
        table=table,
        search=search,
        show_producers=len(producers) > 1,
        filtered=filtered,
    )


# --- Creating and editing ----------------------------------------------------------------


def _variant_formset(shop: Enterprise, data=None, *, initial=None) -> forms.BaseFormSet:
    formset = VariantFormSet(
        data, initial=initial, prefix=VARIANTS_PREFIX, form_kwargs={"currency": shop.currency}
    )
    # The examples once, on the first row: the same on every row would bury the fields.
    for form in formset.forms[1:]:
        for field in form.fields.values():
            field.help_text = ""
    return formset


def _with_one_more_row(shop, data) -> tuple[ProductForm, forms.BaseFormSet]:
    """The form as typed, unbound (no error shown yet), with an empty variant row at the end
    where the cursor goes."""
    formset = _variant_formset(shop, data)
    rows = [{name: form[name].value() for name in form.fields} for form in formset.forms]
    product_form = ProductForm(initial={"name": data.get("name", "")})
    formset = _variant_formset(shop, initial=[*rows, {}])
    formset.forms[-1].fields["name"].widget.attrs["autofocus"] = True
    return product_form, formset


def _place_errors(error: ValidationFailed, form: forms.Form, rows: list[VariantForm]) -> list[str]:
    """Put the service's messages where they belong: the product's on its form, each
    variant's on its row (`rows[N - 1]` for "variant N: …"); returns those about the
    variants as a whole, shown above them."""
    above = []
    for message in error.errors.get("variants", []):
        n, rest = split_variant_message(message)
        if n is not None and 0 < n <= len(rows):
            rows[n - 1].add_error(None, rest)
        else:
            above.append(message)
    others = {k: v for k, v in error.errors.items() if k != "variants"}
    if others:
        add_service_errors(form, ValidationFailed(others))
    return above


def _render_form(request, shop, *, title, crumbs, form, formset, variant_errors=(), product=None):
    return render_page(
        request,
        "manage/catalog/form.html",
        shop=shop,
        title=title,
        area="products",
        crumbs=crumbs,
        form=form,
        formset=formset,
        variant_errors=variant_errors,
        product=product,
    )


@manager_page
def product_new(request: HttpRequest, shop: Enterprise) -> HttpResponse:
    title = _("New product")
    crumbs = [(_("Products"), reverse("manage-products", args=[shop.pk]))]
    if request.method != "POST":
        form, formset = ProductForm(), _variant_formset(shop, initial=[{}])
        return _render_form(request, shop, title=title, crumbs=crumbs, form=form, formset=formset)
    if "add_variant" in request.POST:
        form, formset = _with_one_more_row(shop, request.POST)
        return _render_form(request, shop, title=title, crumbs=crumbs, form=form, formset=formset)

    form, formset = ProductForm(request.POST), _variant_formset(shop, request.POST)
    variant_errors: list[str] = []
    if form.is_valid() and formset.is_valid():
        rows = [f for f in formset.forms if not f.cleaned_data.get("DELETE") and not f.is_blank()]
        try:
            product = product_create(
                supplier=shop, name=form.cleaned_data["name"], variants=[f.values() for f in rows]
            )
        except ValidationFailed as error:
            variant_errors = _place_errors(error, form, rows)
        else:
            messages.success(request, _("Product “%(name)s” added.") % {"name": product.name})
            return redirect("manage-products", shop_id=shop.pk)
    return _render_form(
        request,
        shop,
        title=title,
        crumbs=crumbs,
        form=form,
        formset=formset,
        variant_errors=variant_errors,
    )


def _own_product(shop: Enterprise, pk: int) -> Product:
    """The shop's own product `pk`, not deleted; 404 for a producer's or another shop's."""
    product = own_live_product(shop=shop, product_id=pk)
    if product is None:
        raise Http404
    return product


def _variant_initial(variant: Variant) -> dict[str, Any]:
    return {
        "id": variant.pk,
        "name": variant.name,
        "unit": variant.unit,
        "price": variant.price,
        "sku": variant.sku,
        "on_hand": variant.on_hand,
        "on_demand": variant.on_demand,
    }


def _edited_rows(
    formset: forms.BaseFormSet, product: Product
) -> tuple[list[tuple[VariantForm, Variant | None]], list[Variant]]:
    """The rows to save (each form with its variant, None for a new one) and the variants
    to remove. A row naming a variant of another product is a forged form: 404."""
    # Every variant the product ever had, deleted ones too: a row deleted meanwhile (in
    # another tab) gets the service's "has been deleted" rather than a 404.
    known = {v.pk: v for v in variants_of_product(product=product)}
    rows, remove = [], []
    for form in formset.forms:
        variant_id = form.cleaned_data.get("id")
        if variant_id is not None and variant_id not in known:
            raise Http404
        variant = known.get(variant_id)
        if form.cleaned_data.get("DELETE"):
            if variant is not None:
                remove.append(variant)
        elif variant is not None or not form.is_blank():
            rows.append((form, variant))
    return rows, remove


@manager_page
def product_detail(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    product = _own_product(shop, pk)
    title = product.name
    crumbs = [(_("Products"), reverse("manage-products", args=[shop.pk]))]
    page = dict(title=title, crumbs=crumbs, product=product)
    if request.method != "POST":
        live = live_variants_of_product(product=product)
        form = ProductForm(initial={"name": product.name})
        formset = _variant_formset(shop, initial=[_variant_initial(v) for v in live])
        return _render_form(request, shop, form=form, formset=formset, **page)
    if "add_variant" in request.POST:
        form, formset = _with_one_more_row(shop, request.POST)
        return _render_form(request, shop, form=form, formset=formset, **page)

    form, formset = ProductForm(request.POST), _variant_formset(shop, request.POST)
    variant_errors: list[str] = []
    if form.is_valid() and formset.is_valid():
        rows, remove = _edited_rows(formset, product)
        try:
            product_edit(
                product=product,
                name=form.cleaned_data["name"],
                variants=[(variant, f.values()) for f, variant in rows],
                remove=remove,
            )
        except ValidationFailed as error:
            variant_errors = _place_errors(error, form, [f for f, _variant in rows])
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
            return redirect("manage-products", shop_id=shop.pk)
    return _render_form(
        request, shop, form=form, formset=formset, variant_errors=variant_errors, **page
    )


# --- Deleting ----------------------------------------------------------------------------


@manager_page
def product_delete_page(request: HttpRequest, shop: Enterprise, pk: int) -> HttpResponse:
    product = _own_product(shop, pk)
    if request.method == "POST":
        product_delete(product=product)
        messages.success(request, _("Product “%(name)s” deleted.") % {"name": product.name})
        return redirect("manage-products", shop_id=shop.pk)
    return render_page(
        request,
        "manage/catalog/delete.html",
        shop=shop,
        title=_("Delete a product"),
        area="products",
        crumbs=[
            (_("Products"), reverse("manage-products", args=[shop.pk])),
            (product.name, reverse("manage-product", args=[shop.pk, product.pk])),
        ],
        product=product,
        variants=live_variants_of_product(product=product),
    )


urlpatterns = [
    path("products/", product_list, name="manage-products"),
    path("products/new/", product_new, name="manage-product-new"),
    path("products/<int:pk>/", product_detail, name="manage-product"),
    path("products/<int:pk>/delete/", product_delete_page, name="manage-product-delete"),
]
