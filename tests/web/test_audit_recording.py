"""The trail records what the issue names: imports and suppressions added by a person, in
the transaction that does them (password and token changes: tests/web/test_account.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_lead
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, ImportJob, ImportUpload
from webapp.services.leads import add_suppression, run_import_job, settle_stalled_import_jobs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_suppression_added_on_the_page_is_recorded_with_what_it_reached(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    make_lead(email="nee@bakker.nl")
    db.session.commit()
    client = login_as("marketer")
    form = {"csrf_token": client.csrf, "kind": "email", "value": "Nee@Bakker.nl"}
    response = client.post("/suppressions/", data={**form, "note": "belde zelf"})
    assert response.status_code == 200
    # Adding it again changes nothing, and records nothing.
    assert client.post("/suppressions/", data=form).status_code == 200

    (event,) = events("suppression.added")
    assert event.user_id == client.user.id  # type: ignore[attr-defined]
    assert event.subject_type == "suppression" and event.subject_id
    assert event.details == {
        "email": "nee@bakker.nl",
        "domain": None,
        "reason": "manual",
        "note": "belde zelf",
        "leads": 1,
    }


def test_a_domain_suppressed_over_the_api_is_recorded(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("admin")
    response = client.post(
        "/api/v1/suppressions",
        json={"domain": "concurrent.nl", "reason": "complaint"},
        headers=headers,
    )
    assert response.status_code in (200, 201), response.json
    (event,) = events("suppression.added")
    assert event.subject_id == response.json["id"] and event.user_id is not None
    assert (event.details["domain"], event.details["reason"]) == ("concurrent.nl", "complaint")


def test_suppressions_the_system_makes_are_not_audit_events(app: Flask) -> None:
    # Unsubscribes and hard bounces are recorded as the mail's events, not as anyone's act.
    add_suppression(email="weg@klant.nl", reason="unsubscribed")
    db.session.commit()
    assert events("suppression.added") == []


def test_an_import_on_the_page_records_who_imported_which_file_into_which_list(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data = io.BytesIO((FIXTURES / "cp1252_semicolon.csv").read_bytes())
    client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": (data, "cp1252_semicolon.csv")},
        headers={"HX-Request": "true"},
    )
    job = db.session.scalars(sa.select(ImportJob)).one()
    started = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "Eindhoven"},
        headers={"HX-Request": "true"},
    )
    assert started.status_code == 200

    (event,) = events("leads.imported")
    assert event.user_id == client.user.id  # type: ignore[attr-defined]
    assert event.subject_type == "lead_list" and event.subject_id is None
    assert event.details == {
        "filename": "cp1252_semicolon.csv",
        "list_name": "Eindhoven",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "duplicates": 0,
        "errors": 0,
    }


def test_an_api_import_is_recorded_with_its_counts(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    content = b"email\ninfo@een.nl\ninfo@twee.nl\ninfo@een.nl\ngeen adres\n"
    response = client.post(
        "/api/v1/leads/import",
        data={"file": (io.BytesIO(content), "klanten.csv"), "list_name": "Klanten"},
        headers=headers,
    )
    assert response.status_code == 200, response.json
    (event,) = events("leads.imported")
    assert event.user_id is not None
    details = event.details
    assert (details["filename"], details["list_name"]) == ("klanten.csv", "Klanten")
    assert (details["created"], details["duplicates"], details["errors"]) == (2, 1, 1)


def test_a_background_import_is_recorded_for_the_person_who_started_it(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 10)
    client, headers = api_client("admin")
    lines = ["email"] + [f"info{i}@groot.nl" for i in range(30)]
    response = client.post(
        "/api/v1/leads/import",
        data={"file": (io.BytesIO("\n".join(lines).encode()), "groot.csv"), "list_name": "groot"},
        headers=headers,
    )
    assert response.status_code == 202
    job = db.session.get(ImportJob, response.json["job_id"])
    assert job is not None
    run_import_job(job.id)  # whether the pool's thread or this call runs it, once
    while client.get(response.json["status_url"], headers=headers).json["status"] != "done":
        pass
    (event,) = events("leads.imported")
    db.session.refresh(job)
    assert event.user_id == job.created_by_id is not None
    assert event.details["created"] == 30


def test_the_command_line_import_is_recorded_as_the_system_s(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "beurs.csv"
    path.write_text("email\ninfo@beurs.nl\n")
    result = app.test_cli_runner().invoke(args=["leads", "import", str(path), "--list", "Beurs"])
    assert result.exit_code == 0, result.output
    (event,) = events("leads.imported")
    assert event.user_id is None
    assert (event.details["filename"], event.details["created"]) == ("beurs.csv", 1)


def test_an_import_that_failed_or_stopped_is_recorded_with_what_it_did(
    app: Flask, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    user = make_user("marketer")
    broken = ImportJob(
        list_name="pdf", filename="offerte.pdf", status="pending", created_by_id=user.id
    )
    stalled = ImportJob(
        list_name="groot",
        filename="groot.csv",
        status="running",
        processed_rows=12_345,
        progressed_at=utcnow() - timedelta(minutes=11),
        created_by_id=user.id,
    )
    db.session.add_all([broken, stalled])
    db.session.flush()
    db.session.add(ImportUpload(job_id=broken.id, content=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"))
    db.session.add(ImportUpload(job_id=stalled.id, content=b"email\n"))
    db.session.commit()

    run_import_job(broken.id)
    assert settle_stalled_import_jobs() == 1
    db.session.commit()

    recorded = {e.details["filename"]: e for e in events("leads.import_failed")}
    assert set(recorded) == {"offerte.pdf", "groot.csv"}
    assert all(e.user_id == user.id for e in recorded.values())
    assert recorded["offerte.pdf"].details["rows"] == 0
    assert recorded["offerte.pdf"].details["error"]
    assert recorded["groot.csv"].details["rows"] == 12_345
    assert events("leads.imported") == []
