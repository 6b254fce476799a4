"""The team over the API: users (admins) and each person's own API tokens."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.security import admin_required
from webapp.services.inputs import parse_bool
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


@bp.get("/users")
@admin_required
def users_index() -> Any:
    return {"items": [user_to_dict(user) for user in list_users()]}


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
