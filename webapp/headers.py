"""Security headers on every answer, and `no-store` on everything behind a login.

The Content-Security-Policy allows scripts and styles only from the app's own
`static/` folder: no inline script, no inline event handlers, no eval (htmx runs
with `allowEval: false`). A page that shows a mail (the outbox, the template
editor's preview) relaxes styles alone, because mails carry inline CSS in the
`srcdoc` iframe that inherits the page's policy; scripts stay refused there too.
"""

from __future__ import annotations

from flask import Flask, Response, g
from flask_login import current_user

from webapp.security import is_public_request

POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "media-src": "'none'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# What a page showing a mail changes: the mail's inline styles, and images only from
# data: URLs (no pixel or remote image loads from inside the dashboard).
MAIL_VIEW: dict[str, str] = {"style-src": "'self' 'unsafe-inline'", "img-src": "data:"}

HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def allow_mail_view() -> None:
    """This answer shows a mail: let its inline styles apply (scripts stay refused)."""
    g._csp_overrides = MAIL_VIEW


def content_security_policy(overrides: dict[str, str] | None = None) -> str:
    directives = {**POLICY, **(overrides or {})}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(overrides: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The headers every answer carries (the policy with `overrides` applied)."""
    return [("Content-Security-Policy", content_security_policy(overrides)), *HEADERS.items()]


def _add_headers(response: Response) -> Response:
    for name, value in security_headers(g.get("_csp_overrides")):
        response.headers.setdefault(name, value)
    if not is_public_request() and current_user.is_authenticated:
        # Someone's leads and results must not stay in a shared or back-button cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
