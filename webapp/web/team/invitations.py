"""Accepting an invitation: no login, the signed link is the key; it works once."""

from __future__ import annotations

from typing import Any

from flask import flash, request
from flask_babel import gettext as _

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import render_uncached
from webapp.services.team import (
    INVITATION_DAYS,
    LinkClosed,
    LinkState,
    accept_invitation,
    read_invitation_link,
    role_name,
)
from webapp.services.users import UserError
from webapp.web.auth.signin import log_user_in
from webapp.web.team.blueprint import bp


def _closed(state: LinkState) -> Any:
    return render_uncached(
        "team/invitation_closed.html",
        404 if state == LinkState.INVALID else 410,
        state=state,
        days=INVITATION_DAYS,
    )


def _form(token: str, status: int = 200, **context: Any) -> Any:
    link = read_invitation_link(token, utcnow())
    if link.state != LinkState.OPEN or link.invitation is None:
        return _closed(link.state)
    invitation = link.invitation
    context.setdefault("errors", {})
    context.setdefault("name", "")
    return render_uncached(
        "team/accept.html",
        status,
        token=token,
        invitation=invitation,
        role=role_name(invitation.role),
        **context,
    )


@bp.get("/invite/<token>")
def accept_invitation_page(token: str) -> Any:
    return _form(token)


@bp.post("/invite/<token>")
def accept_invitation_post(token: str) -> Any:
    form = request.form
    name = form.get("name", "")
    try:
        user = accept_invitation(
            token, name, form.get("password", ""), form.get("password_repeat", ""), utcnow()
        )
    except LinkClosed as closed:
        db.session.rollback()
        return _closed(closed.state)
    except UserError as error:
        db.session.rollback()
        errors = dict(error.fields)
        if not {"name", "password", "password_repeat"} & set(errors):
            errors = {"general": error.message}
        return _form(token, 422, errors=errors, name=name)
    db.session.commit()
    # Whoever was logged in here, the new user starts a fresh session; an admin who has to
    # use two-factor sign-in is taken to set it up first.
    answer = log_user_in(user)
    db.session.commit()
    flash(_("Welcome, %(name)s: your account is ready.", name=user.name), "success")
    return answer
