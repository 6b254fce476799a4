"""The one way into a login session, whoever checked the password.

The login form calls `log_user_in` after a correct password, and so does any page that
sets a password and signs its user in at once (an accepted invitation). A user with
two-factor sign-in on is then only half-way: the session remembers who, for
TWO_FACTOR_PENDING_SECONDS, and the second step (`auth.two_factor`) asks for a code before
`finish_login` makes it a login. An admin who must use two-factor and has not set it up
is logged in and sent to set it up (security.must_enrol keeps them there).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, redirect, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from webapp.models import User
from webapp.security import must_enrol
from webapp.services.users import record_login, user_for_session

PENDING = "two_factor_pending"


def safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not become an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("dashboard.index")


def log_user_in(user: User, next_target: str | None = None) -> Response:
    """Sign in a user whose password was just checked; the answer to send. The caller commits.

    Two-factor on: the session holds only the half-way state and the answer asks for a
    code. Otherwise the user is logged in (see `finish_login`).
    """
    if not user.two_factor_enabled:
        return finish_login(user, next_target)
    session.clear()  # a fresh session: no fixation, and no earlier login rides along
    # Bound to the user's session token: a logout, a password change or a two-factor
    # reset in the meantime ends the half-way state as it ends logins.
    session[PENDING] = {"user": user.get_id(), "started": time.time(), "next": next_target or ""}
    return redirect(url_for("auth.two_factor"))


def finish_login(user: User, next_target: str | None = None) -> Response:
    """Log the user in (both factors checked, or two-factor not in use). The caller commits.

    An admin who has to use two-factor and has not set it up goes to the setup page.
    """
    session.clear()  # a fresh session on login: no fixation
    login_user(user)
    record_login(user)
    if must_enrol(user):
        return redirect(url_for("account.two_factor"))
    return redirect(safe_next(next_target))


def renew_login(user: User) -> None:
    """Keep this browser logged in after the user's session token changed (which ended
    every other login of theirs, as a two-factor change should)."""
    login_user(user)


def pending_login() -> tuple[User, str] | None:
    """The user half-way through signing in, and where they were going; None when nobody
    is, or the half-way state expired or was ended."""
    pending: Any = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    started = pending.get("started")
    lifetime = current_app.config["TWO_FACTOR_PENDING_SECONDS"]
    if not isinstance(started, int | float) or time.time() - started >= lifetime:
        return None
    user = user_for_session(str(pending.get("user", "")))
    if user is None or not user.two_factor_enabled:
        return None
    return user, str(pending.get("next", ""))


def forget_pending_login() -> bool:
    """Drop the half-way state; whether there was one."""
    return session.pop(PENDING, None) is not None
