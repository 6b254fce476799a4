"""Lead pages, the import flow, the export and the lead API, through real requests."""

from __future__ import annotations

import contextvars
import csv
import io
import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, ImportJob, ImportUpload, Lead, Suppression

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def upload(name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO((FIXTURES / name).read_bytes()), name


def test_the_page_previews_then_imports_a_dutch_excel_file(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    response = client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": upload("cp1252_semicolon.csv"), "list_name": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert "Café De Zwaan" in response.text
    assert '<option value="cp1252" selected>' in response.text
    assert '<option value="semicolon" selected>' in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
    job = db.session.scalars(sa.select(ImportJob)).one()
    assert job.list_name == "cp1252_semicolon"

    response = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "Eindhoven", "map_3": "ignore"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert 'id="import-created">2<' in response.text
    db.session.expire_all()
    leads = db.session.scalars(sa.select(Lead).order_by(Lead.email)).all()
    assert [(x.email, x.list_name) for x in leads] == [
        ("info@cafe-dezwaan.nl", "Eindhoven"),
        ("verkoop@groenteboer-muller.nl", "Eindhoven"),
    ]
    assert "city" not in leads[0].vars  # the column the marketer chose to ignore
    assert job.status == "done" and job.stored_path is None
    progress = client.get(f"/leads/import/{job.id}", headers={"HX-Request": "true"})
    assert progress.status_code == 286  # htmx stops polling
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0


def test_each_step_of_an_import_may_run_on_another_web_machine(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    """Behind a load balancer the preview, a format change and the start may each reach a
    machine that never saw the upload: the file comes from the database there."""
    client = login_as("marketer")
    client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": upload("cp1252_semicolon.csv")},
        headers={"HX-Request": "true"},
    )
    job = db.session.scalars(sa.select(ImportJob)).one()

    def on_another_machine() -> None:
        db.session.expire_all()
        assert job.stored_path is not None
        os.remove(job.stored_path)  # only the machine that took the upload had it

    on_another_machine()
    response = client.post(
        f"/leads/import/{job.id}/format",
        data={"csrf_token": client.csrf, "encoding": "cp1252", "delimiter": "semicolon"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    assert "Café De Zwaan" in response.text
    on_another_machine()
    response = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "Eindhoven"},
        headers={"HX-Request": "true"},
    )
    assert 'id="import-created">2<' in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0
    assert list(Path(app.instance_path, "imports").glob(f"{job.id}*")) == []


def test_a_file_without_an_email_column_can_be_fixed_in_the_mapping(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data = io.BytesIO(b"naam;adres\nJan;jan@gekozen.nl\n")
    response = client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": (data, "x.csv"), "list_name": "x"},
    )
    assert "no e-mail column" in response.text
    job = db.session.scalars(sa.select(ImportJob)).one()
    refused = client.post(f"/leads/import/{job.id}/start", data={"csrf_token": client.csrf})
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
    client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "x", "map_1": "email"},
    )
    assert db.session.scalars(sa.select(Lead.email)).all() == ["jan@gekozen.nl"]


def test_changing_a_column_s_select_updates_the_preview(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data = io.BytesIO(b"E-mailadres;Voornaam;Roepnaam\nanne@x.nl;Anna;Anne\n")
    preview = client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": (data, "namen.csv")},
        headers={"HX-Request": "true"},
    )
    assert '<option value="var:first_name" selected>First name</option>' in preview.text
    assert 'hx-post="/leads/import/' in preview.text and "/mapping" in preview.text
    job = db.session.scalars(sa.select(ImportJob)).one()

    both = client.post(
        f"/leads/import/{job.id}/mapping",
        data={"csrf_token": client.csrf, "map_2": "var:first_name", "list_name": "namen"},
        headers={"HX-Request": "true"},
    )
    assert both.status_code == 200
    assert "more than one column goes to First name" in both.text
    refused = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "namen"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "more than one column goes to First name" in refused.text
    assert 'id="import-sample"' in refused.text  # the preview stays to fix it in

    fixed = client.post(
        f"/leads/import/{job.id}/mapping",
        data={"csrf_token": client.csrf, "map_1": "ignore", "map_2": "var:first_name"},
        headers={"HX-Request": "true"},
    )
    assert "more than one column" not in fixed.text
    result = fixed.text[fixed.text.index('id="import-result"') :]
    assert "<th>First name</th>" in result and "<td>Anne</td>" in result
    assert "<td>Anna</td>" not in result
    started = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "namen"},
        headers={"HX-Request": "true"},
    )
    assert 'id="import-created">1<' in started.text
    assert db.session.scalars(sa.select(Lead)).one().vars == {"first_name": "Anne"}


def test_the_page_lists_the_duplicate_rows_it_skipped(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data = io.BytesIO(b"E-mailadres;Voornaam\ninfo@bureau.nl;Anne\nInfo@Bureau.nl;Eva\n")
    client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": (data, "team.csv")},
        headers={"HX-Request": "true"},
    )
    job = db.session.scalars(sa.select(ImportJob)).one()
    done = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "team"},
        headers={"HX-Request": "true"},
    )
    assert 'id="import-skipped">1<' in done.text
    table = done.text[done.text.index('id="import-duplicates"') :]
    assert "<tr><td>3</td><td>info@bureau.nl</td><td>2</td></tr>" in table
    assert db.session.scalars(sa.select(Lead)).one().vars == {"first_name": "Anne"}


def test_an_empty_upload_is_refused_with_a_reason(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    response = client.post(
        "/leads/import/preview", data={"csrf_token": client.csrf, "file": upload("empty.csv")}
    )
    assert response.status_code == 422
    assert "the file is empty" in response.text


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def test_an_uploaded_image_or_web_page_is_refused_saying_what_it_is(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    for content, name, looks_like in [
        (PNG, "leads.csv", "a PNG image"),
        (b"<!doctype html><html><body>Inloggen</body></html>", "leads.csv", "an HTML page"),
    ]:
        response = client.post(
            "/leads/import/preview",
            data={"csrf_token": client.csrf, "file": (io.BytesIO(content), name)},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422
        assert f"This looks like {looks_like}, not a spreadsheet." in response.text
        assert 'id="import-sample"' not in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0


def test_a_large_file_imports_in_the_background_with_progress(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    from webapp.services.leads.import_jobs import run_import_job

    client = login_as("marketer")
    lines = ["email;company"] + [f"info{i}@groot{i}.nl;Groot {i}" for i in range(40_000)]
    data = io.BytesIO("\n".join(lines).encode())
    client.post("/leads/import/preview", data={"csrf_token": client.csrf, "file": (data, "g.csv")})
    job = db.session.scalars(sa.select(ImportJob)).one()
    assert job.total_bytes > 1024 * 1024
    response = client.post(
        f"/leads/import/{job.id}/start", data={"csrf_token": client.csrf, "list_name": "groot"}
    )
    assert 'hx-trigger="every 1s"' in response.text
    # The thread is running it; running the same job again must not import twice.
    run_import_job(job.id)
    while True:  # wait for the thread by polling the page, as the browser does
        db.session.expire_all()
        poll = client.get(f"/leads/import/{job.id}", headers={"HX-Request": "true"})
        if poll.status_code == 286:
            break
    db.session.expire_all()
    assert job.status == "done", job.error
    assert job.summary["created"] == 40_000
    assert job.processed_rows == 40_000
    assert job.progressed_at is not None and job.progressed_at <= job.finished_at


def _running_job(tmp_path: Path, quiet: timedelta) -> ImportJob:
    """A job its thread left running, having last committed a batch `quiet` ago."""
    upload = tmp_path / "upload.csv"
    upload.write_text("email\ninfo@groot.nl\n")
    job = ImportJob(
        list_name="groot",
        filename="groot.csv",
        stored_path=str(upload),
        status="running",
        total_bytes=10_000_000,
        processed_bytes=2_500_000,
        processed_rows=12_345,
        progressed_at=utcnow() - quiet,
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(ImportUpload(job_id=job.id, content=upload.read_bytes()))
    db.session.commit()
    return job


def test_an_import_that_stopped_mid_file_says_so_with_what_it_did_import(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient], tmp_path: Path
) -> None:
    """A deploy or crash ends the import thread; the page watching it must not spin forever."""
    job = _running_job(tmp_path, quiet=timedelta(minutes=11))
    client = login_as("marketer")
    poll = client.get(f"/leads/import/{job.id}", headers={"HX-Request": "true"})
    assert poll.status_code == 286  # htmx stops polling
    assert "De import is gestopt na 12.345 rijen" in poll.text
    db.session.expire_all()
    assert job.status == "failed" and job.finished_at is not None
    assert job.stored_path is None and not (tmp_path / "upload.csv").exists()
    assert db.session.get(ImportUpload, job.id) is None


def test_an_import_that_is_still_committing_batches_keeps_running(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient], tmp_path: Path
) -> None:
    job = _running_job(tmp_path, quiet=timedelta(minutes=2))
    client = login_as("marketer")
    poll = client.get(f"/leads/import/{job.id}", headers={"HX-Request": "true"})
    assert poll.status_code == 200
    assert "12.345 rijen gelezen" in poll.text
    db.session.expire_all()
    assert job.status == "running" and (tmp_path / "upload.csv").exists()


def test_search_filters_sort_and_pagination(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    make_lead(email="a@bakker.nl", company="Bakker", list_name="noord")
    make_lead(email="b@slager.nl", company="Slager", list_name="zuid", stopped=True)
    make_lead(email="c@bakkerij.nl", company="Bakkerij", list_name="noord", vars={})
    db.session.commit()
    client = login_as("manager")
    found = client.get("/leads/?q=bakker&sort=email&direction=desc", headers={"HX-Request": "true"})
    assert found.text.index("c@bakkerij.nl") < found.text.index("a@bakker.nl")
    assert "b@slager.nl" not in found.text and "<html" not in found.text
    assert "c@bakkerij.nl" in client.get("/leads/?complete=no").text
    assert "a@bakker.nl" not in client.get("/leads/?complete=no").text
    assert "b@slager.nl" in client.get("/leads/?stopped=yes").text
    assert "a@bakker.nl" not in client.get("/leads/?list_name=zuid").text
    page_two = client.get("/api/v1/leads")  # the page is not the API
    assert page_two.status_code == 401


def test_unicode_domains_are_shown_as_written_and_found_either_way(
    app: Flask, login_as: Callable[[str], FlaskClient], api_client: Callable[[str], Any]
) -> None:
    # Stored as the import stores them: addresses and domains in their ASCII (xn--) form.
    zoe = make_lead(email="info@xn--zo-ija.nl", domain="xn--zo-ija.nl", company="Zoë")
    cafe = make_lead(
        email="hallo@xn--caf-lumire-66ag.nl",
        url="https://www.xn--caf-lumire-66ag.nl/contact",
        domain="xn--caf-lumire-66ag.nl",
        company="Koffie",
    )
    make_lead(email="info@zoo.nl", domain="zoo.nl", company="Dierentuin")
    db.session.commit()
    client = login_as("manager")

    listed = client.get("/leads/?sort=email&direction=asc").text
    assert "info@zoë.nl" in listed and "hallo@café-lumière.nl" in listed
    assert "<td>zoë.nl</td>" in listed and "xn--" not in listed
    page = client.get(f"/leads/{cafe.id}").text
    assert '<h1 id="lead-heading">hallo@café-lumière.nl — Koffie</h1>' in page
    assert "https://www.café-lumière.nl/contact" in page and "xn--" not in page
    search = client.get("/leads/?q=zoë", headers={"HX-Request": "true"}).text
    assert "info@zoë.nl" in search and "zoo.nl" not in search

    api, headers = api_client("manager")

    def found(q: str) -> set[str]:
        answer = api.get("/api/v1/leads", query_string={"q": q}, headers=headers)
        return {item["email"] for item in answer.json["items"]}

    assert found("zoë") == found("ZOË.nl") == found("xn--zo-ija") == {zoe.email}
    assert found("info@zoë") == {zoe.email}
    assert found("lumière") == found("café-lumière.nl") == {cafe.email}


def test_look_alike_and_invalid_labels_stay_in_their_ascii_form() -> None:
    from webapp.services.leads import unicode_email, unicode_host, unicode_url

    assert unicode_host("xn--zo-ija.nl") == "zoë.nl"
    assert unicode_host("shop.xn--zo-ija.nl") == "shop.zoë.nl"
    assert (
        unicode_host("xn--pple-43d.com") == "xn--pple-43d.com"
    )  # "apple" with a Cyrillic first letter
    assert unicode_host("xn--i-7iq.ws") == "xn--i-7iq.ws"  # not valid IDNA 2008
    assert unicode_host(None) == "" and unicode_host("gewoon.nl") == "gewoon.nl"
    assert unicode_email("xn--info@xn--zo-ija.nl") == "xn--info@zoë.nl"
    assert unicode_url("xn--zo-ija.nl/pad?q=xn--x") == "zoë.nl/pad?q=xn--x"
    assert unicode_url("https://user@xn--zo-ija.nl:8443/") == "https://user@zoë.nl:8443/"


def test_the_results_fragment_is_the_content_of_the_page_s_swap_target(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    """Filter, sort, pager and bulk action all swap into #lead-results' inside; a fragment
    that brought its own #lead-results would nest a second one with every swap."""
    for n in range(55):
        make_lead(email=f"lead{n:02}@bakker.nl", list_name="noord")
    db.session.commit()
    client = login_as("marketer")

    page = client.get("/leads/?list_name=noord")
    assert page.text.count('id="lead-results"') == 1
    assert page.text.count('hx-target="#lead-results"') >= 3  # the filters, sorts, pager
    for url in ("/leads/?list_name=noord", "/leads/?sort=email&direction=desc", "/leads/?page=2"):
        fragment = client.get(url, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "lead" in fragment.text
        assert 'id="lead-results"' not in fragment.text, url
    assert 'id="leads-next"' in client.get("/leads/", headers={"HX-Request": "true"}).text
    bulk = client.post(
        "/leads/bulk",
        data={"csrf_token": client.csrf, "list_name": "noord", "action": "stop"},
        headers={"HX-Request": "true"},
    )
    assert "55 leads stopped." in bulk.text
    assert 'id="lead-results"' not in bulk.text
    assert 'hx-swap="outerHTML"' not in page.text + bulk.text  # it would replace the target


def test_bulk_actions_apply_to_the_filtered_selection(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    make_lead(email="a@een.nl", list_name="oud")
    make_lead(email="b@twee.nl", list_name="oud")
    other = make_lead(email="c@drie.nl", list_name="ander")
    db.session.commit()
    client = login_as("marketer")
    response = client.post(
        "/leads/bulk",
        data={"csrf_token": client.csrf, "list_name": "oud", "action": "stop"},
        headers={"HX-Request": "true"},
    )
    assert "2 leads stopped." in response.text
    client.post(
        "/leads/bulk",
        data={"csrf_token": client.csrf, "list_name": "oud", "action": "move", "target_list": "nw"},
    )
    db.session.expire_all()
    rows = db.session.execute(sa.select(Lead.email, Lead.stopped, Lead.list_name)).all()
    assert sorted(rows) == [
        ("a@een.nl", True, "nw"),
        ("b@twee.nl", True, "nw"),
        ("c@drie.nl", False, "ander"),
    ]
    assert other.stopped is False


def test_lists_show_counts_rename_and_delete_softly(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    make_lead(list_name="beurs")
    make_lead(list_name="beurs", stopped=True)
    db.session.commit()
    client = login_as("marketer")
    assert "beurs" in client.get("/leads/lists").text
    client.post(
        "/leads/lists/rename",
        data={"csrf_token": client.csrf, "name": "beurs", "new_name": "beurs 2026"},
    )
    client.post("/leads/lists/delete", data={"csrf_token": client.csrf, "name": "beurs 2026"})
    db.session.expire_all()
    leads = db.session.scalars(sa.select(Lead)).all()
    assert {x.list_name for x in leads} == {"beurs 2026"}
    assert all(x.deleted_at is not None for x in leads)


def test_the_lead_page_shows_history_and_acts(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(vars={"company": "X", "first_name": "{{ 7*7 }}"})
    campaign = make_campaign(name="Voorjaar")
    message = make_message(campaign, lead)
    make_event(message, "opened")
    queued = make_message(campaign, lead, mail_number=2)
    db.session.commit()
    client = login_as("marketer")
    page = client.get(f"/leads/{lead.id}").text
    assert "Voorjaar" in page and "opened" in page and "{{ 7*7 }}" in page
    client.post(f"/leads/{lead.id}/stop", data={"csrf_token": client.csrf})
    client.post(f"/leads/{lead.id}/delete", data={"csrf_token": client.csrf})
    client.post(
        f"/leads/{lead.id}/suppress", data={"csrf_token": client.csrf, "reason": "complaint"}
    )
    db.session.expire_all()
    assert (lead.stopped, lead.deleted_at is not None, lead.status) == (True, True, "suppressed")
    assert queued.status == "canceled"
    client.post(f"/leads/{lead.id}/restore", data={"csrf_token": client.csrf})
    client.post(f"/leads/{lead.id}/unstop", data={"csrf_token": client.csrf})
    db.session.expire_all()
    assert (lead.stopped, lead.deleted_at, lead.status) == (False, None, "suppressed")


def edit_lead(client: FlaskClient, lead: Lead, **fields: str) -> Any:
    data = {"email": lead.email, "company": lead.company or "", "url": lead.url or "", **fields}
    data["csrf_token"] = client.csrf  # type: ignore[attr-defined]
    return client.post(f"/leads/{lead.id}/edit", data=data)


def test_a_marketer_edits_a_lead_and_its_page_is_headed_by_the_person(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(
        email="info@bakkerij-jansn.nl", company="Bakkerij Jansn", vars={"sector": "bakker"}
    )
    db.session.commit()
    client = login_as("marketer")
    page = client.get(f"/leads/{lead.id}").text
    assert '<h1 id="lead-heading">info@bakkerij-jansn.nl — Bakkerij Jansn</h1>' in page
    assert 'id="lead-form"' in page and 'name="var:first_name"' in page

    response = edit_lead(
        client,
        lead,
        email=" Anne@Bakkerij-Jansen.NL ",
        company="Bakkerij Jansen",
        url="https://www.bakkerij-jansen.nl/",
        **{"var:first_name": "Anne", "var:last_name": "de Vries", "var:city": "Utrecht"},
        **{"var:sector": "", "new_var_name": "Branche", "new_var_value": "brood"},
    )

    assert response.status_code == 303
    db.session.expire_all()
    assert (lead.email, lead.company, lead.domain) == (
        "anne@bakkerij-jansen.nl",
        "Bakkerij Jansen",
        "bakkerij-jansen.nl",
    )
    assert lead.vars == {
        "company": "Bakkerij Jansen",
        "url": "https://www.bakkerij-jansen.nl/",
        "first_name": "Anne",
        "last_name": "de Vries",
        "city": "Utrecht",
        "branche": "brood",
    }
    page = client.get(f"/leads/{lead.id}").text
    assert '<h1 id="lead-heading">Anne de Vries — Bakkerij Jansen</h1>' in page
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "lead.edited")
    ).one()
    assert event.subject_id == lead.id and event.user_id == client.user.id  # type: ignore[attr-defined]
    assert event.details["previous_email"] == "info@bakkerij-jansn.nl"
    assert {"email", "company", "url", "var:first_name", "var:sector"} <= set(
        event.details["fields"]
    )


def test_bad_lead_fields_are_refused_next_to_each_field_and_nothing_is_saved(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@klant.nl", company="Klant")
    make_lead(email="piet@klant.nl")
    db.session.commit()
    client = login_as("marketer")

    taken = edit_lead(client, lead, email="Piet@klant.nl", url="ftp://klant.nl", company="Nieuw")
    invalid = edit_lead(client, lead, email="geen adres", url="https://", new_var_name="+")
    script = edit_lead(client, lead, url="java\tscript:alert(1)")
    assert script.status_code == 422 and 'id="url-error"' in script.text

    assert taken.status_code == invalid.status_code == 422
    assert 'id="email-error"' in taken.text and "another lead has this address" in taken.text
    assert 'id="url-error"' in taken.text and "http:// or https://" in taken.text
    assert 'aria-invalid="true" aria-describedby="email-error"' in taken.text
    assert 'value="Nieuw"' in taken.text  # what was typed stays in the form
    assert 'id="email-error"' in invalid.text and 'id="url-error"' in invalid.text
    assert 'id="new_var_name-error"' in invalid.text
    db.session.expire_all()
    assert (lead.email, lead.company) == ("jan@klant.nl", "Klant")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_corrected_address_that_said_no_makes_the_lead_suppressed(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@klant.nl")
    db.session.add(Suppression(email="jan.jansen@klant.nl", reason="unsubscribed"))
    db.session.commit()

    edit_lead(login_as("marketer"), lead, email="jan.jansen@klant.nl")

    db.session.expire_all()
    assert (lead.email, lead.status) == ("jan.jansen@klant.nl", "suppressed")


def test_a_manager_sees_a_lead_without_the_form_and_cannot_edit_it(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@klant.nl", vars={"voornaam": "Jan", "achternaam": "Jansen"})
    db.session.commit()
    client = login_as("manager")

    page = client.get(f"/leads/{lead.id}").text
    refused = edit_lead(client, lead, company="Anders")

    assert f'<h1 id="lead-heading">Jan Jansen — {lead.company}</h1>' in page
    assert 'id="lead-form"' not in page and 'id="lead-fields"' in page
    assert refused.status_code == 403
    db.session.expire_all()
    assert lead.company != "Anders"


def test_the_export_is_excel_safe(app: Flask, login_as: Callable[[str], FlaskClient]) -> None:
    make_lead(
        email="a@formule.nl", company='=HYPERLINK("http://x")', vars={"tel": "+31 6", "n": "@x"}
    )
    make_lead(email="b@tab.nl", company="\tverborgen", vars={"cr": "\rx", "min": "-1"})
    db.session.commit()
    client = login_as("manager")
    response = client.get("/leads/export.csv?sort=email&direction=asc", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeffemail,company,")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0]["company"] == '\'=HYPERLINK("http://x")'
    assert (rows[0]["tel"], rows[0]["n"]) == ("'+31 6", "'@x")
    assert rows[1]["company"] == "'\tverborgen"
    assert (rows[1]["cr"], rows[1]["min"]) == ("'\rx", "'-1")


# -- the API ----------------------------------------------------------------------------


def test_api_import_returns_the_summary(app: Flask, api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("marketer")
    response = client.post(
        "/api/v1/leads/import",
        data={"file": upload("quoted_newlines.csv"), "list_name": "api"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json["created"] == 2 and response.json["skipped"] == 1
    assert response.json["errors"][0]["line"] == 5
    assert response.json["duplicates"] == []
    twice = client.post(
        "/api/v1/leads/import",
        data={"file": upload("duplicates.csv"), "list_name": "api"},
        headers=headers,
    )
    assert twice.json["duplicates"][0] == {"line": 3, "kept_line": 2, "email": "info@dubbel.nl"}
    missing = client.post(
        "/api/v1/leads/import",
        data={"file": upload("missing_email_column.csv"), "list_name": "api"},
        headers=headers,
    )
    assert missing.status_code == 422
    assert "no e-mail column" in missing.json["error"]["fields"]["file"]
    no_list = client.post("/api/v1/leads/import", data={"file": upload("tab.csv")}, headers=headers)
    assert no_list.status_code == 422 and "list_name" in no_list.json["error"]["fields"]


def test_api_import_refuses_rows_whose_url_is_not_a_web_address(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    data = io.BytesIO(
        b"email;company;url\n"
        b"a@klant.nl;A;javascript:alert(document.cookie)\n"
        b'b@klant.nl;B;"java\tscript:alert(1)"\n'
        b"c@klant.nl;C;data:text/html,<script>x</script>\n"
        b"d@klant.nl;D;https://www.klant.nl\n"
        b"e@klant.nl;E;www.e-klant.nl\n"
        b"f@klant.nl;F;klant.nl:8080/shop\n"
    )
    response = client.post(
        "/api/v1/leads/import",
        data={"file": (data, "leads.csv"), "list_name": "api"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json["created"] == 3
    assert [e["line"] for e in response.json["errors"]] == [2, 3, 4]
    assert all("url" in e["message"] and "http" in e["message"] for e in response.json["errors"])
    urls = set(db.session.scalars(sa.select(Lead.url)))
    assert urls == {"https://www.klant.nl", "www.e-klant.nl", "klant.nl:8080/shop"}


def test_api_import_takes_a_mapping_and_names_it_when_it_cannot_be_used(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")

    def post(mapping: str) -> Any:
        data = io.BytesIO(b"Mail;Klant;Contact\neva@klant.nl;Klant BV;Eva\n")
        return client.post(
            "/api/v1/leads/import",
            data={"file": (data, "klant.csv"), "list_name": "api", "mapping": mapping},
            headers=headers,
        )

    for bad in ("{not json", '{"Klantnaam": "company"}', '{"Klant": "url", "Contact": "url"}'):
        refused = post(bad)
        assert refused.status_code == 422, bad
        assert set(refused.json["error"]["fields"]) == {"mapping"}, bad
    assert "no column 'Klantnaam'" in post('{"Klantnaam": "company"}').json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0

    response = post('{"Klant": "company", "Contact": "first_name"}')
    assert response.status_code == 200, response.text
    assert response.json["created"] == 1
    lead = db.session.scalars(sa.select(Lead)).one()
    assert (lead.company, lead.vars["first_name"]) == ("Klant BV", "Eva")


def test_api_import_of_an_image_is_a_422_naming_the_file(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    response = client.post(
        "/api/v1/leads/import",
        data={"file": (io.BytesIO(PNG), "leads.png"), "list_name": "api"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"]["file"].startswith("This looks like a PNG image")


def test_api_lists_shows_stops_and_deletes_leads(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    lead = make_lead(email="api@lead.nl", list_name="a", vars={"company": "C", "x": "1"})
    make_lead(list_name="b")
    db.session.commit()
    client, headers = api_client("marketer")
    listed = client.get("/api/v1/leads?list_name=a&per_page=10", headers=headers).json
    assert (listed["total"], listed["page"], listed["per_page"]) == (1, 1, 10)
    item = listed["items"][0]
    assert set(item) == {
        "id", "email", "company", "url", "domain", "status", "list_name", "stopped",
        "deleted_at", "last_emailed_at", "created_at", "vars",
    }  # fmt: skip
    assert item["created_at"].endswith("+00:00")
    assert client.get(f"/api/v1/leads/{lead.id}", headers=headers).json["vars"]["x"] == "1"
    assert client.post(f"/api/v1/leads/{lead.id}/stop", headers=headers).json["stopped"] is True
    deleted = client.delete(f"/api/v1/leads/{lead.id}", headers=headers).json
    assert deleted["deleted_at"] is not None
    assert client.get("/api/v1/leads?list_name=a", headers=headers).json["total"] == 0
    assert client.get("/api/v1/leads/nope", headers=headers).status_code == 404
    assert client.get("/api/v1/leads?status=gone", headers=headers).status_code == 422


def test_cli_imports_and_prints_the_summary(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["leads", "import", str(FIXTURES / "utf8_bom.csv"), "--list", "cli"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "errors": [],
        "duplicates": [],
    }  # fmt: skip
    again = runner.invoke(args=["leads", "import", str(FIXTURES / "utf8_bom.csv"), "--list", "cli"])
    assert json.loads(again.output)["unchanged"] == 2
    bad = runner.invoke(args=["leads", "import", str(FIXTURES / "empty.csv"), "--list", "cli"])
    assert bad.exit_code != 0 and "the file is empty" in bad.output


def test_the_lead_pages_speak_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@slager.nl", list_name="noord", stopped=True)
    message = make_message(make_campaign(name="Voorjaar"), lead, status="sent")
    make_event(message, "opened")
    make_lead(email="piet@slager.nl", list_name="noord", status="bounced")
    db.session.commit()
    client = login_as("marketer")

    index = client.get("/leads/").text
    assert '<html lang="nl">' in index
    assert "Leads importeren" in index and "Alle lijsten" in index and "Elke status" in index
    assert "2 leads" in index and "CSV exporteren" in index and "Laatst gemaild" in index
    # Statuses read in Dutch; the badge's class keeps the stored value.
    assert 'class="badge badge-lead-bounced" data-status="bounced">gebounced<' in index
    assert ">gestopt<" in index and "Alle 2 stoppen" in index
    assert "Dit toepassen op alle 2 leads van de selectie?" in index

    page = client.get(f"/leads/{lead.id}").text
    assert ">actief<" in page and "Hervatten" in page and "Uitsluiten" in page
    assert ">handmatig<" in page and ">harde bounce<" in page
    assert ">verzonden<" in page and "geopend" in page and "Berichten" in page
    stopped = client.post(f"/leads/{lead.id}/unstop", data={"csrf_token": client.csrf})
    assert "jan@slager.nl is niet meer gestopt." in client.get(stopped.headers["Location"]).text

    lists = client.get("/leads/lists").text
    assert "Hernoemen" in lists and "De 2 leads van noord verwijderen?" in lists
    renamed = client.post(
        "/leads/lists/rename",
        data={"csrf_token": client.csrf, "name": "noord", "new_name": "zuid"},
        headers={"HX-Request": "true"},
    )
    assert "noord is hernoemd (2 leads)." in renamed.text

    bulk = client.post(
        "/leads/bulk",
        data={"csrf_token": client.csrf, "action": "stop", "list_name": "zuid"},
        headers={"HX-Request": "true"},
    )
    assert "2 leads gestopt." in bulk.text

    assert ">Voorbeeld</button>" in client.get("/leads/import").text


def test_an_import_reports_in_dutch_with_the_file_name_escaped(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    preview = client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": upload("cp1252_semicolon.csv"), "list_name": ""},
        headers={"HX-Request": "true"},
    )
    assert "scheidingsteken" in preview.text and "Lijstnaam" in preview.text
    assert 'value="semicolon" selected>puntkomma</option>' in preview.text
    assert "een variabele voor sjablonen (<code>{{ name }}</code>)" in preview.text
    job = db.session.scalars(sa.select(ImportJob)).one()

    done = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "<b>Oost</b>"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200, done.text
    assert (
        "<strong>cp1252_semicolon.csv</strong> importeren in lijst "
        "<strong>&lt;b&gt;Oost&lt;/b&gt;</strong>:"
    ) in done.text
    assert 'data-status="done">klaar<' in done.text and "nieuw" in done.text


def test_the_lead_templates_leave_no_text_untranslated() -> None:
    from tests.support.untranslated import ROOT, untranslated_in_python, untranslated_in_template

    templates = sorted((ROOT / "templates" / "leads").glob("*.html"))
    routes = sorted((ROOT / "webapp" / "web" / "leads").glob("*.py"))
    assert templates and routes
    found = [text for path in templates for text in untranslated_in_template(path)]
    found += [text for path in routes for text in untranslated_in_python(path)]
    assert found == []


# -- long work outside the request ------------------------------------------------------


def _wait_for_import(client: FlaskClient, status_url: str, headers: dict[str, str]) -> Any:
    """Poll the status URL, as an API client does, until the import has ended."""
    while True:
        db.session.expire_all()
        status = client.get(status_url, headers=headers)
        assert status.status_code == 200, status.text
        if status.json["status"] in ("done", "failed"):
            return status.json


def test_a_large_api_import_answers_202_and_runs_as_a_job(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 200)
    client, headers = api_client("marketer")
    lines = ["E-mailadres;Klant;Contact"]
    lines += [f"info{i}@groot{i}.nl;Groot {i};Eva" for i in range(2_500)]
    lines += ["geen adres;Kapot;Jan", "info7@groot7.nl;Nog eens;Piet"]
    data = io.BytesIO("\n".join(lines).encode())
    response = client.post(
        "/api/v1/leads/import",
        data={
            "file": (data, "groot.csv"),
            "list_name": "groot",
            "mapping": '{"Contact": "first_name"}',
        },
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert set(response.json) == {"job_id", "status_url"}
    assert response.json["status_url"] == f"/api/v1/imports/{response.json['job_id']}"
    assert response.headers["Location"] == response.json["status_url"]

    status = _wait_for_import(client, response.json["status_url"], headers)
    assert status["status"] == "done", status
    summary = status["summary"]
    assert (summary["created"], summary["skipped"]) == (2_500, 2)
    assert summary["errors"][0]["line"] == 2_502
    assert summary["duplicates"] == [{"line": 2_503, "kept_line": 9, "email": "info7@groot7.nl"}]
    assert status["processed_rows"] == 2_502
    lead = db.session.scalars(sa.select(Lead).where(Lead.email == "info7@groot7.nl")).one()
    assert lead.list_name == "groot"
    assert (lead.vars["klant"], lead.vars["first_name"]) == ("Groot 7", "Eva")
    # The upload is gone once imported, here and in the database.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportUpload)) == 0


def test_a_large_api_import_is_checked_before_it_is_queued(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 10)
    client, headers = api_client("marketer")

    def post(content: bytes, mapping: str = "") -> Any:
        return client.post(
            "/api/v1/leads/import",
            data={"file": (io.BytesIO(content), "x.csv"), "list_name": "x", "mapping": mapping},
            headers=headers,
        )

    bad_mapping = post(b"Mail;Klant\neva@klant.nl;Klant BV\n", '{"Klantnaam": "company"}')
    assert bad_mapping.status_code == 422
    assert set(bad_mapping.json["error"]["fields"]) == {"mapping"}
    no_email = post(b"Naam;Klant\nEva;Klant BV\n")
    assert no_email.status_code == 422
    assert "no e-mail column" in no_email.json["error"]["fields"]["file"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0
    assert client.get("/api/v1/imports/nope", headers=headers).status_code == 404


def test_an_api_import_job_reports_its_summary_to_any_api_user(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 10)
    client, headers = api_client("marketer")
    lines = ["email"] + [f"info{i}@kapot.nl" for i in range(5)] + ['"open quote'] + ["x"] * 3
    response = client.post(
        "/api/v1/leads/import",
        data={"file": (io.BytesIO("\n".join(lines).encode()), "k.csv"), "list_name": "k"},
        headers=headers,
    )
    assert response.status_code == 202
    status = _wait_for_import(client, response.json["status_url"], headers)
    assert status["status"] == "done"
    assert status["summary"]["created"] == 5
    manager, manager_headers = api_client("manager")
    seen = manager.get(response.json["status_url"], headers=manager_headers)
    assert seen.status_code == 200 and seen.json["summary"]["created"] == 5


def test_the_page_refuses_a_file_of_thousands_of_columns_with_a_short_answer(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    header = ";".join(["email", *(f"k{i}" for i in range(3_999))])
    data = io.BytesIO((header + "\ninfo@breed.nl" + ";x" * 3_999 + "\n").encode())
    response = client.post(
        "/leads/import/preview", data={"csrf_token": client.csrf, "file": (data, "breed.csv")}
    )
    assert response.status_code == 422
    assert "more than 200 columns" in response.text
    assert len(response.data) < 20_000


def test_the_leads_export_streams_as_it_reads(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    for i in range(2_500):
        make_lead(email=f"lead{i:04d}@stroom.nl", company=f"Stroom {i}", vars={"plaats": "Ede"})
    db.session.commit()
    client = login_as("manager")

    def reading_sessions() -> list[str]:
        """What the other sessions on this database last ran, while in a transaction."""
        with db.engine.connect() as connection:
            return list(
                connection.scalars(
                    sa.text(
                        "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                    )
                )
            )

    def read_export() -> tuple[Any, bytes, list[str], list[bytes]]:
        # Read as a WSGI server does, in the request's own context (the test client would
        # otherwise run the request in a context of its own and read it from the test's).
        response = FlaskClient.open(client, "/leads/export.csv?sort=email&direction=asc")
        try:
            pieces = iter(response.response)
            assert not isinstance(response.response, (list, bytes))  # a generator
            first = next(pieces)
            return response, first, reading_sessions(), list(pieces)
        finally:
            response.close()  # ends the request, and with it the export's transaction

    response, first, while_reading, rest = contextvars.Context().run(read_export)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="leads-')
    # The first bytes leave while the leads are still being read: a server-side cursor is
    # open on the export's connection, fetched a chunk at a time.
    assert 0 < first.count(b"\r\n") < 2_500
    assert any(query.startswith("FETCH FORWARD") for query in while_reading), while_reading
    chunks = [first, *rest]
    body = b"".join(chunks).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [row["email"] for row in rows] == [f"lead{i:04d}@stroom.nl" for i in range(2_500)]
    assert rows[-1]["plaats"] == "Ede" and rows[-1]["company"] == "Stroom 2499"


def test_the_list_pages_by_cursor_and_a_bad_cursor_shows_the_first_page(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    for n in range(55):
        make_lead(email=f"lead{n:02}@pagina.nl", list_name="pagina")
    db.session.commit()
    client = login_as("marketer")

    first = client.get("/leads/?list_name=pagina&sort=email&direction=asc")
    assert "lead00@pagina.nl" in first.text and "lead50@pagina.nl" not in first.text
    assert 'rel="prev"' not in first.text
    next_link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "cursor=" in next_link and "page=" not in next_link
    second = client.get(next_link.replace("&amp;", "&"))
    assert "lead50@pagina.nl" in second.text and "lead49@pagina.nl" not in second.text
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert "55 leads" in second.text  # the first page's count, carried along

    for bad in ("garbage", "eyJub3QiOiJ5b3VycyJ9"):
        fallback = client.get(f"/leads/?list_name=pagina&sort=email&direction=asc&cursor={bad}")
        assert fallback.status_code == 200
        assert "lead00@pagina.nl" in fallback.text and 'rel="prev"' not in fallback.text
    # `page` is still understood.
    assert (
        "lead50@pagina.nl"
        in client.get("/leads/?list_name=pagina&sort=email&direction=asc&page=2").text
    )


def test_the_api_pages_by_cursor_and_refuses_a_bad_one(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    for n in range(7):
        make_lead(email=f"lead{n}@api-pagina.nl", list_name="api")
    db.session.commit()
    client, headers = api_client("manager")

    seen: list[str] = []
    url = "/api/v1/leads?list_name=api&sort=email&direction=asc&per_page=3"
    body = client.get(url, headers=headers).json
    assert (body["total"], body["previous_cursor"]) == (7, None)
    while True:
        seen += [item["email"] for item in body["items"]]
        if not body["next_cursor"]:
            break
        body = client.get(f"{url}&cursor={body['next_cursor']}", headers=headers).json
    assert seen == [f"lead{n}@api-pagina.nl" for n in range(7)]
    by_number = client.get(f"{url}&page=3", headers=headers).json
    assert [item["email"] for item in by_number["items"]] == ["lead6@api-pagina.nl"]

    refused = client.get(f"{url}&cursor=bm9wZQ", headers=headers)
    assert refused.status_code == 422
    assert "cursor" in refused.json["error"]["fields"]


def test_the_leads_export_is_the_same_file_as_before_the_rows_were_streamed(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    """Streaming plain rows by parts changed nothing in the file: the same bytes as the
    leads, loaded whole and sorted with NULLs last, give."""
    from webapp.services.leads import DUTCH_CSV, ENGLISH_CSV, in_chunks, lead_export

    now = utcnow()
    for n in range(30):
        make_lead(
            email=f"lead{n:02}@zelfde.nl",
            company=None if n % 4 == 0 else f"=Zaak {n % 5}",
            last_emailed_at=None if n % 3 else now - timedelta(days=n),
            stopped=n % 2 == 0,
            vars={"company": "x", "plaats": "Ede", "score": 3.5} if n % 2 else {"plaats": "Ede"},
        )
    db.session.commit()
    client = login_as("manager")
    for sort, direction in (("company", "desc"), ("emailed", "asc"), ("created", "desc")):
        column = {"company": Lead.company, "emailed": Lead.last_emailed_at}.get(
            sort, Lead.created_at
        )
        order = (column.desc() if direction == "desc" else column.asc()).nulls_last()
        tiebreak = Lead.id.desc() if direction == "desc" else Lead.id.asc()
        leads = db.session.scalars(sa.select(Lead).order_by(order, tiebreak)).all()
        for language, style in (("en", ENGLISH_CSV), ("nl", DUTCH_CSV)):
            expected = b"".join(in_chunks(lead_export(leads, style)))
            answer = client.get(
                f"/leads/export.csv?sort={sort}&direction={direction}",
                headers={"Accept-Language": language},
            )
            assert answer.data == expected, (sort, direction, language)


def test_the_api_total_stays_exact_past_the_page_count_cap(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page stops counting past the cap; scripts get the exact number all the same."""
    monkeypatch.setattr("webapp.services.leads.paging.COUNT_CAP", 4)
    monkeypatch.setattr("webapp.services.leads.manage.COUNT_CAP", 4)
    for n in range(9):
        make_lead(email=f"lead{n}@telling.nl", list_name="telling")
    db.session.commit()
    client, headers = api_client("manager")
    body = client.get("/api/v1/leads?list_name=telling&per_page=2", headers=headers).json
    assert body["total"] == 9 and len(body["items"]) == 2
