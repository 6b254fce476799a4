"""Log in and out."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from webapp.extensions import db
from webapp.security import client_address
from webapp.services.users import authenticate, end_login_sessions
from webapp.web.auth.blueprint import bp
from webapp.web.auth.throttle import login_throttle


def safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not become an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("dashboard.index")


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


@bp.post("/login")
def login_post() -> Any:
    email = request.form.get("email", "")
    client = client_address()
    throttle = login_throttle()
    wait = throttle.wait_seconds(email, client)
    if wait:
        # Refused before the password is even looked at: the right one too.
        minutes = math.ceil(wait / 60)
        error = ngettext(
            "Too many failed logins. For your safety, logging in is paused: "
            "try again in %(num)d minute.",
            "Too many failed logins. For your safety, logging in is paused: "
            "try again in %(num)d minutes.",
            minutes,
        )
        page, status = _login_refused(email, error, 429)
        return page, status, {"Retry-After": str(wait)}
    user = authenticate(email, request.form.get("password", ""))
    if user is None:
        throttle.failed(email, client)
        return _login_refused(email, _("Unknown address or wrong password."), 401)
    throttle.succeeded(email)
    session.clear()  # a fresh session on login: no fixation
    login_user(user)
    db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    # Clearing the cookie is not enough: a copy of it must stop working too.
    end_login_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
