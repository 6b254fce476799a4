"""The users page: who is on the team, invitations, roles, who may log in (admins only).

Every action answers with the whole team fragment (`#team`), so the list, the open
invitations and the message always agree after a change.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import render_page_or_fragment
from webapp.models.users import ROLES
from webapp.security import admin_required
from webapp.services.errors import ServiceError
from webapp.services.inputs import parse_bool
from webapp.services.system_mail import Delivered
from webapp.services.team import (
    INVITATION_DAYS,
    cancel_invitation,
    get_invitation,
    invite,
    list_open_invitations,
    resend_invitation,
    role_name,
)
from webapp.services.users import UserError, get_user, list_users, update_user
from webapp.web.team.blueprint import bp

# The invite form's fields, as an error names them.
FIELD_LABELS = {"email": _l("Address"), "role": _l("Role")}


def _render(
    status: int = 200,
    *,
    message: str = "",
    error: str = "",
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    outbox_name: str | None = None,
) -> Any:
    html = render_page_or_fragment(
        "team/index.html",
        "team/_team.html",
        users=list_users(),
        invitations=list_open_invitations(),
        now=utcnow(),
        roles=ROLES,
        invitation_days=INVITATION_DAYS,
        message=message,
        error=error,
        errors=errors or {},
        field_labels=FIELD_LABELS,
        form=form or {},
        outbox_name=outbox_name,
    )
    return html, status


def _refused(error: ServiceError, form: dict[str, str] | None = None) -> Any:
    """The page again, saying why nothing changed (the service's work is rolled back)."""
    db.session.rollback()
    if isinstance(error, UserError) and error.field in FIELD_LABELS:
        return _render(422, errors=error.fields, form=form)
    return _render(422 if isinstance(error, UserError) else 409, error=str(error), form=form)


def _where(delivered: Delivered, email: str) -> str:
    if delivered.via == "outbox":
        return str(
            _(
                "No mail server is set, so the mail to %(email)s is in the outbox as system mail.",
                email=email,
            )
        )
    return str(_("The mail to %(email)s is on its way.", email=email))


@bp.get("/users")
@admin_required
def index() -> Any:
    return _render()


@bp.post("/users/invite")
@admin_required
def invite_user() -> Any:
    form = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    try:
        invitation, delivered = invite(
            form["email"], form["role"], current_user._get_current_object(), utcnow()
        )
    except ServiceError as error:
        return _refused(error, form)
    db.session.commit()
    message = (
        _("Invited %(email)s.", email=invitation.email) + " " + _where(delivered, invitation.email)
    )
    return _render(message=message, outbox_name=delivered.name)


@bp.post("/users/invitations/<invitation_id>/resend")
@admin_required
def resend(invitation_id: str) -> Any:
    invitation = get_invitation(invitation_id)
    try:
        delivered = resend_invitation(invitation, current_user._get_current_object(), utcnow())
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    message = (
        _("Sent a new link to %(email)s; the earlier one no longer works.", email=invitation.email)
        + " "
        + _where(delivered, invitation.email)
    )
    return _render(message=message, outbox_name=delivered.name)


@bp.post("/users/invitations/<invitation_id>/cancel")
@admin_required
def cancel(invitation_id: str) -> Any:
    invitation = get_invitation(invitation_id)
    try:
        cancel_invitation(invitation, current_user._get_current_object(), utcnow())
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    return _render(
        message=_(
            "Canceled the invitation of %(email)s; its link no longer works.",
            email=invitation.email,
        )
    )


@bp.post("/users/<user_id>/role")
@admin_required
def change_role(user_id: str) -> Any:
    user = get_user(user_id)
    role = request.form.get("role", "")
    try:
        update_user(user, acting=current_user._get_current_object(), role=role)
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    return _render(message=_("%(email)s is now %(role)s.", email=user.email, role=role_name(role)))


@bp.post("/users/<user_id>/active")
@admin_required
def set_active(user_id: str) -> Any:
    user = get_user(user_id)
    try:
        active = parse_bool(request.form.get("active", ""))
    except ValueError as error:
        return _render(422, error=str(error))
    try:
        update_user(user, acting=current_user._get_current_object(), active=active)
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    if active:
        return _render(message=_("%(email)s may log in again.", email=user.email))
    return _render(
        message=_(
            "Deactivated %(email)s: their logins ended and their API tokens are revoked.",
            email=user.email,
        )
    )
