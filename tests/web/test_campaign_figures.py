"""The campaigns list, the API and the campaign page show the stored figures, and those equal
the plain aggregates (audience size = lead ids in the snapshot; finishes_at = the latest
scheduled_at of a queued or sending message) after any changes; messages page by keyset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Message
from webapp.services.campaigns import (
    MessageCursor,
    last_due_by_campaign,
    list_messages,
    progress_by_campaign,
)
from webapp.services.errors import InvalidInput

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
STATUSES = ["queued", "sending", "sent", "opened", "failed", "canceled", "uncertain"]


def plain_audience_sizes() -> dict[str, int]:
    rows = db.session.execute(sa.select(CampaignAudience.campaign_id, CampaignAudience.lead_ids))
    return {campaign_id: len(lead_ids) for campaign_id, lead_ids in rows}


def stored_audience_sizes() -> dict[str, int]:
    rows = db.session.execute(sa.select(CampaignAudience.campaign_id, CampaignAudience.lead_count))
    return {row[0]: row[1] for row in rows}


def plain_finishes_at() -> dict[str, datetime]:
    rows = db.session.execute(
        sa.select(Message.campaign_id, sa.func.max(Message.scheduled_at))
        .where(Message.status.in_(("queued", "sending")))
        .group_by(Message.campaign_id)
    )
    return {row[0]: row[1] for row in rows}


# -- the stored audience size and finishes_at, after random changes ------------------------

slot = st.integers(0, 5)
operations = st.one_of(
    st.tuples(st.just("snapshot"), slot, st.integers(0, 6)),
    st.tuples(st.just("resnapshot_sql"), slot, st.integers(0, 6)),
    st.tuples(st.just("drop_snapshot"), slot),
    st.tuples(st.just("message"), slot, st.sampled_from(STATUSES), st.integers(0, 500)),
    st.tuples(st.just("status"), slot, st.sampled_from(STATUSES)),
    st.tuples(st.just("reschedule"), slot, st.integers(-100, 500)),
    st.tuples(st.just("delete_message"), slot),
)


def _apply(op: tuple[Any, ...], campaigns: list[Campaign], leads: list[Any]) -> None:
    kind, index = op[0], op[1]
    campaign = campaigns[index % len(campaigns)]
    messages = list(
        db.session.execute(
            sa.select(Message).where(Message.campaign_id == campaign.id).order_by(Message.id)
        ).scalars()
    )
    if kind == "snapshot":
        audience = campaign.audience or CampaignAudience(campaign_id=campaign.id)
        audience.lead_ids = [lead.id for lead in leads[: op[2]]]
        campaign.audience = audience
    elif kind == "resnapshot_sql":
        ids = [lead.id for lead in leads[: op[2]]]
        table = CampaignAudience.__table__
        db.session.execute(
            sa.update(table).where(table.c.campaign_id == campaign.id).values(lead_ids=ids)
        )
    elif kind == "drop_snapshot":
        db.session.execute(
            sa.delete(CampaignAudience).where(CampaignAudience.campaign_id == campaign.id)
        )
    elif kind == "message":
        # The first (lead, mail number) the campaign has no message for: after a delete,
        # counting the messages would give one that exists.
        used = {(m.lead_id, m.mail_number) for m in messages}
        free = (
            (leads[k % len(leads)], 1 + k // len(leads))
            for k in range(4 * len(leads))
            if (leads[k % len(leads)].id, 1 + k // len(leads)) not in used
        )
        found = next(free, None)
        if found is not None:
            lead, number = found
            make_message(campaign, lead, status=op[2], mail_number=number,
                         scheduled_at=START + timedelta(minutes=op[3]))  # fmt: skip
    elif messages and kind == "status":
        messages[0].status = op[2]
    elif messages and kind == "reschedule":
        messages[-1].scheduled_at = START + timedelta(minutes=op[2])
    elif messages and kind == "delete_message":
        db.session.delete(messages[0])
    db.session.flush()
    db.session.expire_all()


def run_sequence(ops: list[tuple[Any, ...]]) -> None:
    try:
        template = make_template()
        campaigns = [make_campaign(template_id=template.id) for _ in range(3)]
        leads = [make_lead() for _ in range(6)]
        for op in ops:
            _apply(op, campaigns, leads)
            assert stored_audience_sizes() == plain_audience_sizes(), op
            ids = [c.id for c in campaigns]
            expected = plain_finishes_at()
            assert last_due_by_campaign(ids) == expected, op
            progress = progress_by_campaign(ids)
            assert {i: p["finishes_at"] for i, p in progress.items() if p["finishes_at"]} == (
                expected
            ), op
    finally:
        db.session.rollback()


PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=20))
def test_stored_audience_size_and_finish_equal_the_plain_aggregate_on_postgres(
    app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=20))
# A message, then one deleted: the next one must not repeat a (lead, mail number).
@example([("message", 0, "queued", 0), ("message", 0, "queued", 0), ("delete_message", 0),
          ("message", 0, "queued", 0)])  # fmt: skip
def test_stored_audience_size_and_finish_equal_the_plain_aggregate_on_sqlite(
    sqlite_app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


# -- the list, the API and the page agree with the plain aggregates ------------------------


def running_campaign(template_id: str, leads: int, first: datetime) -> Campaign:
    campaign = make_campaign(template_id=template_id, status="running")
    people = [make_lead() for _ in range(leads)]
    campaign.audience = CampaignAudience(lead_ids=[lead.id for lead in people])
    for i, lead in enumerate(people):
        make_message(campaign, lead, scheduled_at=first + timedelta(minutes=20 * i),
                     status="sent" if i == 0 else "queued")  # fmt: skip
    return campaign


def test_the_list_the_api_and_the_page_show_the_plain_figures(
    app: Flask, login_as: Callable[[str], FlaskClient], api_client: Callable[[str], Any]
) -> None:
    template = make_template()
    one = running_campaign(template.id, 3, START)
    two = running_campaign(template.id, 5, START + timedelta(days=1))
    db.session.commit()
    sizes, finishes = plain_audience_sizes(), plain_finishes_at()

    client, headers = api_client("manager")
    listed = {c["id"]: c for c in client.get("/api/v1/campaigns", headers=headers).json}
    for campaign in (one, two):
        body = listed[campaign.id]
        assert body["audience_size"] == sizes[campaign.id]
        assert datetime.fromisoformat(body["finishes_at"]) == finishes[campaign.id]
        single = client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers).json
        assert single["audience_size"] == body["audience_size"]
        assert single["finishes_at"] == body["finishes_at"]

    marketer = login_as("marketer")
    page = marketer.get(f"/campaigns/{two.id}").text
    assert "5 leads from" in page and 'id="progress-queued">4<' in page
    assert 'id="campaign-plan"' in page and 'id="audience-funnel"' not in page
    assert "1\u20135 of 5 messages" in page


def test_a_draft_page_loads_its_dry_run_on_its_own_url(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    campaign = make_campaign(template_id=make_template().id)
    db.session.commit()
    page = login_as("marketer").get(f"/campaigns/{campaign.id}").text
    assert f'hx-get="/planning/campaigns/{campaign.id}/dry-run"' in page
    assert 'id="dry-run-total"' not in page  # not computed for the page itself


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_the_campaigns_list_runs_as_many_statements_for_many_campaigns_as_for_few(
    app: Flask, login_as: Callable[[str], FlaskClient], api_client: Callable[[str], Any]
) -> None:
    template = make_template()
    running_campaign(template.id, 2, START)
    make_campaign(template_id=template.id)
    db.session.commit()
    page_client = login_as("manager")
    client, headers = api_client("manager")

    def counts() -> tuple[int, int]:
        with counted_statements() as page:
            assert page_client.get("/campaigns/").status_code == 200
        with counted_statements() as api:
            assert client.get("/api/v1/campaigns", headers=headers).status_code == 200
        return len(page), len(api)

    counts()  # the first requests also note the login's and the token's use
    few = counts()
    for i in range(6):
        running_campaign(template.id, 2, START + timedelta(days=i))
        make_campaign(template_id=template.id)
    db.session.commit()
    assert counts() == few


# -- keyset pages -------------------------------------------------------------------------


@pytest.fixture
def busy_campaign(app: Flask) -> Campaign:
    """23 leads x 2 mails over two domains, many sharing one slot (ties on scheduled_at)."""
    campaign = make_campaign(template_id=make_template().id, status="running")
    for i in range(23):
        lead = make_lead()
        for number in (1, 2):
            make_message(campaign, lead, mail_number=number,
                         domain_used="a.nl" if i % 3 else "b.nl",
                         status="queued" if i % 4 else "failed",
                         scheduled_at=START + timedelta(hours=i // 5 + 24 * number))  # fmt: skip
    db.session.commit()
    return campaign


FILTERS = [
    {},
    {"status": "queued"},
    {"status": "failed"},
    {"mail_number": 2},
    {"domain": "b.nl"},
    {"status": "queued", "mail_number": 1, "domain": "a.nl"},
]


@pytest.mark.parametrize("filters", FILTERS)
def test_the_keyset_walks_every_message_once_both_ways(
    busy_campaign: Campaign, filters: dict[str, Any]
) -> None:
    conditions = [Message.campaign_id == busy_campaign.id]
    columns = {"status": Message.status, "mail_number": Message.mail_number,
               "domain": Message.domain_used}  # fmt: skip
    conditions += [columns[k] == v for k, v in filters.items()]
    expected = list(
        db.session.execute(
            sa.select(Message.id)
            .where(*conditions)
            .order_by(Message.scheduled_at, Message.mail_number, Message.id)
        ).scalars()
    )
    args = (filters.get("status"), filters.get("mail_number"), filters.get("domain"))
    seen: list[str] = []
    page = list_messages(busy_campaign.id, *args, per_page=4)
    pages = [page]
    while True:
        assert page.total == len(expected)
        assert page.position == len(seen)
        seen += [m["id"] for m in page.items]
        if page.next_cursor is None:
            break
        page = list_messages(busy_campaign.id, *args, per_page=4,
                             cursor=MessageCursor.decode(page.next_cursor))  # fmt: skip
        pages.append(page)
    assert seen == expected
    # Back from the last page: the same pages in reverse.
    back = [pages[-1]]
    while back[-1].prev_cursor is not None:
        cursor = MessageCursor.decode(back[-1].prev_cursor)
        back.append(list_messages(busy_campaign.id, *args, per_page=4, cursor=cursor))
    assert [[m["id"] for m in p.items] for p in reversed(back)] == [
        [m["id"] for m in p.items] for p in pages
    ]


def test_an_old_page_number_still_reads_by_offset(busy_campaign: Campaign) -> None:
    third = list_messages(busy_campaign.id, page=3, per_page=4)
    walked = list_messages(busy_campaign.id, per_page=4)
    for _ in range(2):
        assert walked.next_cursor is not None
        walked = list_messages(busy_campaign.id, per_page=4,
                               cursor=MessageCursor.decode(walked.next_cursor))  # fmt: skip
    assert [m["id"] for m in third.items] == [m["id"] for m in walked.items]
    assert third.position == 8 and third.prev_cursor is not None


@pytest.mark.parametrize(
    "token",
    ["garbage", "", "W10", MessageCursor(START, 1, "x").encode()[:-3], "e30", "WzEsImEiXQ"],
)
def test_a_cursor_no_list_gave_out_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        MessageCursor.decode(token)
    assert "cursor" in refused.value.fields


def test_the_api_pages_by_cursor_and_refuses_a_bad_one(
    busy_campaign: Campaign,
    api_client: Callable[[str], Any],
    login_as: Callable[[str], FlaskClient],
) -> None:
    client, headers = api_client("manager")
    url = f"/api/v1/campaigns/{busy_campaign.id}/messages"
    first = client.get(url, headers=headers)
    assert first.json["total"] == 46 and len(first.json["items"]) == 46
    assert first.json["next_cursor"] is None and "Link" not in first.headers
    filtered = client.get(f"{url}?mail_number=2&domain=b.nl", headers=headers).json
    assert filtered["total"] == len(filtered["items"]) == 8
    bad = client.get(f"{url}?cursor=not-a-cursor", headers=headers)
    assert bad.status_code == 422 and "cursor" in bad.json["error"]["fields"]
    # The page falls back to the first page instead of an error.
    page = login_as("manager").get(
        f"/campaigns/{busy_campaign.id}/messages?cursor=not-a-cursor",
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 200 and "1\u201346 of 46 messages" in page.text
