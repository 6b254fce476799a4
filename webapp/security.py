"""Who may do what: login, roles, API tokens, and the public exceptions.

Access is denied by default. A request reaches a view only if its endpoint is
public, or the caller is logged in (pages) or presents a valid bearer token
(API); a manager may only read, whatever the view forgets to check.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, abort, g, redirect, request, url_for
from flask_login import current_user

from webapp.extensions import db, login_manager
from webapp.htmx import wants_fragment
from webapp.models import User
from webapp.services.users import user_for_token

P = ParamSpec("P")
R = TypeVar("R")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints anyone may reach without logging in.
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "auth.login_post", "public.healthz"})
# Blueprints the internet reaches (email clients): no login, no session, no CSRF.
PUBLIC_BLUEPRINTS = frozenset({"tracking"})
# Writes a read-only user may still make (about their own session).
READ_ONLY_WRITES = frozenset({"auth.logout"})


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    app.before_request(enforce_access)


def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def is_public_request() -> bool:
    """True for the endpoints email clients and load balancers reach without a login."""
    endpoint = request.endpoint or ""
    return endpoint in PUBLIC_ENDPOINTS or any(bp in PUBLIC_BLUEPRINTS for bp in request.blueprints)


def is_api_request() -> bool:
    return "api" in request.blueprints


def enforce_access() -> Any:
    """Runs before every request: authenticate, then hold the read-only role."""
    if request.endpoint is None:
        return None  # no such route: let it 404 (or 405) without revealing more
    if is_public_request():
        return None
    if is_api_request():
        user = user_for_token(_bearer_token())
        if user is None:
            abort(401)
        g._login_user = user  # what flask_login.current_user reads; no session is touched
    elif not current_user.is_authenticated:
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if wants_fragment():
            # htmx would swap the login page into a fragment; send the whole tab there.
            # (A history restore ignores HX-Redirect on a 401 but follows a redirect and
            # puts the login page in <body>, so it gets the plain redirect below.)
            return Response(status=401, headers={"HX-Redirect": login_url})
        return redirect(login_url)
    if (
        request.method not in SAFE_METHODS
        and not current_user.can_write
        and request.endpoint not in READ_ONLY_WRITES
    ):
        abort(403)
    return None


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only admins: users and sending domains."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
