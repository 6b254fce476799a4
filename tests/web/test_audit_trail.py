"""The audit trail page: who reads it, what a row says, filters, paging by position, export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.services.audit import AuditAction
from webapp.services.audit_trail import TrailCursor, TrailFilter, list_events
from webapp.web.audit.presenting import OTHER_AREA, SENTENCES, area_of

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam


def record(
    action: str,
    user: Any = None,
    at: datetime = START,
    subject_type: str = "campaign",
    subject_id: str | None = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        user_id=user.id if user is not None else None,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
        created_at=at,
    )
    db.session.add(event)
    return event


def many(count: int, user: Any = None, action: str = "campaign.start") -> list[AuditEvent]:
    """`count` events a minute apart, the newest last, all committed."""
    made = [record(action, user, START + timedelta(minutes=n)) for n in range(count)]
    db.session.commit()
    return made


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="audit-([0-9a-f]+)"', html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def fragment(client: FlaskClient, url: str) -> Any:
    return client.get(url, headers={"HX-Request": "true"})


@pytest.mark.parametrize(("role", "allowed"), [("admin", 200), ("manager", 200), ("marketer", 403)])
def test_admins_and_managers_read_the_trail_and_marketers_are_refused(
    role: str, allowed: int, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as(role)
    assert ('href="/audit/"' in client.get("/").text) == (allowed == 200)
    page = client.get("/audit/")
    assert page.status_code == allowed
    assert client.get("/audit/export.csv").status_code == allowed
    if allowed == 403:
        assert "As a marketer you can" in page.text


def test_a_row_says_when_who_what_and_links_what_still_exists(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient], make_user: Any
) -> None:
    jan = make_user("marketer")
    jan.name = "Jan de Vries"
    campaign = make_campaign(name="Voorjaar")
    lead = make_lead(email="eva@bakker.nl")
    db.session.flush()
    record("campaign.start", jan, START, "campaign", campaign.id, messages=1234)
    record("campaign.created", None, START, "campaign", "f" * 32, name="Weggegooid")
    record("lead.stopped", jan, START, "lead", lead.id)
    record("domain.updated", jan, START, "sending_domain", "e" * 32, smtp_password="hunter2")
    record("leads.bulk_move", jan, START, "lead", None, count=3, filter={"list_name": "Oud"})
    db.session.commit()

    page = login_as("manager").get("/audit/").text
    assert "02-03-2026 10:00" in page  # Amsterdam time, the Dutch way
    assert "Jan de Vries" in page and ">systeem<" in page
    assert "Startte een campagne" in page and "<code>campaign.start</code>" in page
    assert f'<a href="/campaigns/{campaign.id}">Voorjaar</a>' in page
    assert "Weggegooid (verdwenen)" in page and "/campaigns/" + "f" * 32 not in page
    assert f'<a href="/leads/{lead.id}">eva@bakker.nl</a>' in page
    assert '<a href="/leads/?list_name=Oud">Geselecteerde leads</a>' in page
    assert "1.234" in page  # a count as a number, in Dutch
    assert "hunter2" not in page and "gewijzigd" in page  # never a secret
    table = page[page.index('id="audit-table"') :]
    assert "{" not in table and "Lijst: Oud" in table  # details in words, not JSON


def test_filters_combine_and_survive_paging(
    app: Flask, login_as: Callable[[str], FlaskClient], make_user: Any
) -> None:
    anna, bram = make_user("admin"), make_user("marketer")
    for day in range(3):
        moment = START + timedelta(days=day)
        for n in range(30):
            record("campaign.start", anna, moment + timedelta(seconds=n))
            record("campaign.stop", anna, moment + timedelta(seconds=n))
            record("campaign.start", bram, moment + timedelta(seconds=n))
    db.session.commit()
    client = login_as("manager")

    url = f"/audit/?user_id={anna.id}&action=campaign.start&since=2026-03-03&until=2026-03-04"
    first = fragment(client, url)
    assert first.status_code == 200 and "<html" not in first.text
    expected = set(
        db.session.scalars(
            sa.select(AuditEvent.id).where(
                AuditEvent.user_id == anna.id,
                AuditEvent.action == "campaign.start",
                AuditEvent.created_at >= START + timedelta(days=1) - timedelta(hours=10),
            )
        )
    )
    assert len(expected) == 60
    seen = row_ids(first.text)
    assert len(seen) == 50
    following = link(first.text, "next")
    assert following is not None
    for part in (f"user_id={anna.id}", "action=campaign.start", "since=2026-03-03"):
        assert part in following  # the filter travels with the page links
    second = fragment(client, following)
    seen += row_ids(second.text)
    assert link(second.text, "next") is None
    assert set(seen) == expected and len(seen) == 60
    export = f"/audit/export.csv?user_id={anna.id}&amp;action=campaign.start"
    assert export in first.text

    # The person filter offers "the system", which means events nobody caused by hand.
    record("domain.paused", None, START, "sending_domain", None, reason="bounces")
    db.session.commit()
    system = fragment(client, "/audit/?user_id=system")
    assert len(row_ids(system.text)) == 1 and "domain.paused" in system.text


def test_a_bad_filter_is_named_and_answered_422(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("admin")
    page = client.get("/audit/?since=gisteren&action=campaign.explode")
    assert page.status_code == 422
    assert 'id="audit-since-error"' in page.text and 'id="audit-action-error"' in page.text
    assert 'value="gisteren"' in page.text  # what was typed stays
    backwards = fragment(client, "/audit/?since=2026-03-05&until=2026-03-01")
    assert backwards.status_code == 422 and 'id="audit-until-error"' in backwards.text
    assert client.get("/audit/export.csv?until=2026-13-45").status_code == 422
    # A mangled page link leads to the first page, not to an error.
    assert client.get("/audit/?cursor=bm9wZQ").status_code == 200


def test_paging_by_position_is_stable_while_new_events_arrive(app: Flask) -> None:
    made = many(130)
    newest_first = [event.id for event in reversed(made)]
    first = list_events(TrailFilter())
    assert [e.event.id for e in first.items] == newest_first[:50]
    assert first.previous_cursor is None and first.next_cursor is not None

    # Twenty more arrive while someone reads page one.
    for n in range(20):
        record("campaign.pause", None, START + timedelta(days=1, minutes=n))
    db.session.commit()

    second = list_events(TrailFilter(), TrailCursor.decode(first.next_cursor))
    assert [e.event.id for e in second.items] == newest_first[50:100]
    third = list_events(TrailFilter(), TrailCursor.decode(second.next_cursor or ""))
    assert [e.event.id for e in third.items] == newest_first[100:]
    assert third.next_cursor is None
    back = list_events(TrailFilter(), TrailCursor.decode(second.previous_cursor or ""))
    assert [e.event.id for e in back.items] == newest_first[:50]
    assert back.previous_cursor is not None  # the twenty new ones are before it now
    newer = list_events(TrailFilter(), TrailCursor.decode(back.previous_cursor))
    assert len(newer.items) == 20 and newer.previous_cursor is None


def test_events_of_the_same_moment_are_each_shown_once(app: Flask) -> None:
    made = [record("campaign.start", None, START) for _ in range(7)]
    db.session.commit()
    seen: list[str] = []
    cursor = None
    while True:
        page = list_events(TrailFilter(), cursor, per_page=3)
        seen += [e.event.id for e in page.items]
        if page.next_cursor is None:
            break
        cursor = TrailCursor.decode(page.next_cursor)
    assert sorted(seen) == sorted(e.id for e in made) and len(seen) == 7


def csv_rows(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


def test_the_export_holds_exactly_the_filtered_events_and_no_formulas(
    app: Flask, login_as: Callable[[str], FlaskClient], make_user: Any
) -> None:
    evil = make_user("marketer")
    evil.name = '=HYPERLINK("http://evil.example","klik")'
    wanted = [
        record(
            "leads.imported",
            evil,
            START + timedelta(hours=n),
            "lead_list",
            None,
            filename="@SUM(1+1).csv",
            list_name="+31 lijst",
            created=n,
        )
        for n in range(5)
    ]
    record("leads.imported", evil, START - timedelta(days=3), "lead_list", None)
    record("campaign.start", evil, START)
    db.session.commit()

    client = login_as("admin")
    response = client.get(
        f"/audit/export.csv?action=leads.imported&since=2026-03-01&user_id={evil.id}"
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="audit-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"]
    )
    rows = csv_rows(response.text)
    assert len(rows) == 5
    assert [row["time"] for row in rows] == [
        f"2026-03-02 {10 + n:02d}:00:00" for n in reversed(range(5))
    ]
    assert {row["action"] for row in rows} == {"leads.imported"}
    assert rows[0]["description"] == "Imported a lead file"
    assert rows[0]["person"].startswith("'=HYPERLINK")  # defused
    assert rows[0]["subject"] == "'+31 lijst (gone)"  # no lead is on that list any more
    assert rows[0]["details"].startswith("File: @SUM")  # starts with a word, so it is safe
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert {row["subject_type"] for row in rows} == {"lead_list"} and len(wanted) == 5


def test_every_action_has_a_sentence_and_an_area(app: Flask) -> None:
    for action in AuditAction:
        assert action in SENTENCES, action
        assert area_of(action.value) != str(OTHER_AREA), action
