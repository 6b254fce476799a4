"""The team over the API: users and invitations (admins), and each person's own API tokens.

An invitation is answered without its link: the link goes to the invitee's mailbox only.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.security import admin_required
from webapp.services.inputs import parse_bool
from webapp.services.team import (
    cancel_invitation,
    get_invitation,
    invitation_to_dict,
    invite,
    list_open_invitations,
    resend_invitation,
)
from webapp.services.users import (
    create_token,
    get_token,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
    token_to_dict,
    update_user,
    user_to_dict,
)
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body

USER_FIELDS = frozenset({"role", "active"})
INVITE_FIELDS = frozenset({"email", "role"})


@bp.get("/users")
@admin_required
def users_index() -> Any:
    now = utcnow()
    return {
        "items": [user_to_dict(user) for user in list_users()],
        "invitations": [invitation_to_dict(i, now) for i in list_open_invitations()],
    }


@bp.post("/users")
@admin_required
def users_invite() -> Any:
    """Invite `{email, role}`: 201 with the invitation; the mail carries the link."""
    body = json_body()
    unknown = sorted(set(body) - INVITE_FIELDS)
    if unknown:
        raise ApiError(
            422, _("unknown fields"), dict.fromkeys(unknown, _("not an invitation field"))
        )
    problems = {
        field: _("must be a string")
        for field in sorted(INVITE_FIELDS)
        if not isinstance(body.get(field), str)
    }
    if problems:
        raise ApiError(422, _("invalid invitation"), problems)
    now = utcnow()
    invitation, delivered = invite(
        body["email"], body["role"], current_user._get_current_object(), now
    )
    db.session.commit()
    return {**invitation_to_dict(invitation, now), "mail": delivered.via}, 201


@bp.post("/invitations/<invitation_id>/resend")
@admin_required
def invitations_resend(invitation_id: str) -> Any:
    """A new link, valid from now; every earlier link of the invitation stops working."""
    invitation = get_invitation(invitation_id)
    now = utcnow()
    delivered = resend_invitation(invitation, current_user._get_current_object(), now)
    db.session.commit()
    return {**invitation_to_dict(invitation, now), "mail": delivered.via}


@bp.delete("/invitations/<invitation_id>")
@admin_required
def invitations_cancel(invitation_id: str) -> Any:
    invitation = get_invitation(invitation_id)
    now = utcnow()
    cancel_invitation(invitation, current_user._get_current_object(), now)
    db.session.commit()
    return invitation_to_dict(invitation, now)


@bp.patch("/users/<user_id>")
@admin_required
def users_update(user_id: str) -> Any:
    body = json_body()
    unknown = sorted(set(body) - USER_FIELDS)
    if unknown:
        raise ApiError(422, _("unknown fields"), dict.fromkeys(unknown, _("not a user field")))
    active = None
    if "active" in body:
        try:
            active = parse_bool(body["active"])
        except ValueError as error:
            raise ApiError(422, _("invalid user"), {"active": str(error)}) from None
    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise ApiError(422, _("invalid user"), {"role": _("must be a string")})
    user = update_user(
        get_user(user_id), acting=current_user._get_current_object(), role=role, active=active
    )
    db.session.commit()
    return user_to_dict(user)


@bp.get("/tokens")
def tokens_index() -> Any:
    return {"items": [token_to_dict(t) for t in list_tokens(current_user._get_current_object())]}


@bp.post("/tokens")
def create_token_view() -> Any:
    body = json_body()
    name = body.get("name", "")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, _("invalid token"), {"name": _("say what the token is for")})
    api_token, token = create_token(current_user._get_current_object(), name, current_user.id)
    db.session.commit()
    return {**token_to_dict(api_token), "token": token}, 201


@bp.delete("/tokens/<token_id>")
def revoke_token_view(token_id: str) -> Any:
    owner = current_user._get_current_object()
    api_token = revoke_token(get_token(token_id, owner=owner), by_id=owner.id)
    db.session.commit()
    return token_to_dict(api_token)
