"""A forgotten password: ask for a mailed link, then choose a new password with it."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import render_uncached
from webapp.security import client_address
from webapp.services.team import (
    RESET_MINUTES,
    ResetClosed,
    ResetState,
    read_reset_link,
    request_password_reset,
    reset_password,
)
from webapp.services.users import UserError
from webapp.web.auth.blueprint import bp
from webapp.web.auth.signin import log_user_in
from webapp.web.auth.throttle import login_throttle, reset_throttle


@bp.get("/password/forgot")
def forgot_password() -> Any:
    return render_uncached("auth/forgot.html", email=request.args.get("email", "")[:320])


@bp.post("/password/forgot")
def forgot_password_post() -> Any:
    email = request.form.get("email", "")
    client = client_address()
    throttle = reset_throttle()
    wait = throttle.wait_seconds(email, client)
    if wait:
        minutes = math.ceil(wait / 60)
        error = ngettext(
            "Too many requests for a new password. Try again in %(num)d minute.",
            "Too many requests for a new password. Try again in %(num)d minutes.",
            minutes,
        )
        response = render_uncached("auth/forgot.html", 429, email=email, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    # Counted and queued alike for every address: the answer, and how long it takes,
    # say nothing about whether the address is known.
    throttle.failed(email, client)
    request_password_reset(email)
    return render_uncached("auth/forgot.html", email=email, sent=True, minutes=RESET_MINUTES)


@bp.get("/password/reset/<token>")
def reset_password_page(token: str) -> Any:
    link = read_reset_link(token, utcnow())
    if link.state != ResetState.OPEN or link.user is None:
        return _closed(link.state)
    return render_uncached("auth/reset.html", token=token, email=link.user.email, errors={})


def _closed(state: ResetState) -> Any:
    return render_uncached(
        "auth/reset_closed.html",
        404 if state == ResetState.INVALID else 410,
        state=state,
        minutes=RESET_MINUTES,
    )


@bp.post("/password/reset/<token>")
def reset_password_post(token: str) -> Any:
    form = request.form
    try:
        user = reset_password(
            token, form.get("password", ""), form.get("password_repeat", ""), utcnow()
        )
    except ResetClosed as closed:
        db.session.rollback()
        return _closed(closed.state)
    except UserError as error:
        db.session.rollback()
        link = read_reset_link(token, utcnow())
        email = link.user.email if link.user is not None else ""
        return render_uncached(
            "auth/reset.html", 422, token=token, email=email, errors=error.fields
        )
    db.session.commit()
    # They proved they read the mailbox: the account's failed logins start again.
    login_throttle().succeeded(user.email)
    # A fresh session; one who uses two-factor sign-in still gives a code: the mailbox
    # proves the first factor only.
    answer = log_user_in(user)
    db.session.commit()
    if current_user.is_authenticated:
        done = _("Your new password is set and you are logged in. Every other login has ended.")
    else:
        done = _("Your new password is set and every other login has ended. Give your code.")
    flash(done, "success")
    return answer
