"""The user's two-factor sign-in: set it up, new recovery codes, switch it off.

Recovery codes are shown in the answer to the request that made them and nowhere else:
they are never kept in the session (a signed cookie is readable) nor shown again.
"""

from __future__ import annotations

from typing import Any

import segno
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.models import User
from webapp.security import client_address
from webapp.services import two_factor
from webapp.web.account.blueprint import bp
from webapp.web.auth.signin import renew_login
from webapp.web.auth.throttle import login_throttle


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def qr_code(uri: str) -> str:
    """The QR code of `uri` as an SVG data URI: drawn here, so no outside service sees
    the secret, and allowed by the Content-Security-Policy's `img-src data:`."""
    # Dark on white whatever the page's colours, with the quiet zone scanners need.
    code = segno.make(uri, error="m", micro=False)
    return str(code.svg_data_uri(scale=5, border=4, dark="#000", light="#fff"))


def _setup_page(user: User, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    secret = two_factor.pending_secret(user)
    page = render_template(
        "account/two_factor_setup.html",
        secret=secret,
        qr=qr_code(two_factor.provisioning_uri(user, secret)),
        errors=errors or {},
    )
    return page, status


def _manage_page(
    user: User, form: str = "", errors: dict[str, str] | None = None, status: int = 200
) -> Any:
    page = render_template(
        "account/two_factor.html",
        remaining=two_factor.remaining_recovery_codes(user),
        form=form,
        errors=errors or {},
    )
    return page, status


def _codes_page(codes: list[str], title: str) -> Any:
    return render_template("account/recovery_codes.html", codes=codes, title=title)


@bp.get("/two-factor", endpoint="two_factor")
def two_factor_page() -> Any:
    """Set-up (a QR code and the secret) while two-factor is off; else what can change."""
    user = _user()
    if user.two_factor_enabled:
        return _manage_page(user)
    page = _setup_page(user)
    db.session.commit()  # the secret being set up stays the same on a reload
    return page


@bp.post("/two-factor/enable")
def enable_two_factor() -> Any:
    user = _user()
    try:
        codes = two_factor.enable(user, request.form.get("code", ""))
    except two_factor.TwoFactorError as error:
        db.session.rollback()
        return _setup_page(user, error.fields, 422)
    renew_login(user)  # every other login of this user has ended
    db.session.commit()
    return _codes_page(codes, _("Two-factor sign-in is on"))


def _too_many_attempts(form: str) -> Any | None:
    """The login throttle guards these forms too: a borrowed session must not guess."""
    wait = login_throttle().wait_seconds(_user().email, client_address())
    if not wait:
        return None
    error = _("Too many wrong attempts. Try again in a few minutes.")
    page, _status = _manage_page(_user(), form, {"code": error}, 429)
    return page, 429, {"Retry-After": str(wait)}


def _refused(form: str, error: two_factor.TwoFactorError) -> Any:
    db.session.rollback()
    user = _user()
    login_throttle().failed(user.email, client_address())
    return _manage_page(user, form, error.fields, 422)


@bp.post("/two-factor/recovery-codes")
def regenerate_recovery_codes() -> Any:
    if (refused := _too_many_attempts("regenerate")) is not None:
        return refused
    user = _user()
    try:
        codes = two_factor.regenerate_recovery_codes(user, request.form.get("code", ""))
    except two_factor.TwoFactorError as error:
        return _refused("regenerate", error)
    renew_login(user)
    db.session.commit()
    return _codes_page(codes, _("New recovery codes"))


@bp.post("/two-factor/disable")
def disable_two_factor() -> Any:
    if (refused := _too_many_attempts("disable")) is not None:
        return refused
    user = _user()
    try:
        two_factor.disable(user, request.form.get("password", ""), request.form.get("code", ""))
    except two_factor.TwoFactorError as error:
        return _refused("disable", error)
    renew_login(user)
    db.session.commit()
    flash(_("Two-factor sign-in is off. Your other logins have ended."), "info")
    return redirect(url_for("account.two_factor"))
