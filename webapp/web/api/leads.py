"""Leads over the API: import (and its job), search, one lead, stop, soft delete."""

from __future__ import annotations

import os
from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import ImportJob, ImportStatus, Lead
from webapp.models.leads import LEAD_STATUSES
from webapp.services import leads as lead_service
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.leads import (
    ImportFileError,
    ImportMappingError,
    LeadFilter,
    background_bytes,
    check_import,
    create_import_job,
    import_file,
    import_job_to_dict,
    parse_choices,
    record_import,
    remove_file,
    settle_stalled_import_jobs,
    start_import_job,
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
    filename = upload.filename or "upload.csv"
    path = store_upload(upload.stream, filename)
    if os.path.getsize(path) > background_bytes():
        return _import_in_background(path, filename, list_name, choices)
    try:
        summary = import_file(path, list_name, choices=choices)
    finally:
        remove_file(path)
    record_import(filename, list_name, summary, current_user.id)
    db.session.commit()
    return summary.to_dict()


def _import_in_background(
    path: str, filename: str, list_name: str, choices: dict[str, str | None]
) -> Any:
    """A large file: checked now (422 as for a small one), imported by a worker; 202."""
    try:
        preview = check_import(path, choices)
    except ImportFileError:
        remove_file(path)
        raise
    job = create_import_job(path, filename, list_name, preview, current_user.id)
    db.session.commit()  # before the worker looks for it
    start_import_job(job.id)
    status_url = url_for("api.imports_show", job_id=job.id)
    return {"job_id": job.id, "status_url": status_url}, 202, {"Location": status_url}


@bp.get("/imports/<job_id>")
def imports_show(job_id: str) -> Any:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise ApiError(404, _("no import %(id)s", id=repr(job_id)))
    if job.status == ImportStatus.RUNNING and settle_stalled_import_jobs():
        db.session.commit()  # a poller of a stopped import hears that it stopped
        db.session.refresh(job)
    return import_job_to_dict(job)


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
    # A bad cursor is an InvalidInput naming the `cursor` field: 422.
    page = lead_service.search_leads(
        chosen,
        clamp_int(args.get("page"), 1, 1, MAX_PAGE),
        clamp_int(args.get("per_page"), 50, 1, 500),
        args.get("cursor") or None,
    )
    return {
        "items": [lead_service.lead_to_dict(lead) for lead in page.items],
        # Exact, as scripts rely on it (the page says "more than 10,000" instead of counting).
        "total": page.count if not page.more else lead_service.count_selection(chosen),
        "page": page.page,
        "per_page": page.per_page,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
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
