"""Log in (a password, then a two-factor code for those who use it) and out."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, logout_user

from webapp.extensions import db
from webapp.security import client_address
from webapp.services.two_factor import (
    CodeKind,
    TwoFactorError,
    check_code,
    remaining_recovery_codes,
)
from webapp.services.users import authenticate, end_login_sessions
from webapp.web.auth.blueprint import bp
from webapp.web.auth.signin import finish_login, forget_pending_login, log_user_in, pending_login
from webapp.web.auth.throttle import login_throttle


@bp.get("/login")
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return render_template("auth/login.html", next=request.args.get("next", ""))


def _login_refused(email: str, error: str, status: int) -> Any:
    page = render_template(
        "auth/login.html", email=email, next=request.form.get("next", ""), error=error
    )
    return page, status


def _paused(wait: int) -> str:
    """Why a throttled login (password or code) is refused, and for how long."""
    minutes = math.ceil(wait / 60)
    return str(
        ngettext(
            "Too many failed logins. For your safety, logging in is paused: "
            "try again in %(num)d minute.",
            "Too many failed logins. For your safety, logging in is paused: "
            "try again in %(num)d minutes.",
            minutes,
        )
    )


@bp.post("/login")
def login_post() -> Any:
    email = request.form.get("email", "")
    client = client_address()
    throttle = login_throttle()
    wait = throttle.wait_seconds(email, client)
    if wait:
        # Refused before the password is even looked at: the right one too.
        page, status = _login_refused(email, _paused(wait), 429)
        return page, status, {"Retry-After": str(wait)}
    user = authenticate(email, request.form.get("password", ""))
    if user is None:
        throttle.failed(email, client)
        return _login_refused(email, _("Unknown address or wrong password."), 401)
    if not user.two_factor_enabled:
        # With two-factor the count starts again only after the code: otherwise the right
        # password, typed again and again, would reset the guesses at the code.
        throttle.succeeded(email)
    response = log_user_in(user, request.form.get("next"))
    db.session.commit()
    return response


def _start_again() -> Any:
    if forget_pending_login():
        flash(_("Your sign-in took too long or was ended. Log in again."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/login/two-factor")
def two_factor() -> Any:
    """The second step: the code from the authenticator app, or a recovery code."""
    if pending_login() is None:
        return _start_again()
    return render_template("auth/two_factor.html")


@bp.post("/login/two-factor")
def two_factor_post() -> Any:
    pending = pending_login()
    if pending is None:
        return _start_again()
    user, next_target = pending
    client = client_address()
    throttle = login_throttle()
    wait = throttle.wait_seconds(user.email, client)
    if wait:
        page = render_template("auth/two_factor.html", error=_paused(wait))
        return page, 429, {"Retry-After": str(wait)}
    try:
        kind = check_code(user, request.form.get("code", ""))
    except TwoFactorError as error:
        db.session.rollback()
        throttle.failed(user.email, client)
        return render_template("auth/two_factor.html", error=error.message), 401
    throttle.succeeded(user.email)
    response = finish_login(user, next_target)
    if kind == CodeKind.RECOVERY:
        _recovery_code_used(remaining_recovery_codes(user))
    db.session.commit()
    return response


def _recovery_code_used(remaining: int) -> None:
    flash(
        ngettext(
            "You used a recovery code; %(num)d is left. Make new ones on the two-factor "
            "page when you can.",
            "You used a recovery code; %(num)d are left. Make new ones on the two-factor "
            "page when you can.",
            remaining,
        ),
        "warning",
    )


@bp.post("/logout")
def logout() -> Any:
    # Clearing the cookie is not enough: a copy of it must stop working too.
    end_login_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
