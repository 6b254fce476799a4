"""Log in and out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.extensions import db
from webapp.services.users import authenticate
from webapp.web.auth.blueprint import bp


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


@bp.post("/login")
def login_post() -> Any:
    email = request.form.get("email", "")
    user = authenticate(email, request.form.get("password", ""))
    if user is None:
        return (
            render_template(
                "auth/login.html",
                email=email,
                next=request.form.get("next", ""),
                error=_("Unknown address or wrong password."),
            ),
            401,
        )
    session.clear()  # a fresh session on login: no fixation
    login_user(user)
    db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
