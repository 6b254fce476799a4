"""Leads: the searchable list, one lead's page, bulk actions, lists, export and import."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.extensions import db
from webapp.formats import thousands
from webapp.htmx import render_page_or_fragment, wants_fragment
from webapp.models import ImportJob, ImportStatus, Lead, SuppressionReason
from webapp.models.leads import SUPPRESSION_REASONS
from webapp.security import requires
from webapp.services import leads as lead_service
from webapp.services.errors import InvalidInput
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.leads import (
    DELIMITER_NAMES,
    ENCODINGS,
    VAR_PREFIX,
    FileFormat,
    ImportFileError,
    LeadActionError,
    LeadChanges,
    LeadFilter,
    LeadPage,
    SuppressionError,
    create_import_job,
    discard_stale_import_jobs,
    editable_vars,
    inspect_file,
    job_format,
    lead_export,
    lead_heading,
    local_file,
    remove_file,
    run_import_job,
    runs_in_background,
    settle_stalled_import_jobs,
    start_import_job,
    store_upload,
    suppress_lead,
    update_lead,
)
from webapp.web.downloads import csv_download, reader_csv_style
from webapp.web.leads.blueprint import bp

# The delimiters as a person names them (the form posts the plain name).
DELIMITER_LABELS = {
    "semicolon": _l("semicolon"),
    "comma": _l("comma"),
    "tab": _l("tab"),
    "pipe": _l("vertical bar"),
}

PER_PAGE = 50


def _bulk_message(action: str, changed: int) -> str:
    """What a bulk action did, said per action (the number formatted for the reader)."""
    count = thousands(changed)
    if action == "stop":
        text = ngettext("%(count)s lead stopped.", "%(count)s leads stopped.", changed, count=count)
    elif action == "unstop":
        text = ngettext(
            "%(count)s lead unstopped.", "%(count)s leads unstopped.", changed, count=count
        )
    elif action == "delete":
        text = ngettext("%(count)s lead deleted.", "%(count)s leads deleted.", changed, count=count)
    elif action == "restore":
        text = ngettext(
            "%(count)s lead restored.", "%(count)s leads restored.", changed, count=count
        )
    elif action == "move":
        text = ngettext("%(count)s lead moved.", "%(count)s leads moved.", changed, count=count)
    else:
        text = ngettext("%(count)s lead changed.", "%(count)s leads changed.", changed, count=count)
    return str(text)


def _action_done(action: str, email: str) -> str:
    """What an action on one lead did."""
    done = {
        "stop": _("%(email)s is stopped.", email=email),
        "unstop": _("%(email)s is no longer stopped.", email=email),
        "delete": _("%(email)s is deleted.", email=email),
        "restore": _("%(email)s is restored.", email=email),
    }
    return str(done[action])


def _page_number() -> int:
    return clamp_int(request.args.get("page"), 1, 1, MAX_PAGE)


def _results(chosen: LeadFilter) -> LeadPage:
    """The page the links ask for: by cursor (a stale or altered one shows the first page,
    a link should always lead somewhere), else by number."""
    cursor = request.args.get("cursor") or None
    try:
        return lead_service.search_leads(chosen, _page_number(), PER_PAGE, cursor)
    except InvalidInput:
        db.session.rollback()
        return lead_service.search_leads(chosen, 1, PER_PAGE)


@bp.get("/")
def index() -> Any:
    chosen = LeadFilter.from_args(request.args)
    page = _results(chosen)
    return render_page_or_fragment(
        "leads/index.html",
        "leads/_results.html",
        chosen=chosen,
        results=page,
        list_names=lead_service.list_names(),
        message=None,
    )


@bp.post("/bulk")
def bulk() -> Any:
    chosen = LeadFilter.from_args(request.form)
    action = request.form.get("action", "")
    try:
        changed = lead_service.bulk_action(
            chosen, action, current_user.id, request.form.get("target_list", "")
        )
    except LeadActionError as error:
        db.session.rollback()
        message, status = error.message, 422
    else:
        db.session.commit()
        message, status = _bulk_message(action, changed), 200
        if action == "move":
            chosen = LeadFilter.from_args({**chosen.as_args(), "list_name": ""})
    page = lead_service.search_leads(chosen, 1, PER_PAGE)
    html = render_template(
        "leads/_results.html",
        chosen=chosen,
        results=page,
        list_names=lead_service.list_names(),
        message=message,
    )
    return html, status


@bp.get("/export.csv")
def export() -> Any:
    chosen = LeadFilter.from_args(request.args)
    # Streamed while the leads are read (a server-side cursor, a batch at a time): the first
    # bytes leave at once and memory stays flat whatever the list's size. The request's
    # context, and with it the session, lives until the last row is sent.
    lines = lead_export(lead_service.export_rows(chosen), reader_csv_style())
    return csv_download(lines, "leads")


# -- one lead ---------------------------------------------------------------------------


@bp.get("/<lead_id>")
def show(lead_id: str) -> Any:
    lead = lead_service.get_lead(lead_id) or abort(404)
    return _render_lead(lead)


@bp.post("/<lead_id>/edit")
def update(lead_id: str) -> Any:
    lead = lead_service.get_lead(lead_id) or abort(404)
    try:
        changed = update_lead(lead, _lead_changes(request.form), current_user.id)
    except LeadActionError as error:
        db.session.rollback()
        lead = lead_service.get_lead(lead_id) or abort(404)
        errors = dict(error.fields)
        new_name = f"{VAR_PREFIX}{request.form.get('new_var_name', '')}"
        if new_name in errors and new_name != VAR_PREFIX:
            errors["new_var_name"] = errors.pop(new_name)
        return _render_lead(lead, errors, request.form, 422)
    db.session.commit()
    flash(_("Saved %(email)s.", email=lead.email) if changed else _("Nothing changed."), "success")
    return redirect(url_for("leads.show", lead_id=lead.id), code=303)


def _lead_changes(form: MultiDict[str, str]) -> LeadChanges:
    """The edit form as changes: the fields, each `var:<name>`, and a new variable if named."""
    variables = {
        key.removeprefix(VAR_PREFIX): value
        for key, value in form.items()
        if key.startswith(VAR_PREFIX)
    }
    if form.get("new_var_name", "").strip():
        variables[form["new_var_name"]] = form.get("new_var_value", "")
    return LeadChanges(
        email=form.get("email", ""),
        company=form.get("company", ""),
        url=form.get("url", ""),
        vars=variables,
    )


def _render_lead(
    lead: Lead,
    errors: dict[str, str] | None = None,
    form: MultiDict[str, str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "leads/show.html",
        lead=lead,
        heading=lead_heading(lead),
        variables=editable_vars(lead),
        history=lead_service.lead_history(lead),
        reasons=SUPPRESSION_REASONS,
        errors=errors or {},
        form=form,
    ), status


@bp.post("/<lead_id>/stop")
def stop(lead_id: str) -> Any:
    return _act(lead_id, "stop")


@bp.post("/<lead_id>/unstop")
def unstop(lead_id: str) -> Any:
    return _act(lead_id, "unstop")


@bp.post("/<lead_id>/delete")
def delete(lead_id: str) -> Any:
    return _act(lead_id, "delete")


@bp.post("/<lead_id>/restore")
def restore(lead_id: str) -> Any:
    return _act(lead_id, "restore")


def _act(lead_id: str, action: str) -> Any:
    lead = lead_service.get_lead(lead_id) or abort(404)
    if action in ("stop", "unstop"):
        lead_service.set_stopped(lead, action == "stop", current_user.id)
    else:
        lead_service.set_deleted(lead, action == "delete", current_user.id)
    db.session.commit()
    if wants_fragment():
        return render_template("leads/_lead_state.html", lead=lead)
    flash(_action_done(action, lead.email), "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/<lead_id>/suppress")
def suppress(lead_id: str) -> Any:
    lead = lead_service.get_lead(lead_id) or abort(404)
    try:
        suppress_lead(
            lead,
            request.form.get("reason", SuppressionReason.MANUAL),
            request.form.get("note") or None,
            current_user.id,
        )
    except SuppressionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            _("%(email)s is suppressed; its queued mails are canceled.", email=lead.email),
            "success",
        )
    return redirect(url_for("leads.show", lead_id=lead_id))


# -- lists ------------------------------------------------------------------------------


@bp.get("/lists")
def lists() -> Any:
    return render_template("leads/lists.html", lists=lead_service.list_counts(), message=None)


@bp.post("/lists/rename")
def rename_list() -> Any:
    return _list_action("rename")


@bp.post("/lists/delete")
def delete_list() -> Any:
    return _list_action("delete")


def _list_action(action: str) -> Any:
    name = request.form.get("name", "")
    try:
        if action == "rename":
            changed = lead_service.rename_list(
                name, request.form.get("new_name", ""), current_user.id
            )
            message = ngettext(
                "Renamed %(list)s (%(count)s lead).",
                "Renamed %(list)s (%(count)s leads).",
                changed,
                list=name,
                count=thousands(changed),
            )
        else:
            changed = lead_service.delete_list(name, current_user.id)
            message = ngettext(
                "Deleted the %(count)s lead of %(list)s.",
                "Deleted the %(count)s leads of %(list)s.",
                changed,
                list=name,
                count=thousands(changed),
            )
    except LeadActionError as error:
        db.session.rollback()
        return render_template(
            "leads/_lists.html", lists=lead_service.list_counts(), message=error.message
        ), 422
    db.session.commit()
    return render_template("leads/_lists.html", lists=lead_service.list_counts(), message=message)


# -- import -----------------------------------------------------------------------------


def _stored_mapping(job: ImportJob) -> list[str] | None:
    return dict(job.options or {}).get("mapping")


def _chosen_targets(columns: int) -> list[str | None]:
    """The target picked in each column's select (`map_0`, `map_1`, ...); None if not sent."""
    return [request.form.get(f"map_{index}") for index in range(columns)]


def _render_preview(job: ImportJob, choose: bool = False, start: bool = False) -> Any:
    """The preview with the stored (or, with `choose`, the posted) mapping; with `start`,
    the import runs when the mapping and the list name allow it."""
    try:
        preview = inspect_file(local_file(job), job_format(job), _stored_mapping(job))
    except ImportFileError as error:
        return render_template("leads/_import_error.html", error=str(error)), 422
    if choose:
        preview = preview.choose(_chosen_targets(len(preview.mapping)))
    job.options = {"format": preview.fmt.to_dict(), "mapping": preview.mapping}
    list_name = request.form.get("list_name", "").strip()
    if list_name:  # kept, so a preview coming back does not lose what was typed
        job.list_name = list_name[:200]
    problem = preview.error or (None if list_name else _("Give the list a name."))
    db.session.commit()
    if start and not problem:
        return _start(job)
    html = render_template(
        "leads/_import_preview.html",
        job=job,
        preview=preview,
        problem=problem if start else preview.error,
        encodings=ENCODINGS,
        delimiters=DELIMITER_NAMES,
        delimiter_labels=DELIMITER_LABELS,
    )
    return (html, 422) if start else html


@bp.get("/import")
@requires("import_leads")
def import_page() -> Any:
    return render_template("leads/import.html", list_names=lead_service.list_names())


@bp.post("/import/preview")
def import_preview() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        error = _("Choose a file to upload.")
        return render_template("leads/_import_error.html", error=error), 422
    discard_stale_import_jobs()
    path = store_upload(upload.stream, upload.filename)
    try:
        preview = inspect_file(path)
    except ImportFileError as error:
        remove_file(path)
        db.session.commit()
        return render_template("leads/_import_error.html", error=str(error)), 422
    list_name = request.form.get("list_name", "").strip() or upload.filename.rsplit(".", 1)[0]
    job = create_import_job(path, upload.filename, list_name, preview, current_user.id)
    db.session.commit()
    return _render_preview(job)


def _pending_job(job_id: str) -> ImportJob:
    job = db.session.get(ImportJob, job_id) or abort(404)
    if job.status != ImportStatus.PENDING:
        abort(409, _("This import has already run."))
    return job


@bp.post("/import/<job_id>/format")
def import_format(job_id: str) -> Any:
    job = _pending_job(job_id)
    delimiter = {v: k for k, v in DELIMITER_NAMES.items()}.get(request.form.get("delimiter", ""))
    encoding = request.form.get("encoding", "")
    current = job_format(job)
    job.options = {
        "format": FileFormat(
            kind=current.kind,
            encoding=encoding if encoding in ENCODINGS else current.encoding,
            delimiter=delimiter or current.delimiter,
            has_sep_line=current.has_sep_line,
        ).to_dict()
    }
    return _render_preview(job)


@bp.post("/import/<job_id>/mapping")
def import_mapping(job_id: str) -> Any:
    return _render_preview(_pending_job(job_id), choose=True)


@bp.post("/import/<job_id>/start")
def import_start(job_id: str) -> Any:
    return _render_preview(_pending_job(job_id), choose=True, start=True)


def _start(job: ImportJob) -> Any:
    if runs_in_background(job):
        start_import_job(job.id)
    else:
        run_import_job(job.id)
    db.session.expire_all()
    return render_template("leads/_import_progress.html", job=db.session.get(ImportJob, job.id))


@bp.get("/import/<job_id>")
@requires("import_leads")
def import_progress(job_id: str) -> Any:
    job = db.session.get(ImportJob, job_id) or abort(404)
    if job.status == ImportStatus.RUNNING and settle_stalled_import_jobs():
        db.session.commit()  # the page watching a stopped import says so
        db.session.refresh(job)
    if not wants_fragment():
        return render_template("leads/import.html", job=job, list_names=[])
    html = render_template("leads/_import_progress.html", job=job)
    # 286 tells htmx to stop polling.
    return (html, 286) if job.status in (ImportStatus.DONE, ImportStatus.FAILED) else html
