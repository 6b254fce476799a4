"""Who may do what: login, roles, API tokens, and the public exceptions.

Access is denied by default. A request reaches a view only if its endpoint is
public, or the caller is logged in (pages) or presents a valid bearer token
(API); a manager may only read, whatever the view forgets to check.

The interface asks `can(action)` (a Jinja global) before it shows a control, so a
role never meets a button it may not press; a page it reaches anyway says so in
words (`NotAllowed`), with the layout and navigation of every other page.

An admin who must use two-factor sign-in and has not set it up (`must_enrol`) is logged
in, but every page except the set-up and logging out sends them to the set-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from webapp.extensions import db, login_manager
from webapp.htmx import wants_fragment
from webapp.models import User
from webapp.models.users import WRITE_ROLES
from webapp.services.tracking import client_ip
from webapp.services.users import user_for_session, user_for_token

P = ParamSpec("P")
R = TypeVar("R")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints anyone may reach without logging in. The invitation and password reset pages
# check their signed link instead; the second step of a login (the two-factor code) comes
# before there is a login, and reads who is half-way from the session itself
# (webapp/web/auth/signin.py).
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "auth.login",
        "auth.login_post",
        "public.healthz",
        "auth.forgot_password",
        "auth.forgot_password_post",
        "auth.reset_password_page",
        "auth.reset_password_post",
        "team.accept_invitation_page",
        "team.accept_invitation_post",
        "auth.two_factor",
        "auth.two_factor_post",
    }
)
# Blueprints the internet reaches (email clients): no login, no session, no CSRF.
PUBLIC_BLUEPRINTS = frozenset({"tracking"})
# Writes a read-only user may still make (about their own session, account and API tokens).
READ_ONLY_WRITES = frozenset(
    {
        "auth.logout",
        "api.create_token_view",
        "api.revoke_token_view",
        "account.enable_two_factor",
        "account.regenerate_recovery_codes",
        "account.disable_two_factor",
        "account.language",
        "account.change_password",
        "account.create_token",
        "account.revoke_token",
    }
)
# All an admin who must set up two-factor sign-in and has not may reach (see must_enrol).
ENROLMENT_ENDPOINTS = frozenset(
    {"account.two_factor", "account.enable_two_factor", "account.language", "auth.logout"}
)

ADMIN_ROLES = frozenset({"admin"})
# Who reads the audit trail: those who answer for what was done, not those who do it.
AUDIT_READERS = frozenset({"admin", "manager"})
# What each role may do (docs/rules.md, "Roles"), by the name the interface asks
# `can(action)` with. Hiding a control is for the person, not the guard: the server
# refuses every write of a read-only role in enforce_access, and pages that exist only
# to change something say @requires(action) or @admin_required.
ACTIONS: dict[str, frozenset[str]] = {
    "import_leads": WRITE_ROLES,
    "edit_leads": WRITE_ROLES,  # stop, delete, restore, suppress; lists; bulk actions
    "edit_templates": WRITE_ROLES,
    "run_campaigns": WRITE_ROLES,  # create, edit, start, pause, resume, stop
    "resend": WRITE_ROLES,  # resend failed mail, settle uncertain mail
    "suppress": WRITE_ROLES,  # add an address or a domain to the suppression list
    "unsuppress": ADMIN_ROLES,  # take one off again: it may be mailed again
    "edit_domains": ADMIN_ROLES,
    "manage_users": ADMIN_ROLES,  # invite, change roles, deactivate and reactivate
}
# What a role can do, said on the page that tells it no.
ROLE_SUMMARIES = {
    "manager": _l(
        "As a manager you can read everything here: the overview, campaigns and their "
        "results, leads, templates, sending domains and the calendar, and download the "
        "exports. Changing anything is up to a marketer or an admin."
    ),
    "marketer": _l(
        "As a marketer you can import leads, write templates, and build, start, pause and "
        "stop campaigns. Sending domains, users and taking an address off the suppression "
        "list are up to an admin."
    ),
}


class NotAllowed(Forbidden):
    """403 for a role that may not do this: a page (or flash, or JSON) that says so.

    webapp.errors renders it like any HTTP error, with `name` as the title and the
    description as its sentence.
    """

    name = "Not allowed"


def not_allowed() -> NotAllowed:
    """The refusal for the current user, saying what their role can do instead."""
    role = current_user.role if current_user.is_authenticated else ""
    return NotAllowed(str(ROLE_SUMMARIES.get(role, _l("Your role may not do this."))))


def can(action: str, user: User | None = None) -> bool:
    """Whether the user (the current one by default) may do `action` (see ACTIONS)."""
    roles = ACTIONS[action]  # an unknown name is a typo: fail loudly, never quietly hide
    user = current_user if user is None else user
    return bool(user.is_authenticated) and user.role in roles


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.session_protection = "strong"
    # Flask-Login's own identifier believes any client-sent X-Forwarded-For.
    login_manager._session_identifier_generator = _session_identifier
    login_manager.user_loader(user_for_session)
    app.before_request(enforce_access)
    app.add_template_global(can, "can")
    app.add_template_global(must_enrol, "must_enrol")


def must_enrol(user: Any = None) -> bool:
    """An admin who has to use two-factor sign-in (REQUIRE_TWO_FACTOR_FOR_ADMINS) and has
    not set it up yet: every page but the setup sends them there."""
    user = current_user if user is None else user
    return (
        bool(current_app.config["REQUIRE_TWO_FACTOR_FOR_ADMINS"])
        and bool(user.is_authenticated)
        and user.is_admin
        and not user.two_factor_enabled
    )


def client_address() -> str:
    """The caller's address: X-Forwarded-For is believed only through `TRUSTED_PROXIES` hops."""
    proxies = int(current_app.config.get("TRUSTED_PROXIES", 0))
    address = client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"), proxies)
    return address or request.remote_addr or "unknown"


def _session_identifier() -> str:
    """What binds a login session to its client ('strong' protection): address and agent."""
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(f"{client_address()}|{agent}".encode()).hexdigest()


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
        if db.session.dirty:
            db.session.commit()  # the token's last use, on its own before the view's work
        g._login_user = user  # what flask_login.current_user reads; no session is touched
    elif not current_user.is_authenticated:
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if wants_fragment():
            # htmx would swap the login page into a fragment; send the whole tab there.
            # (A history restore ignores HX-Redirect on a 401 but follows a redirect and
            # puts the login page in <body>, so it gets the plain redirect below.)
            return Response(status=401, headers={"HX-Redirect": login_url})
        return redirect(login_url)
    elif must_enrol(current_user) and request.endpoint not in ENROLMENT_ENDPOINTS:
        setup_url = url_for("account.two_factor")
        if wants_fragment():
            return Response(status=403, headers={"HX-Redirect": setup_url})
        return redirect(setup_url)
    if (
        request.method not in SAFE_METHODS
        and not current_user.can_write
        and request.endpoint not in READ_ONLY_WRITES
    ):
        raise not_allowed()
    return None


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def requires(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only roles that may do `action`: for a page that exists only to change something
    (an import, a new campaign), which a read-only role must not even see."""
    roles = ACTIONS[action]

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        return _only_for(roles, view)

    return decorate


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only admins: users and sending domains."""
    return _only_for(ADMIN_ROLES, view)


def audit_reader_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only admins and managers: the audit trail."""
    return _only_for(AUDIT_READERS, view)


def _only_for(roles: frozenset[str], view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated or current_user.role not in roles:
            raise not_allowed()
        return view(*args, **kwargs)

    # Read by the tests that walk every route: who may open this page at all.
    wrapped.__dict__["required_roles"] = roles
    return wrapped
