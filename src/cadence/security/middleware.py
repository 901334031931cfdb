"""The pages' Content-Security-Policy, with the origin Stripe.js is configured to load from.

The static policy is `CONTENT_SECURITY_POLICY` in the settings; STRIPE_JS_URL can point at
another origin (a local fake Stripe in development and tests), whose script, frames and API
calls are allowed too. It is read per request, so a changed setting takes effect at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def stripe_js_origin() -> str | None:
    parts = urlsplit(getattr(settings, "STRIPE_JS_URL", "") or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = stripe_js_origin()
        if report_only or origin is None:
            return parts
        update = dict(parts.update or {})
        for directive in ("script-src", "frame-src", "connect-src"):
            update[directive] = [*update.get(directive, []), origin]
        parts.update = update
        return parts
