"""Leads over the API: import, search, one lead, stop, soft delete."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import Lead
from webapp.models.leads import LEAD_STATUSES
from webapp.services import leads as lead_service
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.leads import (
    ImportMappingError,
    LeadFilter,
    import_file,
    parse_choices,
    remove_file,
    store_upload,
)
from webapp.web.api.blueprint import bp


def _lead(lead_id: str) -> Lead:
    lead = lead_service.get_lead(lead_id)
    if lead is None:
        raise ApiError(404, _("no lead %(id)s", id=repr(lead_id)))
    return lead


@bp.post("/leads/import")
def leads_import() -> Any:
    upload = request.files.get("file")
    list_name = (request.form.get("list_name") or "").strip()
    fields = {}
    if upload is None or not upload.filename:
        fields["file"] = _("required (multipart form field `file`)")
    if not list_name:
        fields["list_name"] = _("required")
    choices: dict[str, str | None] = {}
    try:
        choices = parse_choices(request.form.get("mapping"))
    except ImportMappingError as error:
        fields["mapping"] = str(error)
    if fields:
        raise ApiError(422, _("invalid import"), fields)
    assert upload is not None
    path = store_upload(upload.stream, upload.filename or "upload.csv")
    try:
        summary = import_file(path, list_name, choices=choices)
    finally:
        remove_file(path)
    db.session.commit()
    return summary.to_dict()


@bp.get("/leads")
def leads_index() -> Any:
    args = request.args
    if args.get("status") and args["status"] not in LEAD_STATUSES:
        raise ApiError(
            422,
            _("invalid filter"),
            {"status": _("one of %(choices)s", choices=", ".join(LEAD_STATUSES))},
        )
    chosen = LeadFilter.from_args(args)
    page = lead_service.search_leads(
        chosen,
        clamp_int(args.get("page"), 1, 1, MAX_PAGE),
        clamp_int(args.get("per_page"), 50, 1, 500),
    )
    return {
        "items": [lead_service.lead_to_dict(lead) for lead in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


@bp.get("/leads/<lead_id>")
def leads_show(lead_id: str) -> Any:
    return lead_service.lead_to_dict(_lead(lead_id))


@bp.post("/leads/<lead_id>/stop")
def leads_stop(lead_id: str) -> Any:
    lead = lead_service.set_stopped(_lead(lead_id), True, current_user.id)
    db.session.commit()
    return lead_service.lead_to_dict(lead)


@bp.post("/leads/<lead_id>/unstop")
def leads_unstop(lead_id: str) -> Any:
    lead = lead_service.set_stopped(_lead(lead_id), False, current_user.id)
    db.session.commit()
    return lead_service.lead_to_dict(lead)


@bp.delete("/leads/<lead_id>")
def leads_delete(lead_id: str) -> Any:
    lead = lead_service.set_deleted(_lead(lead_id), True, current_user.id)
    db.session.commit()
    return lead_service.lead_to_dict(lead)


@bp.post("/leads/<lead_id>/restore")
def leads_restore(lead_id: str) -> Any:
    lead = lead_service.set_deleted(_lead(lead_id), False, current_user.id)
    db.session.commit()
    return lead_service.lead_to_dict(lead)
