"""The account page: who you are, your language, your password and your API tokens."""

from __future__ import annotations

import math
from typing import Any

from flask import redirect, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp.extensions import db
from webapp.htmx import render_page_or_fragment
from webapp.models import User
from webapp.security import client_address
from webapp.services.users import (
    UserError,
    WrongPassword,
    change_password,
    create_token,
    get_token,
    list_tokens,
    revoke_token,
    set_locale,
)
from webapp.web.account.blueprint import bp
from webapp.web.auth.signin import renew_login, safe_next
from webapp.web.auth.throttle import login_throttle


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _render(fragment: str, status: int = 200, **context: Any) -> Any:
    """The page, or (for htmx) the one section that changed."""
    context.setdefault("password_errors", {})
    context.setdefault("token_errors", {})
    html = render_page_or_fragment(
        "account/index.html",
        fragment,
        user=_me(),
        tokens=list_tokens(_me(), active_only=True),
        **context,
    )
    return html, status


@bp.get("/")
def index() -> Any:
    return _render("account/index.html")


@bp.post("/language")
def language() -> Any:
    """Show the interface in another language from now on (an unknown one is a 422)."""
    set_locale(current_user, request.form.get("locale", ""))
    db.session.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.post("/password", endpoint="change_password")
def password() -> Any:
    """Change the password, knowing the current one; other logins end, this one stays.

    Wrong current passwords count as failed logins of the account (and of the address), so
    a left-open session cannot be used to guess the password faster than the login page.
    """
    user = _me()
    client = client_address()
    throttle = login_throttle()
    wait = throttle.wait_seconds(user.email, client)
    if wait:
        minutes = math.ceil(wait / 60)
        refusal = ngettext(
            "Too many wrong passwords. Try again in %(num)d minute.",
            "Too many wrong passwords. Try again in %(num)d minutes.",
            minutes,
        )
        page, status = _render(
            "account/_password.html", 429, password_errors={"current_password": refusal}
        )
        return page, status, {"Retry-After": str(wait)}
    form = request.form
    try:
        change_password(
            user,
            form.get("current_password", ""),
            form.get("new_password", ""),
            form.get("new_password_again", ""),
        )
    except UserError as error:
        db.session.rollback()
        if isinstance(error, WrongPassword):
            throttle.failed(user.email, client)
        return _render("account/_password.html", 422, password_errors=error.fields)
    db.session.commit()
    throttle.succeeded(user.email)
    # The new session token ended every login; this one carries it and stays logged in.
    renew_login(user)
    message = _("Your password is changed. You stay logged in here; everywhere else you are not.")
    return _render("account/_password.html", password_message=message)


@bp.post("/tokens", endpoint="create_token")
def tokens_create() -> Any:
    """A new API token, shown in this answer only: only its hash is kept."""
    name = request.form.get("name", "")
    if not name.strip():
        errors = {"name": _("say what the token is for")}
        return _render("account/_tokens.html", 422, token_errors=errors, token_name=name)
    try:
        api_token, token = create_token(_me(), name, _me().id)
    except UserError as error:
        db.session.rollback()
        return _render("account/_tokens.html", 422, token_errors=error.fields, token_name=name)
    db.session.commit()
    return _render("account/_tokens.html", new_token=token, new_token_name=api_token.name)


@bp.post("/tokens/<token_id>/revoke", endpoint="revoke_token")
def tokens_revoke(token_id: str) -> Any:
    """Revoke one of your tokens: the next call with it gets a 401."""
    api_token = revoke_token(get_token(token_id, owner=_me()), by_id=_me().id)
    db.session.commit()
    message = _("Revoked “%(name)s”. It no longer works.", name=api_token.name)
    return _render("account/_tokens.html", token_message=message)
