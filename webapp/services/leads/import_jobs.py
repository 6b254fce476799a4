"""Import jobs: stored uploads, pending jobs, and running them in or outside the request.

An upload is kept in the database (`ImportUpload`) until its import ends, so the preview,
the start and the import may each run on a different machine: each works on a local copy
of the file, made from the database where the machine has none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import datetime, timedelta
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.database import affected_rows, new_id, utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import ImportJob, ImportStatus, ImportUpload
from webapp.queue import IMPORT_TIMEOUT_SECONDS, get_queue
from webapp.services.audit import AuditAction, record_action
from webapp.services.leads.columns import clean_text
from webapp.services.leads.csv_sniff import FileFormat
from webapp.services.leads.imports import (
    ImportFileError,
    ImportPreview,
    ImportSummary,
    import_file,
)

# Bigger uploads import in the background (a progress bar on the page, 202 on the API);
# IMPORT_BACKGROUND_BYTES overrides it.
BACKGROUND_BYTES = 1024 * 1024
# A running import commits a batch every few seconds; one quiet this long has stopped (its
# process was restarted or killed), and is failed with what it did import.
STALLED_AFTER = timedelta(minutes=10)
UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")


def import_dir() -> str:
    """Where uploads wait for their import (IMPORT_DIR, default instance/imports)."""
    path = current_app.config.get("IMPORT_DIR") or os.path.join(
        current_app.instance_path, "imports"
    )
    os.makedirs(path, exist_ok=True)
    return str(path)


def store_upload(stream: IO[bytes], filename: str) -> str:
    """Copy an uploaded file to disk in chunks; returns its path."""
    suffix = os.path.splitext(filename or "")[1].lower()
    suffix = suffix if suffix in UPLOAD_SUFFIXES else ".csv"
    path = os.path.join(import_dir(), f"{new_id()}{suffix}")
    with open(path, "wb") as target:
        shutil.copyfileobj(stream, target, 1024 * 1024)
    return path


def create_import_job(
    path: str, filename: str, list_name: str, preview: ImportPreview, user_id: str | None = None
) -> ImportJob:
    """A pending import of a stored upload, with the detected format and mapping."""
    job = ImportJob(
        list_name=clean_text(list_name)[:200],
        filename=os.path.basename(filename or "upload.csv")[:255],
        stored_path=path,
        options={"format": preview.fmt.to_dict(), "mapping": preview.mapping},
        status=ImportStatus.PENDING,
        total_bytes=os.path.getsize(path),
        created_by_id=user_id,
    )
    db.session.add(job)
    db.session.flush()
    with open(path, "rb") as upload:
        db.session.add(ImportUpload(job_id=job.id, content=upload.read()))
    return job


def local_file(job: ImportJob) -> str:
    """The path of the job's file on this machine, copied from the database if need be."""
    if job.stored_path and os.path.isfile(job.stored_path):
        return job.stored_path
    upload = db.session.get(ImportUpload, job.id)
    if upload is None:
        raise ImportFileError(_("The uploaded file is gone; upload it again."))
    suffix = os.path.splitext(job.stored_path or job.filename or "")[1].lower()
    path = os.path.join(import_dir(), f"{job.id}{suffix if suffix in UPLOAD_SUFFIXES else '.csv'}")
    with open(path, "wb") as target:
        target.write(upload.content)
    job.stored_path = path
    return path


def _forget_upload(job: ImportJob) -> None:
    """The import has ended: its file goes, here and in the database."""
    remove_file(job.stored_path)
    job.stored_path = None
    db.session.execute(sa.delete(ImportUpload).where(ImportUpload.job_id == job.id))


def job_format(job: ImportJob) -> FileFormat:
    """The file format stored on a job."""
    return FileFormat.from_dict(dict(job.options or {}).get("format") or {})


def background_bytes() -> int:
    """The size above which an upload imports outside the request."""
    return int(current_app.config.get("IMPORT_BACKGROUND_BYTES") or BACKGROUND_BYTES)


def runs_in_background(job: ImportJob) -> bool:
    """Whether the job is big enough to import outside the request."""
    return job.total_bytes > background_bytes()


def import_job_to_dict(job: ImportJob) -> dict[str, Any]:
    """An import job as the API shows it: its state, progress, and the summary once done."""
    data: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "list_name": job.list_name,
        "filename": job.filename,
        "total_bytes": job.total_bytes,
        "processed_bytes": job.processed_bytes,
        "processed_rows": job.processed_rows,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if job.status == ImportStatus.DONE:
        data["summary"] = job.summary
    if job.status == ImportStatus.FAILED:
        data["error"] = job.error
    return data


def record_import(
    filename: str, list_name: str, summary: ImportSummary, user_id: str | None
) -> None:
    """The audit record of a finished import: which file went into which list, and what it
    did there. In the transaction that ends the import; the caller commits."""
    details: dict[str, Any] = {"filename": filename, "list_name": clean_text(list_name)}
    details.update(created=summary.created, updated=summary.updated)
    details.update(unchanged=summary.unchanged, duplicates=summary.repeated)
    details["errors"] = summary.skipped - summary.repeated
    record_action(AuditAction.LEADS_IMPORTED, "lead_list", None, user_id, details)


def record_failed_import(job: ImportJob) -> None:
    """The audit record of an import that did not finish, with the rows it did commit."""
    details: dict[str, Any] = {"filename": job.filename, "list_name": job.list_name}
    details.update(rows=job.processed_rows, error=job.error)
    record_action(AuditAction.LEADS_IMPORT_FAILED, "lead_list", None, job.created_by_id, details)


def run_import_job(job_id: str) -> None:
    """Import a pending job's file, committing progress per batch; ends done or failed."""
    # Claimed atomically, so a job started twice (a retry, a second worker) runs once.
    claim = db.session.execute(
        sa.update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == ImportStatus.PENDING)
        .values(status=ImportStatus.RUNNING, progressed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = affected_rows(claim)
    db.session.commit()
    job = db.session.get(ImportJob, job_id)
    if not claimed or job is None:
        return

    def progress(rows: int, processed: int) -> None:
        job.processed_rows = rows
        job.processed_bytes = processed
        job.progressed_at = utcnow()
        db.session.commit()

    options = dict(job.options or {})
    try:
        summary = import_file(
            local_file(job),
            job.list_name,
            job_format(job),
            options.get("mapping"),
            progress,
        )
    except ImportFileError as error:
        db.session.rollback()
        job.status, job.error = ImportStatus.FAILED, str(error)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("lead import %s failed", job_id)
        job.status = ImportStatus.FAILED
        job.error = _("the import stopped on an unexpected error")
    else:
        job.status, job.summary = ImportStatus.DONE, summary.to_dict()
        job.processed_bytes = job.total_bytes
        record_import(job.filename, job.list_name, summary, job.created_by_id)
    if job.status == ImportStatus.FAILED:
        record_failed_import(job)
    _forget_upload(job)
    job.finished_at = utcnow()
    db.session.commit()


def start_import_job(job_id: str) -> None:
    """Run the import outside the request: on a worker (RQ), or this process's job pool."""
    get_queue().enqueue("run_import", job_id, timeout=IMPORT_TIMEOUT_SECONDS)


def discard_stale_import_jobs(older_than: timedelta = timedelta(days=1)) -> int:
    """Fail previews nobody imported and imports that stopped; the caller commits."""
    stale = db.session.scalars(
        sa.select(ImportJob).where(
            ImportJob.status == ImportStatus.PENDING, ImportJob.created_at < utcnow() - older_than
        )
    ).all()
    for job in stale:
        _forget_upload(job)
        job.status, job.error = ImportStatus.FAILED, _("never imported")
        job.finished_at = utcnow()
    return len(stale) + settle_stalled_import_jobs()


def settle_stalled_import_jobs(now: datetime | None = None) -> int:
    """Fail running imports that have committed nothing for `STALLED_AFTER`; the caller commits.

    Their process is gone (a deploy or crash ended the thread mid-file). The rows of the
    batches it committed stay imported; importing the file again adds the rest, and rows
    already there are updated, never doubled.
    """
    now = now or utcnow()
    quiet_since = sa.func.coalesce(ImportJob.progressed_at, ImportJob.created_at)
    stalled = db.session.scalars(
        sa.select(ImportJob)
        .where(ImportJob.status == ImportStatus.RUNNING, quiet_since < now - STALLED_AFTER)
        .with_for_update(skip_locked=True)
    ).all()
    for job in stalled:
        _forget_upload(job)
        job.status, job.finished_at = ImportStatus.FAILED, now
        job.error = ngettext(
            "The import stopped after %(rows)s row and did not finish (the server was "
            "restarted). That row is in the list; import the file again for the rest: rows "
            "already there are not added twice.",
            "The import stopped after %(rows)s rows and did not finish (the server was "
            "restarted). Those rows are in the list; import the file again for the rest: rows "
            "already there are not added twice.",
            job.processed_rows,
            rows=thousands(job.processed_rows),
        )
        record_failed_import(job)
    return len(stalled)


def remove_file(path: str | None) -> None:
    """Delete an uploaded file that is no longer needed; a missing file is fine."""
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
