"""The suppression list over the API."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import Suppression, SuppressionReason
from webapp.security import admin_required
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.leads import (
    add_suppression,
    remove_suppression,
    search_suppressions,
    suppression_to_dict,
)
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


@bp.get("/suppressions")
def suppressions_index() -> Any:
    page = search_suppressions(
        request.args.get("q", ""),
        clamp_int(request.args.get("page"), 1, 1, MAX_PAGE),
        clamp_int(request.args.get("per_page"), 50, 1, 500),
    )
    return {
        "items": [suppression_to_dict(s) for s in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


@bp.post("/suppressions")
def suppressions_create() -> Any:
    body = json_body()
    suppression, created = add_suppression(
        email=body.get("email"),
        domain=body.get("domain"),
        reason=body.get("reason") or SuppressionReason.MANUAL,
        note=body.get("note"),
        user_id=current_user.id,
    )
    db.session.commit()
    return suppression_to_dict(suppression), 201 if created else 200


@bp.delete("/suppressions/<suppression_id>")
@admin_required
def suppressions_delete(suppression_id: str) -> Any:
    suppression = db.session.get(Suppression, suppression_id)
    if suppression is None:
        raise ApiError(404, _("no suppression %(id)s", id=repr(suppression_id)))
    data = suppression_to_dict(suppression)
    remove_suppression(suppression, current_user.id)
    db.session.commit()
    return data
