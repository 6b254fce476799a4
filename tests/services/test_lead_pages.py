"""The lead list by position: every order walked page by page, both ways, on both databases;
the count that stops at a cap; cursors that are not ours; the trigram search."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Lead
from webapp.services.errors import InvalidInput
from webapp.services.leads import paging
from webapp.services.leads.manage import LeadFilter, LeadPage, list_names, search_leads
from webapp.services.leads.paging import SORTS, sort_value
from webapp.services.leads.search import text_condition


@pytest.fixture(params=["postgresql", "sqlite"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """The app on PostgreSQL, then on the embedded SQLite."""
    fixture = "app" if request.param == "postgresql" else "sqlite_app"
    app: Flask = request.getfixturevalue(fixture)
    return app


def make_leads_with_ties() -> list[Lead]:
    """23 leads whose sort values repeat and are often missing (ties and NULLs)."""
    now = utcnow().replace(microsecond=0)
    leads = []
    for n in range(23):
        leads.append(
            make_lead(
                email=f"p{n % 7}x{n:02d}@zaak{n % 4}.nl",
                company=None if n % 5 == 0 else f"zaak {n % 3}",
                domain=None if n % 6 == 0 else f"zaak{n % 4}.nl",
                list_name=None if n % 8 == 0 else f"lijst {n % 2}",
                status=("active", "bounced", "suppressed")[n % 3],
                created_at=now - timedelta(days=n % 3),
                last_emailed_at=None if n % 2 else now - timedelta(hours=n % 4),
            )
        )
    db.session.commit()
    return leads


def expected_order(leads: list[Lead], sort: str, direction: str) -> list[str]:
    """The list's order as the product defines it: by value, leads without one last, then id."""
    valued = [lead for lead in leads if sort_value(lead, sort) is not None]
    missing = [lead for lead in leads if sort_value(lead, sort) is None]
    reverse = direction == "desc"
    valued.sort(key=lambda lead: (sort_value(lead, sort), lead.id), reverse=reverse)
    missing.sort(key=lambda lead: lead.id, reverse=reverse)
    return [lead.id for lead in valued + missing]


def walk(chosen: LeadFilter, per_page: int) -> tuple[list[list[str]], LeadPage]:
    """Every page from the first by next links; the pages' ids and the last page."""
    page = search_leads(chosen, per_page=per_page)
    pages = [[lead.id for lead in page.items]]
    while page.next_cursor:
        page = search_leads(chosen, per_page=per_page, cursor=page.next_cursor)
        pages.append([lead.id for lead in page.items])
        assert len(pages) < 50, "the walk does not end"
    return pages, page


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORTS))
def test_next_and_previous_links_walk_every_lead_once_in_each_order(
    any_app: Flask, sort: str, direction: str
) -> None:
    leads = make_leads_with_ties()
    chosen = LeadFilter(sort=sort, direction=direction)
    pages, last = walk(chosen, per_page=4)
    seen = [lead_id for page in pages for lead_id in page]
    assert seen == expected_order(leads, sort, direction)
    assert [len(page) for page in pages] == [4] * 5 + [3]

    # And back: each previous link gives the page before, the first one without a link.
    back = [[lead.id for lead in last.items]]
    page = last
    while page.previous_cursor:
        page = search_leads(chosen, per_page=4, cursor=page.previous_cursor)
        back.append([lead.id for lead in page.items])
    assert back[::-1] == pages
    assert page.previous_cursor is None and page.next_cursor is not None


@pytest.mark.parametrize("sort", ["company", "emailed", "created"])
def test_a_search_walks_its_matches_once_in_order(any_app: Flask, sort: str) -> None:
    leads = make_leads_with_ties()
    chosen = LeadFilter(q="zaak1", sort=sort, direction="desc")
    pages, _last = walk(chosen, per_page=2)
    matching = [lead for lead in leads if "zaak1" in f"{lead.email} {lead.company} {lead.domain}"]
    assert len(matching) >= 6
    assert [i for page in pages for i in page] == expected_order(matching, sort, "desc")
    assert search_leads(chosen, per_page=2).count == len(matching)


def test_the_count_stops_past_the_cap_and_the_pages_carry_it(
    any_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    monkeypatch.setattr("webapp.services.leads.manage.COUNT_CAP", 5)
    make_leads_with_ties()
    first = search_leads(LeadFilter(), per_page=4)
    assert (first.count, first.more, first.total, first.shown) == (6, True, None, 5)
    second = search_leads(LeadFilter(), per_page=4, cursor=first.next_cursor)
    assert second.more and len(second.items) == 4
    few = search_leads(LeadFilter(status="bounced", list_name="lijst 0"), per_page=4)
    assert (few.more, few.total) == (False, 3)


def test_a_cursor_the_list_did_not_make_is_refused(any_app: Flask) -> None:
    make_leads_with_ties()
    good = search_leads(LeadFilter(sort="email"), per_page=4).next_cursor
    assert good is not None

    def forged(payload: Any) -> str:
        raw = json.dumps(payload).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for bad in (
        "not-a-cursor",
        good[:-3],
        forged([1, "email", "desc", None, "abc", 0, 3]),  # email is never missing
        forged([1, "email", "desc", "a@b.nl", "x" * 100, 0, 3]),
        forged([1, "created", "desc", "yesterday", "abc", 0, 3]),
        forged({"sort": "email"}),
    ):
        with pytest.raises(InvalidInput) as error:
            search_leads(LeadFilter(sort="email"), cursor=bad)
        assert "cursor" in error.value.fields, bad
    with pytest.raises(InvalidInput):  # a cursor of another order
        search_leads(LeadFilter(sort="company"), cursor=good)


def test_search_finds_substrings_of_address_company_and_name(any_app: Flask) -> None:
    anne = make_lead(
        email="anne.devries@bakkerij-zon.nl",
        company="Bakkerij De Zon",
        domain="bakkerij-zon.nl",
        vars={"first_name": "Anne", "last_name": "de Vries"},
    )
    make_lead(email="info@garage.nl", company="Garage Noord", domain="garage.nl")
    db.session.commit()
    for q in ("devries@bak", "DE ZON", "kerij-z", "de vries", "ANNE", "an"):
        assert [lead.id for lead in search_leads(LeadFilter(q=q)).items] == [anne.id], q
    # Two letters look at the start of the address only: "zo" is inside, not at the start.
    assert search_leads(LeadFilter(q="zo")).items == []
    assert search_leads(LeadFilter(q="100%")).items == []  # wildcards match literally


def test_the_search_is_answered_by_the_trigram_index(app: Flask) -> None:
    """The query's expression is the index's: were they to differ, the planner could not
    use the index even with sequential scans ruled out."""
    make_lead(email="anne@bakkerij-zon.nl", company="Bakkerij De Zon")
    db.session.commit()
    for q in ("bakkerij", "an"):
        query = sa.select(Lead.id).where(text_condition(q))
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.engine.begin() as connection:
            connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(connection.scalars(sa.text("EXPLAIN " + sql)))
        assert "idx_leads_search_trgm" in plan, plan


def test_the_list_names_are_every_name_in_use_once_sorted(any_app: Flask) -> None:
    make_leads_with_ties()
    for name in ("Zeeland", "achterhoek", "Zeeland", "Ääland", ""):
        make_lead(list_name=name)
    gone = make_lead(list_name="alleen verwijderd")
    gone.deleted_at = utcnow()
    db.session.commit()
    plain = db.session.scalars(sa.select(Lead.list_name).distinct()).all()
    expected = sorted(name for name in plain if name)
    assert list_names() == expected
    assert {"lijst 0", "lijst 1", "Zeeland", "alleen verwijderd"} <= set(expected)
