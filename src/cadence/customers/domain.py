"""Address rules. An address is a JSON object:
{first_name, last_name, address1, address2, city, postcode, country, phone}; country is ISO 3166.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "address1",
    "address2",
    "city",
    "postcode",
    "country",
    "phone",
)
REQUIRED_ADDRESS_FIELDS = ("first_name", "last_name", "address1", "city", "country")


def clean_address(value: Any, *, required: bool = True) -> tuple[dict[str, Any] | None, list[str]]:
    """Normalise an address; returns (address, errors). Errors name the sub-field."""
    if value is None or value == {}:
        return None, ([_("can't be blank")] if required else [])
    if not isinstance(value, dict):
        return None, [_("must be an object with first_name, last_name, address1, city, country")]
    errors: list[str] = []
    unknown = sorted(set(value) - set(ADDRESS_FIELDS) - {"id"})
    if unknown:
        errors.append(_("unknown fields: %(fields)s") % {"fields": ", ".join(unknown)})
    address: dict[str, str] = {}
    for field in ADDRESS_FIELDS:
        raw = value.get(field, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors.append(_("%(field)s must be text") % {"field": field})
            continue
        address[field] = raw.strip()
    for field in REQUIRED_ADDRESS_FIELDS:
        if field in address and not address[field]:
            errors.append(_("%(field)s can't be blank") % {"field": field})
    country = address.get("country", "")
    if country and not (len(country) == 2 and country.isalpha()):
        errors.append(_("country must be a two-letter ISO code"))
    else:
        address["country"] = country.upper()
    return (None if errors else address), errors
